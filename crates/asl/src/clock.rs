//! Time abstraction used for `now()` (history timestamps, `$$` times, Wait
//! timestamps) and for sleeping (Wait, Retry backoff, timeouts, heartbeats).

use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, sendable future (avoids a dependency on `futures`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The engine's source of time.
pub trait Clock: Send + Sync {
    /// Current time.
    fn now(&self) -> DateTime<Utc>;
    /// Completes after `d` (as this clock understands it).
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
}

/// Wall-clock time; sleeps are multiplied by `scale`.
///
/// `RealClock::scaled(0.01)` makes a 300 s Wait take 3 s, which is handy in
/// a local development stack. `now()` stays the real wall-clock time, so a
/// `Timestamp` Wait one hour ahead takes 36 s with that scale.
#[derive(Debug, Clone)]
pub struct RealClock {
    scale: f64,
}

impl RealClock {
    /// Unscaled real time.
    pub fn new() -> Self {
        RealClock { scale: 1.0 }
    }

    /// Real time with sleeps scaled by `scale` (clamped to be >= 0).
    pub fn scaled(scale: f64) -> Self {
        RealClock {
            scale: if scale.is_finite() && scale >= 0.0 {
                scale
            } else {
                1.0
            },
        }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for RealClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        let d = d.mul_f64(self.scale);
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock that follows Tokio's timer: `now()` is a fixed start time plus
/// the Tokio time elapsed since the clock was created.
///
/// Under a runtime with paused time (`#[tokio::test(start_paused = true)]`,
/// or `Builder::start_paused(true)` as the CLI uses), Tokio auto-advances
/// its clock whenever every task is waiting on a timer, so Waits and
/// backoffs complete instantly while `now()` reports the exact virtual
/// times. Under a normal runtime it behaves like real time.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start_wall: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// Starts at the current wall-clock time.
    pub fn new() -> Self {
        Self::starting_at(Utc::now())
    }

    /// Starts at `start` (handy for deterministic timestamps in tests).
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        TokioClock {
            start_wall: start,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now().duration_since(self.start);
        self.start_wall + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::zero())
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}
