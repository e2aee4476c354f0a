//! The retry schedule of deliveries: exponential backoff with jitter and a cap, within a horizon.

use std::time::Duration;

/// How retries are spaced.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub initial: Duration,
    pub max_delay: Duration,
    /// After this long since the delivery was queued, give up.
    pub give_up_after: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    RetryIn(Duration),
    GiveUp,
}

impl Schedule {
    /// The delay after the `attempts`-th failure (1-based): initial × 2^(attempts−1), capped,
    /// times `jitter` (a factor near 1, e.g. 0.8–1.2, so retries of many deliveries spread out).
    pub fn after_failure(&self, attempts: u32, age: Duration, jitter: f64) -> Next {
        let exponent = attempts.saturating_sub(1).min(30);
        let base = self.initial.as_secs_f64() * 2f64.powi(exponent as i32);
        let delay = base.min(self.max_delay.as_secs_f64()) * jitter.clamp(0.5, 1.5);
        let delay = Duration::from_secs_f64(delay.max(0.001));
        if age + delay > self.give_up_after {
            Next::GiveUp
        } else {
            Next::RetryIn(delay)
        }
    }
}

/// Whether an HTTP status from an inbox means "try again later" (as opposed to delivered or
/// refused for good): 5xx, 401 (a signature or key problem that a key refresh may fix), 408
/// and 429. Every other 4xx is permanent, as on Mastodon.
pub fn is_retryable_status(status: u16) -> bool {
    status >= 500 || matches!(status, 401 | 408 | 429)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Schedule {
        Schedule {
            initial: Duration::from_secs(60),
            max_delay: Duration::from_secs(6 * 3600),
            give_up_after: Duration::from_secs(72 * 3600),
        }
    }

    #[test]
    fn delays_double_then_cap() {
        let s = schedule();
        let zero = Duration::ZERO;
        assert_eq!(
            s.after_failure(1, zero, 1.0),
            Next::RetryIn(Duration::from_secs(60))
        );
        assert_eq!(
            s.after_failure(2, zero, 1.0),
            Next::RetryIn(Duration::from_secs(120))
        );
        assert_eq!(
            s.after_failure(5, zero, 1.0),
            Next::RetryIn(Duration::from_secs(960))
        );
        assert_eq!(
            s.after_failure(20, zero, 1.0),
            Next::RetryIn(Duration::from_secs(6 * 3600))
        );
        assert_eq!(
            s.after_failure(2, zero, 1.2),
            Next::RetryIn(Duration::from_secs(144))
        );
    }

    #[test]
    fn the_horizon_is_about_three_days_and_about_nineteen_attempts() {
        let s = schedule();
        let mut age = Duration::ZERO;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match s.after_failure(attempts, age, 1.0) {
                Next::RetryIn(delay) => age += delay,
                Next::GiveUp => break,
            }
        }
        assert!((17..=22).contains(&attempts), "{attempts} attempts");
        assert!(
            age > Duration::from_secs(60 * 3600) && age <= Duration::from_secs(72 * 3600),
            "{age:?}"
        );
    }

    #[test]
    fn permanent_and_temporary_statuses() {
        for status in [500, 502, 503, 401, 408, 429] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [400, 403, 404, 410, 422] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }
}
