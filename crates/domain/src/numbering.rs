//! Human order numbers: one atomic counter per business day. A business day starts at a
//! configurable UTC hour (the original reset its counter at 07:00 UTC with a cron job); keying
//! the counter by business day makes the reset atomic and needs no scheduled job.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// The business day `now` belongs to: days run from `reset_hour` UTC to `reset_hour` UTC.
pub fn business_day(now: DateTime<Utc>, reset_hour_utc: u32) -> NaiveDate {
    (now - Duration::hours(i64::from(reset_hour_utc.min(23)))).date_naive()
}

/// The counting-table key of that day's counter (`orderID#2026-11-21`).
pub fn counter_key(day: NaiveDate) -> String {
    format!("orderID#{day}")
}

/// When the day's counter row may be deleted by TTL (epoch seconds): two days after it starts.
pub fn counter_expiry(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp() + 2 * 86_400)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_day_turns_over_at_the_reset_hour() {
        let before = Utc.with_ymd_and_hms(2026, 11, 21, 6, 59, 59).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 7, 0, 0).unwrap();
        assert_eq!(business_day(before, 7).to_string(), "2026-11-20");
        assert_eq!(business_day(at, 7).to_string(), "2026-11-21");
        assert_eq!(business_day(before, 0).to_string(), "2026-11-21");
        assert_eq!(counter_key(business_day(at, 7)), "orderID#2026-11-21");
    }

    #[test]
    fn out_of_range_hours_are_clamped() {
        let t = Utc.with_ymd_and_hms(2026, 11, 21, 23, 30, 0).unwrap();
        assert_eq!(business_day(t, 99), business_day(t, 23));
    }

    #[test]
    fn counters_expire_after_their_day() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let start = day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
        assert_eq!(counter_expiry(day), start + 172_800);
    }
}
