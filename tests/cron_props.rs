//! Property test: `Schedule::next_after` agrees with a brute-force evaluator written here from
//! `product.md` §3.1-§3.2 alone, sharing no code with the schedule module or croner.
//!
//! The brute force parses the five fields into bit sets, then walks UTC instants one minute at a
//! time, turns each into local time with the zone's offset at that instant, and decides:
//! - wall-clock expressions (minute field starting with `*`, or an hour field starting with `*`
//!   that names every hour, as the schedule module header classifies them) fire at every instant whose local time matches, so
//!   both occurrences of a repeated time and none of a skipped one;
//! - pinned expressions fire at an instant whose local time matches only if that local time was
//!   not already shown earlier (first occurrence of a repeated time); and at the first instant
//!   after a gap in local time they fire once if any skipped local time matches (together with a
//!   real match at that instant it is still one firing).
//!
//! Expressions come from a strategy over the grammar, biased to the hours where the zones below
//! change their clocks, and start instants cluster around those changes. The brute force scans a
//! bounded window; firings inside it must be exactly runwisp's, and runwisp's next firing after
//! the last one found must lie beyond the window.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

use std::collections::HashSet;
use std::sync::OnceLock;

use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use runwisp::engine::schedule::Schedule;

/// How many firings are compared per case.
const FIRINGS: usize = 5;
/// How far the brute force looks (minutes): 40 days.
const WINDOW_MINUTES: i64 = 40 * 24 * 60;

const ZONES: [&str; 6] = [
    "UTC",
    "+05:45",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
];

fn zone(name: &str) -> TimeZone {
    match name {
        "+05:45" => TimeZone::fixed(Offset::from_seconds(5 * 3600 + 45 * 60).expect("offset")),
        other => TimeZone::get(other).expect("zone in the system tz database"),
    }
}

/// Offset changes of each zone between 2024 and 2028 (none for UTC and the fixed zone; those
/// start anywhere in that span).
fn transitions(index: usize) -> &'static [i64] {
    static ALL: OnceLock<Vec<Vec<i64>>> = OnceLock::new();
    &ALL.get_or_init(|| {
        let from: Timestamp = "2024-01-01T00:00:00Z".parse().expect("ts");
        let until: Timestamp = "2028-01-01T00:00:00Z".parse().expect("ts");
        ZONES
            .iter()
            .map(|name| {
                zone(name)
                    .following(from)
                    .map(|t| t.timestamp())
                    .take_while(|t| *t < until)
                    .map(|t| t.as_second())
                    .collect()
            })
            .collect()
    })[index]
}

// ---------------------------------------------------------------------------------------------
// The brute force.

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

#[derive(Debug)]
struct Brute {
    minutes: u64,
    hours: u64,
    doms: u64,
    months: u64,
    dows: u64,
    /// Vixie: a day field starting with `*` makes both day fields required.
    day_and: bool,
    wall_clock: bool,
}

fn field_value(text: &str, names: &[&str], first: u32) -> u32 {
    let upper = text.to_ascii_uppercase();
    match names.iter().position(|n| *n == upper) {
        Some(i) => i as u32 + first,
        None => text
            .parse()
            .unwrap_or_else(|_| panic!("bad value {text:?}")),
    }
}

fn field_bits(text: &str, lo: u32, hi: u32, names: &[&str], first: u32) -> u64 {
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<usize>().expect("step")),
            None => (item, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (field_value(a, names, first), field_value(b, names, first))
        } else {
            let v = field_value(range, names, first);
            (v, v)
        };
        for v in (a..=b).step_by(step) {
            bits |= 1 << v;
        }
    }
    bits
}

impl Brute {
    fn parse(expr: &str) -> Brute {
        let expanded = match expr {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let f: Vec<&str> = expanded.split(' ').collect();
        assert_eq!(f.len(), 5, "{expr}");
        let mut dows = field_bits(f[4], 0, 7, &DAYS, 0);
        if dows & (1 << 7) != 0 {
            dows |= 1; // 7 is Sunday
        }
        let hours = field_bits(f[1], 0, 23, &[], 0);
        Brute {
            minutes: field_bits(f[0], 0, 59, &[], 0),
            hours,
            doms: field_bits(f[2], 1, 31, &[], 0),
            months: field_bits(f[3], 1, 12, &MONTHS, 1),
            dows,
            day_and: f[2].starts_with('*') || f[4].starts_with('*'),
            wall_clock: f[0].starts_with('*')
                || (f[1].starts_with('*') && hours.count_ones() == 24),
        }
    }

    fn date_matches(&self, days: i64) -> bool {
        let (_, month, dom) = civil_from_days(days);
        let dow = (days + 4).rem_euclid(7); // 1970-01-01 was a Thursday
        if self.months & (1 << month) == 0 {
            return false;
        }
        let dom_ok = self.doms & (1 << dom) != 0;
        let dow_ok = self.dows & (1 << dow) != 0;
        if self.day_and {
            dom_ok && dow_ok
        } else {
            dom_ok || dow_ok
        }
    }

    /// Whether a local time, in seconds since 1970-01-01T00:00 local, matches all five fields.
    fn matches(&self, local: i64) -> bool {
        let second_of_day = local.rem_euclid(86_400);
        let hour = second_of_day / 3600;
        let minute = second_of_day % 3600 / 60;
        self.minutes & (1 << minute) != 0
            && self.hours & (1 << hour) != 0
            && self.date_matches(local.div_euclid(86_400))
    }

    /// Up to `n` firings strictly after `after` (Unix seconds) within the window.
    fn firings(&self, tz: &TimeZone, after: i64, n: usize) -> Vec<i64> {
        let offset = |t: i64| {
            let ts = Timestamp::from_second(t).expect("instant in range");
            i64::from(tz.to_offset(ts).seconds())
        };
        let first = after.div_euclid(60) * 60 + 60;
        let end = first + WINDOW_MINUTES * 60;
        // Start a day early so local times shown before `after` count as already seen.
        let start = first - 86_400;
        let mut seen = HashSet::new();
        let mut prev_local = start - 60 + offset(start - 60);
        let mut out = Vec::new();
        let mut t = start;
        while t < end && out.len() < n {
            let local = t + offset(t);
            let repeated = !seen.insert(local);
            let mut fires = self.matches(local) && (self.wall_clock || !repeated);
            if !self.wall_clock && local - prev_local > 60 {
                // Local time jumped over [prev_local + 1 min, local): a pinned expression fires
                // once here if any of those skipped times matches.
                fires |= (prev_local + 60..local)
                    .step_by(60)
                    .any(|skipped| self.matches(skipped));
            }
            if fires && t >= first {
                out.push(t);
            }
            prev_local = local;
            t += 60;
        }
        out
    }
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// ---------------------------------------------------------------------------------------------
// Strategies.

/// One field item: `*`, `*/S`, `N`, `A-B` or `A-B/S`, values drawn from `value`.
fn item(value: BoxedStrategy<u32>, max_step: u32) -> BoxedStrategy<String> {
    let pair = (value.clone(), value.clone()).prop_map(|(a, b)| (a.min(b), a.max(b)));
    prop_oneof![
        2 => Just("*".to_string()),
        2 => (1..=max_step).prop_map(|s| format!("*/{s}")),
        4 => value.prop_map(|v| v.to_string()),
        2 => pair.clone().prop_map(|(a, b)| format!("{a}-{b}")),
        1 => (pair, 1..=max_step).prop_map(|((a, b), s)| format!("{a}-{b}/{s}")),
    ]
    .boxed()
}

/// A field: usually one item, sometimes a comma list.
fn field(value: BoxedStrategy<u32>, max_step: u32) -> BoxedStrategy<String> {
    prop_oneof![
        3 => item(value.clone(), max_step),
        1 => prop::collection::vec(item(value, max_step), 2..=3).prop_map(|v| v.join(",")),
    ]
    .boxed()
}

/// Writes numbers of a named field as names in some case, now and then.
fn with_names(field: String, names: &'static [&'static str], first: u32, style: u8) -> String {
    if style == 0 {
        return field;
    }
    let mut out = String::new();
    let mut number = String::new();
    let flush = |number: &mut String, out: &mut String| {
        if number.is_empty() {
            return;
        }
        let v: u32 = number.parse().expect("digits");
        // Only numbers outside a step can be names; a name for 7 (Sunday) does not exist.
        let named = !out.ends_with('/') && v >= first && ((v - first) as usize) < names.len();
        if named {
            let name = names[(v - first) as usize];
            out.push_str(&match style {
                1 => name.to_string(),
                2 => name.to_ascii_lowercase(),
                _ => format!("{}{}", &name[..1], name[1..].to_ascii_lowercase()),
            });
        } else {
            out.push_str(number);
        }
        number.clear();
    };
    for c in field.chars() {
        if c.is_ascii_digit() {
            number.push(c);
        } else {
            flush(&mut number, &mut out);
            out.push(c);
        }
    }
    flush(&mut number, &mut out);
    out
}

/// Local hours around each zone's clock changes (New York and Berlin at 01:00-03:00, Lord Howe
/// at 01:30-02:30, Santiago at midnight).
fn hot_hours(zone_index: usize) -> Vec<u32> {
    match ZONES[zone_index] {
        "America/Santiago" => vec![22, 23, 0, 1],
        "UTC" | "+05:45" => vec![0, 12, 23],
        _ => vec![0, 1, 2, 3],
    }
}

/// In a zone with clock changes the day fields are mostly `*` so the day of the change matches;
/// UTC and the fixed zone exercise the day fields.
fn expression(zone_index: usize) -> impl Strategy<Value = String> {
    let star = if transitions(zone_index).is_empty() {
        3
    } else {
        8
    };
    // Hours where the zone changes its clock, drawn more often than the rest.
    let hour = prop_oneof![3 => prop::sample::select(hot_hours(zone_index)), 1 => 0u32..24].boxed();
    let minute =
        prop_oneof![2 => prop::sample::select(vec![0u32, 15, 30, 45]), 3 => 0u32..60].boxed();
    let minute_field = prop_oneof![
        3 => field(minute.clone(), 59),
        1 => field(minute, 30),
    ];
    let dom = prop_oneof![star => Just("*".to_string()), 2 => field((1u32..=31).boxed(), 15)];
    let month = prop_oneof![star => Just("*".to_string()), 1 => field((1u32..=12).boxed(), 6)];
    let dow = prop_oneof![star => Just("*".to_string()), 2 => field((0u32..=7).boxed(), 3)];
    let five = (
        minute_field,
        field(hour, 12),
        dom,
        month,
        0u8..4,
        dow,
        0u8..4,
    )
        .prop_map(|(mi, h, d, mo, mo_style, w, w_style)| {
            format!(
                "{mi} {h} {d} {} {}",
                with_names(mo, &MONTHS, 1, mo_style),
                with_names(w, &DAYS, 0, w_style)
            )
        });
    prop_oneof![
        12 => five,
        1 => prop::sample::select(vec![
            "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually",
        ])
        .prop_map(str::to_string),
    ]
}

/// (zone index, start instant in Unix seconds): near a clock change for zones that have them.
fn start() -> impl Strategy<Value = (usize, i64)> {
    (
        0..ZONES.len(),
        any::<prop::sample::Index>(),
        0u8..10,
        -3 * 86_400i64..86_400,
        0i64..60,
    )
        .prop_map(|(z, pick, spread, offset, second)| {
            let list = transitions(z);
            if list.is_empty() {
                let from = 1_704_067_200; // 2024-01-01T00:00:00Z
                let span = 4 * 365 * 86_400;
                return (z, from + pick.index(span) as i64 / 60 * 60 + second);
            }
            let at = list[pick.index(list.len())];
            // Mostly just before the change (so even a frequent expression reaches it within a
            // few firings), often within three hours of it, otherwise days around it.
            let offset = match spread {
                0..=1 => offset.rem_euclid(12 * 60) - 10 * 60,
                2..=3 => offset.rem_euclid(35 * 60) - 30 * 60,
                4..=6 => offset % (3 * 3600),
                _ => offset,
            };
            let second = if spread % 2 == 0 { 0 } else { second };
            (z, at + offset / 60 * 60 + second)
        })
}

fn show(tz: &TimeZone, list: &[i64]) -> Vec<String> {
    list.iter()
        .map(|t| {
            Timestamp::from_second(*t)
                .expect("ts")
                .to_zoned(tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .collect()
}

fn check(expr: &str, zone_index: usize, after: i64) -> Result<(), TestCaseError> {
    let tz = zone(ZONES[zone_index]);
    let brute = Brute::parse(expr);
    let schedule = match Schedule::parse(expr) {
        Ok(s) => s,
        Err(e) => {
            // The only refusal a grammar-valid expression may get: it can never fire. Every
            // (month, day, weekday) combination occurs in 2000-2027, so check those days.
            let (from, to) = (10_957, 10_957 + 28 * 366); // 2000-01-01 and a bit past 2027
            prop_assert!(
                e.contains("can never fire") && !(from..to).any(|d| brute.date_matches(d)),
                "{expr:?} refused: {e}"
            );
            return Ok(());
        }
    };
    let after_ts = Timestamp::from_second(after).expect("ts");
    let runwisp: Vec<i64> = schedule
        .upcoming(after_ts, &tz, FIRINGS + 1)
        .iter()
        .map(|t| t.as_second())
        .collect();
    let expected = brute.firings(&tz, after, FIRINGS);
    let window_end = after.div_euclid(60) * 60 + 60 + WINDOW_MINUTES * 60;
    let got: Vec<i64> = runwisp
        .iter()
        .copied()
        .filter(|t| *t < window_end)
        .take(FIRINGS)
        .collect();
    prop_assert_eq!(
        show(&tz, &got),
        show(&tz, &expected),
        "{:?} in {} after {}",
        expr,
        ZONES[zone_index],
        show(&tz, &[after])[0]
    );
    Ok(())
}

proptest! {
    #![proptest_config(Config {
        cases: 800,
        // Shrunk failures are kept here and replayed first on the next run.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/cron_props.proptest-regressions",
        ))),
        ..Config::default()
    })]

    #[test]
    fn next_after_matches_brute_force(
        (z, after, expr) in start().prop_flat_map(|(z, after)| (Just(z), Just(after), expression(z)))
    ) {
        check(&expr, z, after)?;
    }
}

/// Shrunk failures this test found in the schedule module (fixed in the same branch).
#[test]
fn found_by_this_test() {
    let utc = 0;
    let jan_2024 = 1_704_067_200;
    // croner refused a bare `*` inside a list.
    check("* *,* * * *", utc, jan_2024).expect("`*` in a list");
    // croner read `-SUN` as 7, so `SUN-SUN` fired every day.
    check("* * * * SUN-SUN", utc, jan_2024).expect("SUN-SUN is Sunday");
    // `0,*` does not start with `*`: either day field may match, so every day.
    check("* * 5 * 0,*", utc, jan_2024).expect("0,* with OR");
}

/// The brute force itself, on the cases the spec spells out (so a bug in it cannot hide one in
/// the schedule module by agreeing with it).
#[test]
fn brute_force_follows_the_spec_examples() {
    let at = |s: &str| s.parse::<Timestamp>().expect("ts").as_second();
    let run = |expr: &str, z: &str, from: &str, n: usize| {
        let tz = zone(z);
        show(&tz, &Brute::parse(expr).firings(&tz, at(from), n))
    };
    assert_eq!(
        run("0 0 13 * 5", "UTC", "2025-06-01T00:00:00Z", 3),
        [
            "2025-06-06T00:00:00+00:00",
            "2025-06-13T00:00:00+00:00",
            "2025-06-20T00:00:00+00:00"
        ]
    );
    assert_eq!(
        run("0 0 */2 * 5", "UTC", "2025-06-01T00:00:00Z", 2),
        ["2025-06-13T00:00:00+00:00", "2025-06-27T00:00:00+00:00"]
    );
    assert_eq!(
        run(
            "0,30 2 * * *",
            "America/New_York",
            "2025-03-08T12:00:00Z",
            2
        ),
        ["2025-03-09T03:00:00-04:00", "2025-03-10T02:00:00-04:00"]
    );
    assert_eq!(
        run("0 2,3 * * *", "America/New_York", "2025-03-08T12:00:00Z", 2),
        ["2025-03-09T03:00:00-04:00", "2025-03-10T02:00:00-04:00"]
    );
    assert_eq!(
        run("30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", 2),
        ["2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"]
    );
    // Started inside the second 01:xx, the first 01:30 has already been shown.
    assert_eq!(
        run("30 1 * * *", "America/New_York", "2025-11-02T06:10:00Z", 1),
        ["2025-11-03T01:30:00-05:00"]
    );
    assert_eq!(
        run("30 * * * *", "America/New_York", "2025-11-02T04:00:00Z", 4),
        [
            "2025-11-02T00:30:00-04:00",
            "2025-11-02T01:30:00-04:00",
            "2025-11-02T01:30:00-05:00",
            "2025-11-02T02:30:00-05:00"
        ]
    );
    assert_eq!(
        run(
            "15 2 * * *",
            "Australia/Lord_Howe",
            "2025-10-04T12:00:00Z",
            2
        ),
        ["2025-10-05T02:30:00+11:00", "2025-10-06T02:15:00+11:00"]
    );
    assert_eq!(
        run("@daily", "America/Santiago", "2025-09-06T12:00:00Z", 2),
        ["2025-09-07T01:00:00-03:00", "2025-09-08T00:00:00-03:00"]
    );
    assert_eq!(
        run("0 0 29 2 *", "UTC", "2025-01-01T00:00:00Z", 1),
        Vec::<String>::new(),
        "beyond the window"
    );
}
