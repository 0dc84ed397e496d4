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
        let wait = deadline
            .duration_since(Timestamp::now())
            .try_into()
            .unwrap_or(Duration::ZERO)
            .min(WALL_CHECK);
        Box::pin(tokio::time::sleep(wait))
    }
}

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
}
