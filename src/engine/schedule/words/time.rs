//! The times of day in words, from the minute and hour fields: a few instants are listed ("At
//! 09:00 and 17:00"), a pattern within the hour is said once ("Every 15 minutes from 09:00 to
//! 17:45", "Every 2 hours at :30"), and anything else falls back to the fields themselves ("At
//! minutes 0-14 and 30 of hours 1, 3 and 9-17").

use super::{and_list, cyclic, numbers, ordinal, progression, runs};

/// Up to this many instants a day are always listed one by one.
const ALWAYS_LISTED: usize = 4;
/// Up to this many are listed when no shorter phrase says the same.
const LISTED: usize = 6;
/// At most this many separate spans of hours are named ("from 09:00 to 11:45 and from …").
const SPANS: usize = 3;

fn hhmm(hour: u32, minute: u32) -> String {
    format!("{hour:02}:{minute:02}")
}

/// The times of day, and whether they are instants that read naturally only with their days
/// ("At 04:00" + " every day"); "Every 5 minutes" needs no "every day".
pub(super) fn describe(minutes: &[u32], hours: &[u32]) -> (String, bool) {
    let (Some(&first_minute), Some(&last_minute)) = (minutes.first(), minutes.last()) else {
        return (String::new(), false);
    };
    let instants = minutes.len() * hours.len();
    let listed = || {
        let times: Vec<String> = hours
            .iter()
            .flat_map(|&h| minutes.iter().map(move |&m| hhmm(h, m)))
            .collect();
        (format!("At {}", and_list(&times)), true)
    };
    if instants <= ALWAYS_LISTED {
        return listed();
    }
    // Within each hour that fires: every minute, or every N minutes from :00 on.
    let each_hour = match cyclic(minutes, 60) {
        _ if minutes.len() == 60 => Some("Every minute".to_string()),
        Some((0, step)) => Some(format!("Every {step} minutes")),
        _ => None,
    };
    if hours.len() == 24 {
        if let Some(words) = each_hour {
            return (words, false);
        }
        if let [minute] = minutes {
            return (format!("Every hour at :{minute:02}"), false);
        }
        if let Some((first, step)) = cyclic(minutes, 60).filter(|_| minutes.len() > LISTED) {
            return (format!("Every {step} minutes from :{first:02}"), false);
        }
        if minutes.len() <= LISTED && runs(minutes).iter().all(|(a, b)| b - a <= 1) {
            let at: Vec<String> = minutes.iter().map(|m| format!(":{m:02}")).collect();
            return (format!("Every hour at {}", and_list(&at)), false);
        }
        return fallback(minutes, hours);
    }
    let spans = runs(hours);
    if let [minute] = minutes {
        if let Some((0, step)) = cyclic(hours, 24) {
            return (format!("Every {step} hours at :{minute:02}"), false);
        }
        if let (Some((first, step)), Some(&last)) = (progression(hours), hours.last()) {
            let (from, to) = (hhmm(first, *minute), hhmm(last, *minute));
            return (format!("Every {step} hours from {from} to {to}"), false);
        }
        if spans.len() <= SPANS && spans.iter().all(|(a, b)| a < b) {
            let parts: Vec<String> = spans
                .iter()
                .map(|&(a, b)| format!("from {} to {}", hhmm(a, *minute), hhmm(b, *minute)))
                .collect();
            return (format!("Every hour {}", and_list(&parts)), false);
        }
    }
    if let Some(words) = each_hour.filter(|_| spans.len() <= SPANS) {
        let parts: Vec<String> = spans
            .iter()
            .map(|&(a, b)| format!("from {} to {}", hhmm(a, 0), hhmm(b, last_minute)))
            .collect();
        return (format!("{words} {}", and_list(&parts)), false);
    }
    if let [hour] = hours {
        let (from, to) = (hhmm(*hour, first_minute), hhmm(*hour, last_minute));
        if runs(minutes).len() == 1 {
            return (format!("Every minute from {from} to {to}"), false);
        }
        if let Some((_, step)) = progression(minutes) {
            return (format!("Every {step} minutes from {from} to {to}"), false);
        }
    }
    if instants <= LISTED {
        return listed();
    }
    fallback(minutes, hours)
}

/// The two fields as they are, compactly: "Every 7th minute of every 5th hour", "At minutes
/// 0-14 and 30 of hours 9-17".
fn fallback(minutes: &[u32], hours: &[u32]) -> (String, bool) {
    let last_minute = minutes.last().copied().unwrap_or(59);
    let minute_words = match (cyclic(minutes, 60), progression(minutes), minutes) {
        _ if minutes.len() == 60 => "Every minute".to_string(),
        (Some((0, step)), _, _) => format!("Every {step} minutes"),
        (_, Some((0, step)), _) if last_minute + step >= 60 => {
            format!("Every {} minute", ordinal(step))
        }
        (_, Some((first, step)), _) => format!(
            "Every {} minute from :{first:02} to :{last_minute:02}",
            ordinal(step)
        ),
        (_, _, [minute]) => format!("At minute {minute}"),
        _ => format!("At minutes {}", numbers(minutes)),
    };
    if hours.len() == 24 && minute_words.starts_with("Every") {
        return (minute_words, false);
    }
    let last_hour = hours.last().copied().unwrap_or(23);
    let hour_words = match (cyclic(hours, 24), progression(hours), hours) {
        _ if hours.len() == 24 => "every hour".to_string(),
        (Some((0, step)), _, _) => format!("every {} hour", ordinal(step)),
        (_, Some((0, step)), _) if last_hour + step >= 24 => {
            format!("every {} hour", ordinal(step))
        }
        (_, Some((first, step)), _) => {
            format!("every {} hour from {first} to {last_hour}", ordinal(step))
        }
        (_, _, [hour]) => format!("hour {hour}"),
        _ => format!("hours {}", numbers(hours)),
    };
    (format!("{minute_words} of {hour_words}"), false)
}
