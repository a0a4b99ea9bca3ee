//! Pure timing rules: exponential backoff with full jitter and `Retry-After` parsing.

use std::time::{Duration, SystemTime};

use crate::config::RetryPolicy;

/// Upper bound of the wait before retry number `retry` (0 = first retry):
/// `min(max_delay, base_delay * 2^retry)`. Never decreases as `retry` grows.
pub(crate) fn backoff_ceiling(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 1u32 << retry.min(30);
    policy
        .base_delay
        .saturating_mul(factor)
        .min(policy.max_delay)
}

/// A random wait in `0..=ceiling` ("full jitter"), so that clients that failed together do
/// not retry together.
pub(crate) fn full_jitter(ceiling: Duration) -> Duration {
    let max_micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rand::random_range(0..=max_micros))
}

/// Reads a `Retry-After` value: delta-seconds (`"120"`) or an HTTP-date, measured from
/// `now`. A date in the past means "retry now". The result never exceeds `cap`.
/// Returns `None` for a value that is neither form; the caller then backs off.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime, cap: Duration) -> Option<Duration> {
    let value = value.trim();

    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // A number too large for u64 is still a clear "wait long".
        let delay = value.parse::<u64>().map_or(cap, Duration::from_secs);
        return Some(delay.min(cap));
    }

    let at = httpdate::parse_http_date(value).ok()?;
    let delay = at.duration_since(now).unwrap_or(Duration::ZERO);
    Some(delay.min(cap))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const CAP: Duration = Duration::from_secs(60);

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_in_seconds_is_read() {
        assert_eq!(
            parse_retry_after("1", at(0), CAP),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            parse_retry_after(" 17 ", at(0), CAP),
            Some(Duration::from_secs(17))
        );
        assert_eq!(parse_retry_after("0", at(0), CAP), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_longer_than_the_cap_is_cut_to_the_cap() {
        assert_eq!(parse_retry_after("3600", at(0), CAP), Some(CAP));
        assert_eq!(
            parse_retry_after("99999999999999999999999", at(0), CAP),
            Some(CAP)
        );
    }

    #[test]
    fn retry_after_http_date_in_the_future_is_measured_from_now() {
        let now = at(1_700_000_000);
        let value = httpdate::fmt_http_date(now + Duration::from_secs(5));

        assert_eq!(
            parse_retry_after(&value, now, CAP),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn retry_after_http_date_far_ahead_is_capped() {
        let now = at(1_700_000_000);
        let value = httpdate::fmt_http_date(now + Duration::from_secs(86_400));

        assert_eq!(parse_retry_after(&value, now, CAP), Some(CAP));
    }

    #[test]
    fn retry_after_http_date_in_the_past_means_retry_now() {
        let now = at(1_700_000_000);
        let value = httpdate::fmt_http_date(now - Duration::from_secs(30));

        assert_eq!(parse_retry_after(&value, now, CAP), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_garbage_is_ignored() {
        for value in ["", "soon", "-5", "1.5", "Tue, 99 Foo 2024 00:00:00 GMT"] {
            assert_eq!(parse_retry_after(value, at(0), CAP), None, "{value:?}");
        }
    }

    #[test]
    fn backoff_ceiling_doubles_from_the_base_delay() {
        let policy = RetryPolicy::default();

        assert_eq!(backoff_ceiling(&policy, 0), Duration::from_millis(200));
        assert_eq!(backoff_ceiling(&policy, 1), Duration::from_millis(400));
        assert_eq!(backoff_ceiling(&policy, 3), Duration::from_millis(1600));
        assert_eq!(backoff_ceiling(&policy, 40), Duration::from_secs(10));
    }

    fn policies() -> impl Strategy<Value = RetryPolicy> {
        (0u64..5_000, 0u64..120_000).prop_map(|(base_ms, max_ms)| RetryPolicy {
            base_delay: Duration::from_millis(base_ms),
            max_delay: Duration::from_millis(max_ms),
            ..RetryPolicy::default()
        })
    }

    proptest! {
        #[test]
        fn backoff_never_exceeds_max_delay(policy in policies(), retry in 0u32..200) {
            let ceiling = backoff_ceiling(&policy, retry);
            prop_assert!(ceiling <= policy.max_delay);
            prop_assert!(full_jitter(ceiling) <= ceiling);
        }

        #[test]
        fn backoff_ceiling_never_shrinks(policy in policies(), retry in 0u32..200) {
            prop_assert!(backoff_ceiling(&policy, retry) <= backoff_ceiling(&policy, retry + 1));
        }

        #[test]
        fn backoff_ceiling_grows_until_it_reaches_max_delay(
            policy in policies(),
            retry in 0u32..20,
        ) {
            let ceiling = backoff_ceiling(&policy, retry);
            if !policy.base_delay.is_zero() && ceiling < policy.max_delay {
                prop_assert!(ceiling < backoff_ceiling(&policy, retry + 1));
            }
        }

        #[test]
        fn retry_after_seconds_never_exceed_the_cap(secs in any::<u64>(), cap_s in 0u64..3600) {
            let cap = Duration::from_secs(cap_s);
            let delay = parse_retry_after(&secs.to_string(), at(0), cap);
            prop_assert_eq!(delay, Some(Duration::from_secs(secs).min(cap)));
        }
    }
}
