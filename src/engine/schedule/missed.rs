//! The instants a task missed while runwisp was down (or the wall clock jumped): computed, not
//! walked. A few are counted one by one; past [`EXACT`] the newest ones are found in a window
//! back from now that doubles until it holds them, and the total is estimated from that
//! window's density, so a year of downtime costs about what an hour does.

use std::collections::VecDeque;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::Schedule;

/// Missed instants are counted exactly up to this many.
pub const EXACT: usize = 100;

/// What was missed in `(handled, until]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    /// The newest `keep` instants, oldest first.
    pub newest: Vec<Timestamp>,
    /// How many there were: exact up to [`EXACT`], an estimate above.
    pub total: usize,
}

impl Missed {
    /// The total as a sentence fragment ("3", "about 525600").
    pub fn total_text(&self) -> String {
        if self.total > EXACT {
            format!("about {}", self.total)
        } else {
            self.total.to_string()
        }
    }
}

/// Instants in `(from, until]`: the newest `keep`, how many, and whether the walk reached
/// `until` before `cap` instants.
fn walk(
    schedule: &Schedule,
    tz: &TimeZone,
    from: Timestamp,
    until: Timestamp,
    keep: usize,
    cap: usize,
) -> (VecDeque<Timestamp>, usize, bool) {
    let mut kept = VecDeque::new();
    let mut total = 0;
    let mut cursor = from;
    while let Some(t) = schedule.next_after(cursor, tz) {
        if t > until {
            return (kept, total, true);
        }
        if total >= cap {
            return (kept, total, false);
        }
        total += 1;
        kept.push_back(t);
        if kept.len() > keep {
            kept.pop_front();
        }
        cursor = t;
    }
    (kept, total, true)
}

/// The instants of `schedule` in `(handled, until]`, keeping the newest `keep`.
pub fn missed(
    schedule: &Schedule,
    tz: &TimeZone,
    handled: Timestamp,
    until: Timestamp,
    keep: usize,
) -> Missed {
    let (kept, total, complete) = walk(schedule, tz, handled, until, keep, EXACT);
    if complete {
        return Missed {
            newest: kept.into(),
            total,
        };
    }
    // More than EXACT: the newest `keep` lie in a window back from `until`. Each doubling
    // at most doubles what the window holds, and the last one held fewer than `keep`.
    let mut span = SignedDuration::from_mins(1);
    loop {
        let from = until
            .checked_sub(span)
            .ok()
            .filter(|from| *from > handled)
            .unwrap_or(handled);
        let (kept, in_window, _) = walk(schedule, tz, from, until, keep, usize::MAX);
        if kept.len() >= keep || from == handled {
            let whole = (until.as_millisecond() - handled.as_millisecond()).max(1) as f64;
            let part = (until.as_millisecond() - from.as_millisecond()).max(1) as f64;
            let estimate = (in_window as f64 * whole / part).round() as usize;
            return Missed {
                newest: kept.into(),
                total: estimate.max(EXACT + 1),
            };
        }
        span = span.checked_mul(2).unwrap_or(SignedDuration::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_few_are_counted_exactly() {
        let every = Schedule::parse("*/15 * * * *").unwrap();
        let m = missed(
            &every,
            &TimeZone::UTC,
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T02:00:00Z"),
            3,
        );
        assert_eq!(m.total, 8);
        assert_eq!(m.total_text(), "8");
        let want: Vec<Timestamp> = ["01:30", "01:45", "02:00"]
            .iter()
            .map(|t| at(&format!("2026-01-01T{t}:00Z")))
            .collect();
        assert_eq!(m.newest, want);
    }

    /// Three years of a minutely task: the newest instants are exactly those a full walk
    /// finds, and the estimated total is within 1 % of the truth.
    #[test]
    fn years_of_downtime_are_computed_not_walked() {
        let tz = TimeZone::get("Europe/Bratislava").unwrap();
        let minutely = Schedule::parse("* * * * *").unwrap();
        let (from, until) = (at("2023-03-01T00:00:30Z"), at("2026-03-01T00:00:30Z"));
        let m = missed(&minutely, &tz, from, until, 5);
        let minutes = (until.as_second() - from.as_second()) as usize / 60;
        assert!(
            m.total.abs_diff(minutes) <= minutes / 100,
            "{} vs {minutes}",
            m.total
        );
        assert!(m.total_text().starts_with("about "));
        let full = walk(
            &minutely,
            &tz,
            at("2026-02-28T23:00:00Z"),
            until,
            5,
            usize::MAX,
        )
        .0;
        assert_eq!(m.newest, Vec::from(full));
        assert_eq!(m.newest.last(), Some(&at("2026-03-01T00:00:00Z")));
    }

    #[test]
    fn a_sparse_schedule_past_the_exact_count_finds_its_newest_instants() {
        // Hourly for 200 days (4,800 instants), keeping 30: the window must grow past a day.
        let hourly = Schedule::parse("0 * * * *").unwrap();
        let (from, until) = (at("2025-01-01T00:30:00Z"), at("2025-07-20T00:30:00Z"));
        let m = missed(&hourly, &TimeZone::UTC, from, until, 30);
        assert_eq!(m.newest.len(), 30);
        assert_eq!(m.newest[0], at("2025-07-18T19:00:00Z"));
        assert_eq!(m.newest[29], at("2025-07-20T00:00:00Z"));
        let hours = (until.as_second() - from.as_second()) as usize / 3600;
        assert!(
            m.total.abs_diff(hours) <= hours / 100,
            "{} vs {hours}",
            m.total
        );
        // And a yearly one that missed nothing in that time is told so.
        let yearly = Schedule::parse("@yearly").unwrap();
        let m = missed(&yearly, &TimeZone::UTC, from, until, 1);
        assert_eq!((m.total, m.newest.len()), (0, 0));
    }
}
