//! When tasks fire: the cron grammar and macros (§3.1), `@every` anchored on the Unix epoch, and
//! the daylight-saving rules of §3.2. `runwisp cron`, `runwisp list` and the scheduler all call
//! [`Schedule::next_after`]; there is no second implementation. [`Schedule::describe`] says a
//! schedule in words ("At 02:30 on Mondays", `words/`), for the API, the TUI and the CLI alike.
//!
//! Daylight saving, following Vixie cron and cronie:
//! - a *wall-clock* expression (minute field starting with `*`, or an hour field starting with
//!   `*` that names every hour, e.g.
//!   `*/15 * * * *`, `0 * * * *`, `* 2 * * *`, `@hourly`) skips local times that do not exist and
//!   fires at both occurrences of a repeated local time;
//! - any other expression is *pinned* to its times of day (`30 2 * * *`, `0 */6 * * *`,
//!   `@daily`): a time inside a skipped interval fires once, at the first instant after the gap
//!   (several such times in one gap still fire once), and a repeated time fires only at its first
//!   occurrence.
//!
//! The spec's prose says "minute or hour field starts with `*`" but lists `0 */6 * * *` as pinned;
//! runwisp follows the examples: a stepped hour field such as `*/6` names times of day, so an
//! hour field makes an expression wall-clock only when it starts with `*` and names every hour
//! (`*`, `*/1`, `*,5`).

mod cron;
pub mod missed;
mod words;

use std::time::Duration;

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;

pub use cron::CronExpr;

use crate::engine::config::units::{format_duration, parse_duration};

/// How far ahead a next firing is searched (any valid expression fires well within this).
const SEARCH_DAYS: i64 = 366 * 30;

/// A parsed `cron` value.
#[derive(Debug, Clone)]
pub enum Schedule {
    Cron { expr: String, cron: Box<CronExpr> },
    Every { expr: String, period: Duration },
}

/// Two schedules are the same when they were written the same (a reload compares them).
impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Schedule::Cron { expr: a, .. }, Schedule::Cron { expr: b, .. })
            | (Schedule::Every { expr: a, .. }, Schedule::Every { expr: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl Schedule {
    /// Parses an expression or macro; the error is one sentence fit for a user.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            lower if lower.starts_with("@every") => return Self::parse_every(trimmed),
            lower if lower.starts_with('@') => {
                return Err(format!(
                    "unknown macro {trimmed:?}; use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every DURATION"
                ))
            }
            _ => trimmed,
        };
        let cron = CronExpr::parse(expanded)
            .map_err(|e| format!("invalid cron expression {trimmed:?}: {e}"))?;
        Ok(Schedule::Cron {
            expr: trimmed.to_string(),
            cron: Box::new(cron),
        })
    }

    fn parse_every(text: &str) -> Result<Self, String> {
        let rest = text["@every".len()..].trim();
        if rest.is_empty() {
            return Err("@every needs a duration, like `@every 10m` or `@every 1h30m`".into());
        }
        let period = parse_duration(rest).map_err(|e| format!("invalid @every: {e}"))?;
        if period < Duration::from_secs(1) {
            return Err(format!(
                "@every must be at least 1s (got {})",
                format_duration(period)
            ));
        }
        Ok(Schedule::Every {
            expr: text.to_string(),
            period,
        })
    }

    /// The expression as the user wrote it.
    pub fn expr(&self) -> &str {
        match self {
            Schedule::Cron { expr, .. } | Schedule::Every { expr, .. } => expr,
        }
    }

    /// The schedule in words, for the UIs ("every 1h30m", "At 02:30 every day", "Every 5
    /// minutes"), without its zone.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Every { period, .. } => format!("every {}", format_duration(*period)),
            Schedule::Cron { cron, .. } => cron.describe(),
        }
    }

    /// [`Schedule::describe`] read in the zone named `zone`: "… in Europe/Bratislava" when the
    /// zone is not UTC, or always with `always_name_zone`. An `@every` interval does not depend
    /// on a zone and never names one.
    pub fn describe_in(&self, zone: &str, always_name_zone: bool) -> String {
        let words = self.describe();
        match self {
            Schedule::Cron { .. } if always_name_zone || !words::is_utc(zone) => {
                format!("{words} in {zone}")
            }
            _ => words,
        }
    }

    /// The first firing strictly after `after`, evaluated in `tz`.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        match self {
            Schedule::Every { period, .. } => next_every(after, *period),
            Schedule::Cron { cron, .. } => next_cron(cron, after, tz),
        }
    }

    /// The next `n` firings strictly after `after`.
    pub fn upcoming(&self, after: Timestamp, tz: &TimeZone, n: usize) -> Vec<Timestamp> {
        let mut out = Vec::with_capacity(n);
        let mut cursor = after;
        while out.len() < n {
            match self.next_after(cursor, tz) {
                Some(t) => {
                    out.push(t);
                    cursor = t;
                }
                None => break,
            }
        }
        out
    }
}

fn next_every(after: Timestamp, period: Duration) -> Option<Timestamp> {
    let period_ms = i128::try_from(period.as_millis()).ok()?;
    let after_ms = after.as_millisecond() as i128;
    let next = (after_ms.div_euclid(period_ms) + 1) * period_ms;
    Timestamp::from_millisecond(i64::try_from(next).ok()?).ok()
}

fn next_cron(cron: &CronExpr, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    let mut date = after.to_zoned(tz.clone()).date();
    for _ in 0..SEARCH_DAYS {
        if cron.date_matches(date) {
            if let Some(t) = first_in_day(cron, date, after, tz) {
                return Some(t);
            }
        }
        date = date.tomorrow().ok()?;
    }
    None
}

/// The earliest firing on local `date` after `after`. On a day without an offset change local
/// order is instant order, so the first match wins, and on `after`'s own day no minute before
/// `after`'s is looked at (a minutely task's next firing was 1,440 zone conversions late in
/// the day, and catching up a year of them stalled the boot for seconds); otherwise every
/// candidate is weighed.
fn first_in_day(cron: &CronExpr, date: Date, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    let simple_day = !has_transition(date, tz);
    let (from_hour, from_minute) = match after.to_zoned(tz.clone()).datetime() {
        local if simple_day && local.date() == date => (
            u32::try_from(local.hour()).unwrap_or(0),
            u32::try_from(local.minute()).unwrap_or(0),
        ),
        _ => (0, 0),
    };
    let mut best: Option<Timestamp> = None;
    for hour in (from_hour..24).filter(|h| cron.hour_matches(*h)) {
        let first_minute = if hour == from_hour { from_minute } else { 0 };
        for minute in (first_minute..60).filter(|m| cron.minute_matches(*m)) {
            let civil = date.at(hour as i8, minute as i8, 0, 0);
            for t in instants(civil, tz, cron.wall_clock).into_iter().flatten() {
                if t > after && best.is_none_or(|b| t < b) {
                    best = Some(t);
                }
            }
            if simple_day && best.is_some() {
                return best;
            }
        }
    }
    best
}

/// Whether the zone's offset changes during local `date`.
fn has_transition(date: Date, tz: &TimeZone) -> bool {
    let Ok(start) = date.to_zoned(tz.clone()) else {
        return true;
    };
    let Ok(next_day) = date.tomorrow().and_then(|d| d.to_zoned(tz.clone())) else {
        return true;
    };
    tz.following(start.timestamp())
        .next()
        .is_some_and(|tr| tr.timestamp() < next_day.timestamp())
}

/// The instants at which local time `civil` fires, by the DST rules in the module header.
fn instants(civil: DateTime, tz: &TimeZone, wall_clock: bool) -> [Option<Timestamp>; 2] {
    match tz.to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Unambiguous { offset } => [offset.to_timestamp(civil).ok(), None],
        AmbiguousOffset::Gap { after, .. } => {
            if wall_clock {
                return [None, None];
            }
            // `civil` read with the later offset is an instant before the gap opens; the next
            // transition after it is the first instant after the gap.
            let before_gap = after.to_timestamp(civil).ok();
            let end = before_gap.and_then(|t| tz.following(t).next().map(|tr| tr.timestamp()));
            [end, None]
        }
        AmbiguousOffset::Fold { before, after } => {
            let first = before.to_timestamp(civil).ok();
            let second = if wall_clock {
                after.to_timestamp(civil).ok()
            } else {
                None
            };
            [first, second]
        }
    }
}

#[cfg(test)]
mod tests;
