//! Wall-clock time behind a trait, so schedules, catch-up and clock jumps are tested without
//! waiting. Durations that must not jump with the wall clock (timeouts, retry delays, back-off)
//! use tokio's monotonic timers instead.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Notify;

/// A boxed future, so the trait stays object-safe.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where "now" comes from, and how to wait for a wall-clock instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    /// Returns at `deadline` at the latest, possibly earlier (callers re-check `now`): the real
    /// clock wakes at least every [`WALL_CHECK`] so a wall-clock step is noticed; the fake one
    /// whenever it is moved.
    fn sleep_until(&self, deadline: Timestamp) -> Sleep<'_>;
}

/// How often a sleeping scheduler re-reads the real wall clock, so a clock step (NTP, a
/// suspended VM) is noticed within this long. One wake-up a minute costs nothing measurable.
pub const WALL_CHECK: Duration = Duration::from_secs(60);

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

// The one place that reads the wall clock (clippy.toml disallows it everywhere else).
#[allow(clippy::disallowed_methods)]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, deadline: Timestamp) -> Sleep<'_> {
        let left = move || -> Duration {
            deadline
                .duration_since(Timestamp::now())
                .try_into()
                .unwrap_or(Duration::ZERO)
        };
        let wait = left().min(WALL_CHECK);
        Box::pin(async move {
            // tokio's timer counts whole milliseconds and rounds up, so it wakes up to 2 ms
            // late. It sleeps all but the last FINE_SLEEP; the OS's own timer, on the blocking
            // pool, sleeps the rest to within microseconds.
            if wait > FINE_SLEEP {
                tokio::time::sleep(wait - FINE_SLEEP).await;
            }
            // Unless this was a wake-up to re-read the clock, long before the instant.
            let rest = left();
            if !rest.is_zero() && rest <= FINE_SLEEP {
                // Refused only while the runtime shuts down: then back at once, as the contract
                // allows (callers re-check the clock), and nothing waits for it anyway.
                let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
            }
        })
    }
}

/// The last stretch of a wait for a wall-clock instant that the real clock sleeps precisely.
const FINE_SLEEP: Duration = Duration::from_millis(3);

/// A clock that only moves when told to; for tests.
#[derive(Debug, Clone)]
pub struct FakeClock {
    millis: Arc<AtomicI64>,
    moved: Arc<Notify>,
}

impl FakeClock {
    pub fn at(start: Timestamp) -> Self {
        Self {
            millis: Arc::new(AtomicI64::new(start.as_millisecond())),
            moved: Arc::new(Notify::new()),
        }
    }

    pub fn set(&self, t: Timestamp) {
        self.millis.store(t.as_millisecond(), Ordering::SeqCst);
        self.moved.notify_waiters();
    }

    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(by, Ordering::SeqCst);
        self.moved.notify_waiters();
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millisecond(self.millis.load(Ordering::SeqCst))
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn sleep_until(&self, deadline: Timestamp) -> Sleep<'_> {
        Box::pin(async move {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            // Registered before the check, so a move in between is not missed.
            moved.as_mut().enable();
            if self.now() < deadline {
                moved.await;
            }
        })
    }
}

/// Milliseconds since the Unix epoch, the unit run rows store.
pub fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_moves_only_when_told() {
        let start: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let clock = FakeClock::at(start);
        assert_eq!(clock.now(), start);
        clock.advance(std::time::Duration::from_secs(90));
        assert_eq!(clock.now().to_string(), "2025-01-01T00:01:30Z");
    }

    #[tokio::test]
    async fn fake_sleep_wakes_when_the_clock_moves() {
        let start: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let clock = FakeClock::at(start);
        let deadline = "2025-01-01T01:00:00Z".parse().unwrap();
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(deadline).await })
        };
        tokio::task::yield_now().await;
        clock.set(deadline);
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("woke")
            .expect("joined");
    }

    /// The last stretch is slept by the OS's timer: the real clock does not come back before
    /// an instant a few milliseconds away (tokio's part alone ends FINE_SLEEP early).
    #[tokio::test]
    async fn the_real_clock_wakes_at_the_instant_not_before() {
        let clock = SystemClock;
        for ms in [1, 5, 20] {
            let deadline = clock.now() + Duration::from_millis(ms);
            clock.sleep_until(deadline).await;
            let now = clock.now();
            assert!(now >= deadline, "woke at {now}, before {deadline}");
        }
    }
}
