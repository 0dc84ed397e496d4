//! A cron expression in words, as a person would say it: "Every 5 minutes", "At 02:30 on
//! Mondays", "At 00:00 on the 13th and on Fridays". The words are built from the values each
//! field names (so `*/1`, `0-59` and `*,5` read alike), never from croner's prose, and are
//! always complete: a field the phrases below do not cover is listed compactly ("At minutes
//! 0-14 and 30 of hours 9-17"), never cut off.
//!
//! A description has two parts: the times of day (`time.rs`: "At 04:00", "Every hour at :15",
//! "Every 15 minutes from 09:00 to 17:45") and the days (`days.rs`: "every day", "on weekdays",
//! "on the 1st of every month", "on Jan 1"). The day fields follow Vixie cron: when both are
//! restricted and neither starts with `*`, a day matches if either does ("on the 13th and on
//! Fridays"); otherwise both must ("on odd days that are Fridays").

mod days;
mod time;

/// The values each field of a parsed expression names, sorted and distinct. Day-of-week 7 is
/// stored as 0 (Sunday).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fields {
    pub minutes: Vec<u32>,
    pub hours: Vec<u32>,
    pub days: Vec<u32>,
    pub months: Vec<u32>,
    pub weekdays: Vec<u32>,
    /// Both day fields are restricted and neither starts with `*`: a day matches if either
    /// matches (Vixie cron).
    pub either_day: bool,
}

/// The whole expression in words.
pub(crate) fn describe(fields: &Fields) -> String {
    let (times, needs_day) = time::describe(&fields.minutes, &fields.hours);
    format!("{times}{}", days::describe(fields, needs_day))
}

/// Whether `zone` names Coordinated Universal Time (whose description leaves it out).
pub(crate) fn is_utc(zone: &str) -> bool {
    [
        "UTC",
        "Etc/UTC",
        "Etc/UCT",
        "UCT",
        "Etc/Universal",
        "Universal",
        "Etc/Zulu",
        "Zulu",
        "GMT",
        "Etc/GMT",
    ]
    .iter()
    .any(|name| name.eq_ignore_ascii_case(zone))
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The maximal runs of consecutive values, as `(first, last)`.
fn runs(values: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &v in values {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == v => *last = v,
            _ => out.push((v, v)),
        }
    }
    out
}

/// `(first, step)` when the values are at least three, evenly spaced more than one apart.
fn progression(values: &[u32]) -> Option<(u32, u32)> {
    let [first, second, ..] = values else {
        return None;
    };
    let step = second - first;
    let even = values.windows(2).all(|w| w[1] - w[0] == step);
    (values.len() >= 3 && step > 1 && even).then_some((*first, step))
}

/// `(first, step)` when the values repeat evenly around a cycle of `cycle` values (`*/15` or
/// `5-59/15` of the minutes), so "every `step`" holds across the wrap as well.
fn cyclic(values: &[u32], cycle: u32) -> Option<(u32, u32)> {
    let [first, second, ..] = values else {
        return None;
    };
    let step = second - first;
    let even = values.windows(2).all(|w| w[1] - w[0] == step);
    (even && step > 1 && step * values.len() as u32 == cycle).then_some((*first, step))
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`.
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Numbers with their runs of three or more written `a-b`: `0-14, 30 and 45`.
fn numbers(values: &[u32]) -> String {
    let mut items = Vec::new();
    for (a, b) in runs(values) {
        match b - a {
            0 => items.push(a.to_string()),
            1 => items.extend([a.to_string(), b.to_string()]),
            _ => items.push(format!("{a}-{b}")),
        }
    }
    and_list(&items)
}

#[cfg(test)]
mod tests;
