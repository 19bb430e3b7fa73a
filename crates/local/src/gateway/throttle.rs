//! Stage throttling: a token bucket, as API Gateway describes its own (a steady rate that
//! refills a bucket of `burst` requests).

use std::sync::Mutex;
use std::time::Instant;

/// Requests per second and bucket size. [`super::ApiSpec::throttle`] gives the template's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// Steady-state refill rate (API Gateway's `ThrottlingRateLimit`, a double).
    pub rate_per_second: f64,
    /// Bucket capacity (`ThrottlingBurstLimit`): this many requests may arrive at once.
    pub burst: u32,
}

pub(crate) struct TokenBucket {
    rate: f64,
    capacity: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket. A negative or NaN rate refills nothing.
    pub(crate) fn new(t: Throttle) -> Self {
        let rate = if t.rate_per_second.is_finite() && t.rate_per_second > 0.0 {
            t.rate_per_second
        } else {
            0.0
        };
        let capacity = f64::from(t.burst);
        TokenBucket {
            rate,
            capacity,
            state: Mutex::new((capacity, Instant::now())),
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&self) -> bool {
        // A poisoned lock only means another request panicked mid-update of two plain numbers;
        // the numbers are still usable, and the gateway must keep answering.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = &mut *state;
        let now = Instant::now();
        let refill = now.duration_since(*last).as_secs_f64() * self.rate;
        *tokens = (*tokens + refill).min(self.capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refuse_then_refill() {
        let b = TokenBucket::new(Throttle {
            rate_per_second: 1000.0,
            burst: 2,
        });
        assert!(b.try_take());
        assert!(b.try_take());
        // At 1000/s a token is back within a few ms.
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(b.try_take());

        let none = TokenBucket::new(Throttle {
            rate_per_second: f64::NAN,
            burst: 1,
        });
        assert!(none.try_take());
        assert!(!none.try_take());
    }
}
