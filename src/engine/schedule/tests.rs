//! Cron grammar and daylight-saving cases in three zones: New York (one-hour shift at 02:00),
//! Lord Howe (a 30-minute shift) and Santiago (its change happens at midnight).

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

/// The next `n` firings after `from`, printed in the zone with their offsets.
fn next(expr: &str, zone: &str, from: &str, n: usize) -> Vec<String> {
    let tz = TimeZone::get(zone).expect("zone");
    let schedule = Schedule::parse(expr).expect("expression");
    schedule
        .upcoming(ts(from), &tz, n)
        .into_iter()
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%dT%H:%M%:z")
                .to_string()
        })
        .collect()
}

#[test]
fn grammar_accepts_the_documented_forms() {
    for ok in [
        "* * * * *",
        "*/15 0-6,22 1-31/2 JAN-mar sun,MON",
        "0 0 * * 7",
        "*,5 *,1 *,2 *,3 *,4",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
        "@every 1s",
        "@every 1h30m",
    ] {
        assert!(
            Schedule::parse(ok).is_ok(),
            "{ok}: {:?}",
            Schedule::parse(ok).err()
        );
    }
}

#[test]
fn grammar_refuses_extensions_and_mistakes_with_a_reason() {
    let cases = [
        ("* * * *", "invalid cron expression \"* * * *\": expected 5 fields (minute hour day-of-month month day-of-week), found 4"),
        ("0 0 * * * *", "invalid cron expression \"0 0 * * * *\": expected 5 fields (minute hour day-of-month month day-of-week), found 6"),
        ("60 * * * *", "invalid cron expression \"60 * * * *\": minute field: 60 is out of range 0-59"),
        ("0 0 L * *", "invalid cron expression \"0 0 L * *\": day-of-month field: \"L\" is not a number"),
        ("0 0 * * 5#2", "invalid cron expression \"0 0 * * 5#2\": day-of-week field: \"5#2\" is not a number or a name like SUN"),
        ("0 0 ? * *", "invalid cron expression \"0 0 ? * *\": day-of-month field: \"?\" is not a number"),
        ("*/0 * * * *", "invalid cron expression \"*/0 * * * *\": minute field \"*/0\": a step cannot be 0"),
        ("5-1 * * * *", "invalid cron expression \"5-1 * * * *\": minute field \"5-1\": the range \"5-1\" runs backwards"),
        ("0 0 31 2 *", "invalid cron expression \"0 0 31 2 *\": it can never fire: no calendar day matches its day and month fields"),
        ("@every 500ms", "@every must be at least 1s (got 500ms)"),
        ("@every", "@every needs a duration, like `@every 10m` or `@every 1h30m`"),
        ("@fortnightly", "unknown macro \"@fortnightly\"; use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every DURATION"),
    ];
    for (expr, message) in cases {
        assert_eq!(
            Schedule::parse(expr).err().as_deref(),
            Some(message),
            "{expr}"
        );
    }
}

#[test]
fn vixie_day_fields() {
    // Both restricted: the 13th OR Fridays.
    assert_eq!(
        next("0 0 13 * 5", "UTC", "2025-06-01T00:00:00Z", 4),
        [
            "2025-06-06T00:00+00:00",
            "2025-06-13T00:00+00:00",
            "2025-06-20T00:00+00:00",
            "2025-06-27T00:00+00:00"
        ]
    );
    // A day field starting with `*`: both must match (odd days that are Fridays).
    assert_eq!(
        next("0 0 */2 * 5", "UTC", "2025-06-01T00:00:00Z", 3),
        [
            "2025-06-13T00:00+00:00",
            "2025-06-27T00:00+00:00",
            "2025-07-11T00:00+00:00"
        ]
    );
    // 7 is Sunday, like 0.
    assert_eq!(
        next("0 12 * * 7", "UTC", "2025-06-01T12:00:00Z", 1),
        ["2025-06-08T12:00+00:00"]
    );
    // SUN is 0 at either end of a range (croner alone would read `-SUN` as 7: every day).
    assert_eq!(
        next("0 12 * * SUN-SUN", "UTC", "2025-06-01T12:00:00Z", 2),
        ["2025-06-08T12:00+00:00", "2025-06-15T12:00+00:00"]
    );
    // A `*` inside a list: the field names every value, and `0,*` does not start with `*`, so
    // either day field may match (every day).
    assert_eq!(
        next("0 0 5 * 0,*", "UTC", "2025-06-01T00:00:00Z", 2),
        ["2025-06-02T00:00+00:00", "2025-06-03T00:00+00:00"]
    );
    // February 29th is found four years ahead.
    assert_eq!(
        next("0 0 29 2 *", "UTC", "2025-01-01T00:00:00Z", 1),
        ["2028-02-29T00:00+00:00"]
    );
}

#[test]
fn every_is_anchored_on_the_epoch() {
    assert_eq!(
        next("@every 1h30m", "UTC", "2025-06-01T00:10:00Z", 3),
        [
            "2025-06-01T01:30+00:00",
            "2025-06-01T03:00+00:00",
            "2025-06-01T04:30+00:00"
        ]
    );
    // The zone does not move an interval.
    assert_eq!(
        next("@every 7m", "Asia/Kolkata", "1970-01-01T00:00:00Z", 1),
        ["1970-01-01T05:37+05:30"]
    );
}

#[test]
fn new_york_spring_forward() {
    // 2025-03-09 02:00 EST becomes 03:00 EDT.
    assert_eq!(
        next("30 2 * * *", "America/New_York", "2025-03-08T12:00:00Z", 2),
        ["2025-03-09T03:00-04:00", "2025-03-10T02:30-04:00"],
        "pinned: a skipped time fires once, right after the gap"
    );
    assert_eq!(
        next(
            "0,30 2 * * *",
            "America/New_York",
            "2025-03-08T12:00:00Z",
            2
        ),
        ["2025-03-09T03:00-04:00", "2025-03-10T02:00-04:00"],
        "pinned: two skipped times still fire once"
    );
    assert_eq!(
        next(
            "*/30 * * * *",
            "America/New_York",
            "2025-03-09T06:00:00Z",
            4
        ),
        [
            "2025-03-09T01:30-05:00",
            "2025-03-09T03:00-04:00",
            "2025-03-09T03:30-04:00",
            "2025-03-09T04:00-04:00"
        ],
        "wall clock: skipped times are skipped"
    );
}

#[test]
fn new_york_fall_back() {
    // 2025-11-02 02:00 EDT becomes 01:00 EST.
    assert_eq!(
        next("30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", 2),
        ["2025-11-02T01:30-04:00", "2025-11-03T01:30-05:00"],
        "pinned: a repeated time fires at its first occurrence only"
    );
    assert_eq!(
        next("30 * * * *", "America/New_York", "2025-11-02T04:00:00Z", 4),
        [
            "2025-11-02T00:30-04:00",
            "2025-11-02T01:30-04:00",
            "2025-11-02T01:30-05:00",
            "2025-11-02T02:30-05:00"
        ],
        "wall clock: a repeated time fires twice"
    );
}

#[test]
fn lord_howe_half_hour_shifts() {
    // 2025-10-05 02:00 +10:30 becomes 02:30 +11:00.
    assert_eq!(
        next(
            "15 2 * * *",
            "Australia/Lord_Howe",
            "2025-10-04T12:00:00Z",
            2
        ),
        ["2025-10-05T02:30+11:00", "2025-10-06T02:15+11:00"]
    );
    assert_eq!(
        next(
            "*/15 * * * *",
            "Australia/Lord_Howe",
            "2025-10-04T15:10:00Z",
            2
        ),
        ["2025-10-05T01:45+10:30", "2025-10-05T02:30+11:00"]
    );
    // 2025-04-06 02:00 +11:00 becomes 01:30 +10:30.
    assert_eq!(
        next(
            "45 1 * * *",
            "Australia/Lord_Howe",
            "2025-04-05T12:00:00Z",
            2
        ),
        ["2025-04-06T01:45+11:00", "2025-04-07T01:45+10:30"]
    );
    assert_eq!(
        next(
            "*/15 * * * *",
            "Australia/Lord_Howe",
            "2025-04-05T14:20:00Z",
            5
        ),
        [
            "2025-04-06T01:30+11:00",
            "2025-04-06T01:45+11:00",
            "2025-04-06T01:30+10:30",
            "2025-04-06T01:45+10:30",
            "2025-04-06T02:00+10:30"
        ]
    );
}

#[test]
fn santiago_changes_at_midnight() {
    // 2025-09-07 00:00 -04:00 becomes 01:00 -03:00: midnight does not exist that day.
    assert_eq!(
        next("@daily", "America/Santiago", "2025-09-06T12:00:00Z", 2),
        ["2025-09-07T01:00-03:00", "2025-09-08T00:00-03:00"]
    );
    assert_eq!(
        next("0 * * * *", "America/Santiago", "2025-09-07T02:30:00Z", 2),
        ["2025-09-06T23:00-04:00", "2025-09-07T01:00-03:00"]
    );
    // 2025-04-06 00:00 -03:00 becomes 2025-04-05 23:00 -04:00: 23:xx happens twice.
    assert_eq!(
        next("30 23 * * *", "America/Santiago", "2025-04-05T12:00:00Z", 2),
        ["2025-04-05T23:30-03:00", "2025-04-06T23:30-04:00"]
    );
    assert_eq!(
        next("30 * * * *", "America/Santiago", "2025-04-06T01:00:00Z", 3),
        [
            "2025-04-05T22:30-03:00",
            "2025-04-05T23:30-03:00",
            "2025-04-05T23:30-04:00"
        ]
    );
}

#[test]
fn wall_clock_classification_follows_the_examples() {
    let wall = |e: &str| match Schedule::parse(e).expect("expr") {
        Schedule::Cron { cron, .. } => cron.wall_clock,
        Schedule::Every { .. } => unreachable!(),
    };
    assert!(wall("*/15 * * * *"));
    assert!(wall("0 * * * *"));
    assert!(wall("* 2 * * *"));
    assert!(wall("@hourly"));
    assert!(
        wall("0 *,14 * * *"),
        "an hour field starting with `*` that names every hour"
    );
    assert!(
        !wall("0 21,* * * *"),
        "an hour field that does not start with `*`"
    );
    assert!(!wall("30 2 * * *"));
    assert!(!wall("0 */6 * * *"));
    assert!(!wall("@daily"));
}
