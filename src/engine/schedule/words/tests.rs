//! Expressions and the exact words for them, the zone rule, and two checks over generated
//! expressions: the values the words are built from are the values the scheduler matches, and
//! no description falls back to croner-style prose or is cut off.

use super::super::Schedule;
use jiff::civil::Date;

fn words(expr: &str, zone: &str) -> String {
    Schedule::parse(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .describe_in(zone, false)
}

#[test]
fn expressions_read_as_a_person_would_say_them() {
    let cases = [
        // The common shapes.
        ("*/5 * * * *", "UTC", "Every 5 minutes"),
        ("* * * * *", "UTC", "Every minute"),
        ("*/30 * * * *", "UTC", "Every 30 minutes"),
        ("0 4 * * *", "UTC", "At 04:00 every day"),
        ("30 2 * * MON", "UTC", "At 02:30 on Mondays"),
        ("0 0 1 * *", "UTC", "At 00:00 on the 1st of every month"),
        ("0 9 * * 1-5", "UTC", "At 09:00 on weekdays"),
        ("15 * * * *", "UTC", "Every hour at :15"),
        ("0 12 1 1 *", "UTC", "At 12:00 on Jan 1"),
        ("0 0 29 2 *", "UTC", "At 00:00 on Feb 29"),
        ("0 9,17 * * *", "UTC", "At 09:00 and 17:00 every day"),
        ("0 0 * * 6,0", "UTC", "At 00:00 on weekends"),
        // Macros and @every.
        ("@daily", "UTC", "At 00:00 every day"),
        ("@midnight", "UTC", "At 00:00 every day"),
        ("@hourly", "UTC", "Every hour at :00"),
        ("@weekly", "UTC", "At 00:00 on Sundays"),
        ("@monthly", "UTC", "At 00:00 on the 1st of every month"),
        ("@yearly", "UTC", "At 00:00 on Jan 1"),
        ("@every 1h30m", "Europe/Bratislava", "every 1h30m"),
        // Vixie day fields: either matches when both are restricted, both when one starts
        // with `*`, and a day field naming every day makes the other irrelevant under OR.
        ("0 0 13 * 5", "UTC", "At 00:00 on the 13th and on Fridays"),
        ("0 0 */2 * 5", "UTC", "At 00:00 on odd days that are Fridays"),
        ("0 0 1-7 * 1", "UTC", "At 00:00 on the 1st to 7th and on Mondays"),
        ("0 0 1-31 * 5", "UTC", "At 00:00 every day"),
        ("0 0 5 * 0,*", "UTC", "At 00:00 every day"),
        ("0 12 * * 7", "UTC", "At 12:00 on Sundays"),
        ("0 12 * * SUN-SUN", "UTC", "At 12:00 on Sundays"),
        ("0 0 13 3 5", "UTC", "At 00:00 on the 13th and on Fridays in March"),
        // Daylight saving: wall-clock and pinned expressions, named in their zone.
        ("30 2 * * *", "America/New_York", "At 02:30 every day in America/New_York"),
        ("*/30 * * * *", "America/New_York", "Every 30 minutes in America/New_York"),
        ("* 2 * * *", "America/New_York", "Every minute from 02:00 to 02:59 in America/New_York"),
        ("0 */6 * * *", "Australia/Lord_Howe", "At 00:00, 06:00, 12:00 and 18:00 every day in Australia/Lord_Howe"),
        ("@daily", "America/Santiago", "At 00:00 every day in America/Santiago"),
        ("0 *,14 * * *", "Etc/UTC", "Every hour at :00"),
        ("0 21,* * * *", "UTC", "Every hour at :00"),
        ("*,5 *,1 *,2 *,3 *,4", "UTC", "Every minute"),
        // Ranges, lists and steps in every field.
        ("0 */2 * * *", "UTC", "Every 2 hours at :00"),
        ("0 1-23/2 * * *", "UTC", "Every 2 hours from 01:00 to 23:00"),
        ("0 9-17 * * *", "UTC", "Every hour from 09:00 to 17:00"),
        ("*/15 9-17 * * 1-5", "UTC", "Every 15 minutes from 09:00 to 17:45 on weekdays"),
        ("0,30 9-11 * * *", "UTC", "Every 30 minutes from 09:00 to 11:30"),
        ("5-59/15 * * * *", "UTC", "Every hour at :05, :20, :35 and :50"),
        ("2-59/5 * * * *", "UTC", "Every 5 minutes from :02"),
        ("*/7 * * * *", "UTC", "Every 7th minute"),
        ("*/7 */5 * * *", "UTC", "Every 7th minute of every 5th hour"),
        ("0-14,30 9-17 * * *", "UTC", "At minutes 0-14 and 30 of hours 9-17"),
        ("0 1-5,8,13-17 * * *", "UTC", "At minute 0 of hours 1-5, 8 and 13-17"),
        ("0 0 1,15 * *", "UTC", "At 00:00 on the 1st and 15th of every month"),
        ("0 4 8-14 * *", "UTC", "At 04:00 on the 8th to 14th of every month"),
        ("0 0 2-30/2 * *", "UTC", "At 00:00 on even days"),
        ("0 0 */3 * *", "UTC", "At 00:00 on every 3rd day of the month"),
        ("0 0 1 1,4,7,10 *", "UTC", "At 00:00 on the 1st of January, April, July and October"),
        ("0 0 1,15 3 *", "UTC", "At 00:00 on the 1st and 15th of March"),
        ("0 0 * JAN-mar *", "UTC", "At 00:00 every day in January to March"),
        ("*/10 * * 3 *", "UTC", "Every 10 minutes in March"),
        ("0 0 * * 5-7", "UTC", "At 00:00 on Friday to Sunday"),
        ("0 0 * * 1,2,3,5", "UTC", "At 00:00 on Monday to Wednesday and Fridays"),
        ("0 0 * * 6,0,1", "UTC", "At 00:00 on Saturday to Monday"),
        (
            "*/15 0-6,22 1-31/2 JAN-mar sun,MON",
            "UTC",
            "Every 15 minutes from 00:00 to 06:45 and from 22:00 to 22:45 on odd days and on Sundays and Mondays in January to March",
        ),
    ];
    let mut wrong = Vec::new();
    for (expr, zone, expected) in cases {
        let got = words(expr, zone);
        if got != expected {
            wrong.push(format!(
                "{expr:?} in {zone}: {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_zone_is_named_unless_it_is_utc_or_when_asked() {
    let daily = Schedule::parse("@daily").expect("@daily");
    assert_eq!(daily.describe(), "At 00:00 every day");
    assert_eq!(daily.describe_in("UTC", false), "At 00:00 every day");
    assert_eq!(daily.describe_in("Etc/UTC", false), "At 00:00 every day");
    assert_eq!(daily.describe_in("UTC", true), "At 00:00 every day in UTC");
    assert_eq!(
        daily.describe_in("Europe/Bratislava", false),
        "At 00:00 every day in Europe/Bratislava"
    );
    let every = Schedule::parse("@every 10m").expect("@every");
    assert_eq!(every.describe_in("Europe/Bratislava", true), "every 10m");
}

/// Expressions built from every field form (`*`, `N`, `A-B`, `*/S`, `A-B/S`, lists) by a fixed
/// pseudo-random sequence.
fn generated() -> Vec<String> {
    let mut seed: u64 = 0x5eed;
    let mut next = move |n: u32| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) % u64::from(n)) as u32
    };
    let mut field = |min: u32, max: u32| {
        let width = max - min + 1;
        let a = min + next(width);
        let b = a + next(max - a + 1);
        let s = 1 + next(width / 2);
        match next(8) {
            0 | 1 => "*".to_string(),
            2 => a.to_string(),
            3 => format!("{a}-{b}"),
            4 => format!("*/{s}"),
            5 => format!("{a}-{b}/{s}"),
            6 => format!("{a},{b}"),
            _ => format!("{a}-{b},{}", min + next(width)),
        }
    };
    (0..400)
        .map(|_| {
            let parts = [
                field(0, 59),
                field(0, 23),
                field(1, 31),
                field(1, 12),
                field(0, 7),
            ];
            parts.join(" ")
        })
        .collect()
}

#[test]
fn the_words_are_built_from_the_values_the_scheduler_matches() {
    let mut checked = 0;
    for expr in generated() {
        let Ok(Schedule::Cron { cron, .. }) = Schedule::parse(&expr) else {
            continue;
        };
        let f = &cron.fields;
        let minutes: Vec<u32> = (0..60).filter(|m| cron.minute_matches(*m)).collect();
        let hours: Vec<u32> = (0..24).filter(|h| cron.hour_matches(*h)).collect();
        assert_eq!(f.minutes, minutes, "{expr}: minutes");
        assert_eq!(f.hours, hours, "{expr}: hours");
        let mut date = Date::new(2024, 1, 1).expect("date");
        while date.year() < 2026 {
            let dom = f.days.contains(&(date.day() as u32));
            let dow = f
                .weekdays
                .contains(&(date.weekday().to_sunday_zero_offset() as u32));
            let day = if f.either_day { dom || dow } else { dom && dow };
            let expected = day && f.months.contains(&(date.month() as u32));
            assert_eq!(cron.date_matches(date), expected, "{expr} on {date}");
            date = date.tomorrow().expect("next day");
        }
        checked += 1;
    }
    assert!(checked > 300, "only {checked} generated expressions parsed");
}

#[test]
fn no_description_is_cut_off_or_reads_like_croner() {
    for expr in generated() {
        let Ok(schedule) = Schedule::parse(&expr) else {
            continue;
        };
        let text = schedule.describe();
        for bad in ["if it is also", "on day", "At every", "…", "...", "  "] {
            assert!(!text.contains(bad), "{expr}: {text:?} contains {bad:?}");
        }
        assert!(
            text.starts_with("At ") || text.starts_with("Every "),
            "{expr}: {text:?}"
        );
        assert!(
            !text.ends_with(" and") && !text.ends_with(',') && !text.ends_with(' '),
            "{expr}: {text:?}"
        );
    }
}
