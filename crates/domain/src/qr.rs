//! QR codes: one code per epoch-aligned time bucket (5 minutes by default), good for a fixed
//! number of scans (10 by default). Codes rotate at :00, :05, :10, ...

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrPolicy {
    pub interval_minutes: u32,
    pub tokens_per_bucket: u32,
}

impl Default for QrPolicy {
    fn default() -> Self {
        QrPolicy {
            interval_minutes: 5,
            tokens_per_bucket: 10,
        }
    }
}

impl QrPolicy {
    fn interval_ms(&self) -> i64 {
        i64::from(self.interval_minutes.max(1)) * 60_000
    }

    /// The bucket that `now_ms` falls in: `floor(now / interval)`.
    pub fn bucket_id(&self, now_ms: i64) -> i64 {
        now_ms.div_euclid(self.interval_ms())
    }

    /// A fresh bucket row holding `code`, with all its tokens available.
    pub fn new_bucket(&self, bucket_id: i64, code: impl Into<String>) -> Bucket {
        let start_ts = bucket_id * self.interval_ms();
        let end_ts = start_ts + self.interval_ms() - 1;
        Bucket {
            pk: bucket_id,
            last_id: bucket_id,
            last_code: code.into(),
            start_ts,
            start_full: js_date_string(start_ts),
            end_ts,
            end_full: js_date_string(end_ts),
            available_tokens: i64::from(self.tokens_per_bucket),
            // Old buckets are deleted by the table's TTL a day after they end.
            expires_at: end_ts / 1000 + 86_400,
        }
    }
}

/// One validator-table row (the original's attribute names; `expiresAt` is our TTL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    #[serde(rename = "PK")]
    pub pk: i64,
    pub last_id: i64,
    pub last_code: String,
    pub start_ts: i64,
    pub start_full: String,
    pub end_ts: i64,
    pub end_full: String,
    #[serde(rename = "availableTokens")]
    pub available_tokens: i64,
    #[serde(rename = "expiresAt", default)]
    pub expires_at: i64,
}

/// Why a scan was refused, decided from the bucket as it was when the conditional
/// decrement failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanRejection {
    /// No code for the current bucket, or a different code: 400 `Invalid code`.
    InvalidCode,
    /// The right code, but all its uses are taken: the original answers 200
    /// `{"error": "No tokens remaining"}`.
    NoTokensRemaining,
}

pub fn explain_rejection(bucket: Option<&Bucket>, token: &str) -> ScanRejection {
    match bucket {
        Some(b) if b.last_code == token && b.available_tokens < 1 => {
            ScanRejection::NoTokensRemaining
        }
        _ => ScanRejection::InvalidCode,
    }
}

/// JavaScript's `Date.prototype.toString()` in UTC, which is what the original stored in
/// `start_full` / `end_full`.
fn js_date_string(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| {
            d.format("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_epoch_aligned_five_minute_windows() {
        let p = QrPolicy::default();
        // 2021-11-29T10:03:20Z
        let now = 1_638_180_200_000;
        let id = p.bucket_id(now);
        assert_eq!(id, now / 300_000);
        let b = p.new_bucket(id, "abcdefghij");
        assert!(b.start_ts <= now && now <= b.end_ts);
        assert_eq!(b.start_ts % 300_000, 0);
        assert_eq!(b.end_ts - b.start_ts, 299_999);
        assert_eq!(b.available_tokens, 10);
        assert_eq!(b.last_id, id);
        assert_eq!(
            b.start_full,
            "Mon Nov 29 2021 10:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            b.end_full,
            "Mon Nov 29 2021 10:04:59 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(p.bucket_id(b.end_ts + 1), id + 1);
        assert!(b.expires_at > b.end_ts / 1000);
    }

    #[test]
    fn policy_is_configurable() {
        let p = QrPolicy {
            interval_minutes: 1,
            tokens_per_bucket: 3,
        };
        assert_eq!(p.bucket_id(119_999), 1);
        assert_eq!(p.new_bucket(1, "c").available_tokens, 3);
    }

    #[test]
    fn bucket_row_uses_the_original_attribute_names() {
        let v = serde_json::to_value(QrPolicy::default().new_bucket(7, "code")).unwrap();
        for key in [
            "PK",
            "last_id",
            "last_code",
            "start_ts",
            "start_full",
            "end_ts",
            "end_full",
            "availableTokens",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn rejections_distinguish_a_wrong_code_from_an_exhausted_one() {
        let mut b = QrPolicy::default().new_bucket(1, "right");
        assert_eq!(explain_rejection(None, "right"), ScanRejection::InvalidCode);
        assert_eq!(
            explain_rejection(Some(&b), "wrong"),
            ScanRejection::InvalidCode
        );
        b.available_tokens = 0;
        assert_eq!(
            explain_rejection(Some(&b), "right"),
            ScanRejection::NoTokensRemaining
        );
        assert_eq!(
            explain_rejection(Some(&b), "wrong"),
            ScanRejection::InvalidCode
        );
    }
}
