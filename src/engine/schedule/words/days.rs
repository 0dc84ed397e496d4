//! The days in words, from the day-of-month, month and day-of-week fields: " every day",
//! " on weekdays", " on the 1st of every month", " on Jan 1", " on the 13th and on Fridays"
//! (Vixie: either day field matches), " on odd days that are Fridays" (both must).

use super::{and_list, ordinal, progression, runs, Fields};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
/// A progression of days is named ("every 3rd day") beyond this many; fewer are listed.
const LISTED_DAYS: usize = 5;

/// The days, starting with a space (empty for every day when the times need no day).
pub(super) fn describe(f: &Fields, needs_day: bool) -> String {
    let all_days = f.days.len() == 31;
    let all_weekdays = f.weekdays.len() == 7;
    let in_months = if f.months.len() < 12 {
        format!(" in {}", month_names(&f.months))
    } else {
        String::new()
    };
    let (by_date, by_weekday) = match (all_days, all_weekdays) {
        (true, true) => (false, false),
        // Either field may match and one matches every day.
        _ if f.either_day => (!(all_days || all_weekdays), !(all_days || all_weekdays)),
        (true, false) => (false, true),
        (false, true) => (true, false),
        (false, false) => (true, true),
    };
    match (by_date, by_weekday) {
        (false, false) if needs_day => format!(" every day{in_months}"),
        (false, false) => in_months,
        (false, true) => format!(" on {}{in_months}", weekdays(&f.weekdays)),
        (true, false) => dates(&f.days, &f.months),
        (true, true) => {
            let (days, _) = day_numbers(&f.days);
            let weekdays = weekdays(&f.weekdays);
            if f.either_day {
                format!(" on {days} and on {weekdays}{in_months}")
            } else {
                format!(" on {days} that are {weekdays}{in_months}")
            }
        }
    }
}

/// Days of the month alone: " on Jan 1", " on the 1st and 15th of every month".
fn dates(days: &[u32], months: &[u32]) -> String {
    if let ([day], [month]) = (days, months) {
        let name = MONTHS[(*month as usize + 11) % 12];
        return format!(" on {} {day}", &name[..3]);
    }
    let (text, listed) = day_numbers(days);
    match (months.len() == 12, listed) {
        (true, true) => format!(" on {text} of every month"),
        (true, false) => format!(" on {text}"),
        (false, true) => format!(" on {text} of {}", month_names(months)),
        (false, false) => format!(" on {text} in {}", month_names(months)),
    }
}

/// The days of the month, and whether they are listed by number ("the 1st to 7th and 15th")
/// rather than named ("odd days", "every 3rd day of the month").
fn day_numbers(days: &[u32]) -> (String, bool) {
    let last = days.last().copied().unwrap_or(31);
    match progression(days) {
        Some((1, 2)) if last == 31 => return ("odd days".into(), false),
        Some((2, 2)) if last == 30 => return ("even days".into(), false),
        Some((first, step)) if days.len() > LISTED_DAYS => {
            let every = format!("every {} day", ordinal(step));
            return if first == 1 && last + step > 31 {
                (format!("{every} of the month"), false)
            } else {
                let (from, to) = (ordinal(first), ordinal(last));
                (format!("{every} from the {from} to the {to}"), false)
            };
        }
        _ => {}
    }
    let mut items = Vec::new();
    for (a, b) in runs(days) {
        match b - a {
            0 => items.push(ordinal(a)),
            1 => items.extend([ordinal(a), ordinal(b)]),
            _ => items.push(format!("{} to {}", ordinal(a), ordinal(b))),
        }
    }
    (format!("the {}", and_list(&items)), true)
}

/// "weekdays", "weekends", "Mondays", "Monday to Wednesday and Fridays", "Friday to Sunday".
fn weekdays(days: &[u32]) -> String {
    match days {
        [1, 2, 3, 4, 5] => return "weekdays".into(),
        [0, 6] => return "weekends".into(),
        _ => {}
    }
    let has = |d: u32| days.contains(&(d % 7));
    // Start on a day whose eve is not in the set (Monday first), so a span across Sunday such
    // as Friday to Sunday stays one span.
    let Some(start) = [1, 2, 3, 4, 5, 6, 0]
        .into_iter()
        .find(|&d| has(d) && !has(d + 6))
    else {
        return "every day".into();
    };
    let order: Vec<u32> = (0..7).map(|i| (start + i) % 7).collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < order.len() {
        if !has(order[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < order.len() && has(order[j + 1]) {
            j += 1;
        }
        let name = |k: usize| WEEKDAYS[order[k] as usize];
        match j - i {
            0 => items.push(format!("{}s", name(i))),
            1 => items.extend([format!("{}s", name(i)), format!("{}s", name(j))]),
            _ => items.push(format!("{} to {}", name(i), name(j))),
        }
        i = j + 1;
    }
    and_list(&items)
}

/// "March", "January to March", "January, April, July and October".
fn month_names(months: &[u32]) -> String {
    let name = |m: u32| MONTHS[(m as usize + 11) % 12].to_string();
    let mut items = Vec::new();
    for (a, b) in runs(months) {
        match b - a {
            0 => items.push(name(a)),
            1 => items.extend([name(a), name(b)]),
            _ => items.push(format!("{} to {}", name(a), name(b))),
        }
    }
    and_list(&items)
}
