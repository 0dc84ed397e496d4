//! The five-field cron grammar of `product.md` §3.1, checked strictly here and then handed to
//! `croner` for its bit sets and day matching. runwisp's own rules sit on top:
//!
//! - the grammar is exactly `*`, `N`, `A-B`, `*/S`, `A-B/S` and comma lists, with `JAN`-`DEC` and
//!   `SUN`-`SAT` names; croner's extensions (`L`, `W`, `#`, `?`, seconds, years) are refused;
//! - Vixie day semantics: when both day fields are restricted a day matches if either does; when
//!   either field starts with `*` both must match (croner's `dom_and_dow` is set for that case);
//! - an expression that can never fire is refused when parsed.

use croner::parser::CronParser;
use croner::{Cron, Weekday};
use jiff::civil::Date;

use super::words::Fields;

/// What a field may hold.
struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    names_start: u32,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: [FieldSpec; 5] = [
    FieldSpec {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        names_start: 0,
    },
    FieldSpec {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        names_start: 0,
    },
    FieldSpec {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
        names_start: 0,
    },
    FieldSpec {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        names_start: 1,
    },
    FieldSpec {
        name: "day-of-week",
        min: 0,
        max: 7,
        names: &DAYS,
        names_start: 0,
    },
];

/// A parsed five-field expression.
#[derive(Debug, Clone)]
pub struct CronExpr {
    cron: Cron,
    /// The values each field names, for [`CronExpr::describe`].
    pub(super) fields: Fields,
    /// True when the minute field starts with `*`, or the hour field starts with `*` and names
    /// every hour (`*`, `*/1`, `*,5`): such a task follows the wall clock across
    /// daylight-saving changes (§3.2). A stepped hour field like `*/6` names times of day.
    pub wall_clock: bool,
}

impl CronExpr {
    /// Parses `expr` (already expanded from any macro).
    pub fn parse(expr: &str) -> Result<Self, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            ));
        }
        for (field, spec) in fields.iter().zip(FIELDS.iter()) {
            check_field(field, spec)?;
        }
        let dom_and_dow = fields[2].starts_with('*') || fields[4].starts_with('*');
        let for_croner: Vec<String> = fields
            .iter()
            .zip(FIELDS.iter())
            .map(|(field, spec)| for_croner(field, spec))
            .collect();
        let cron = CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .year(croner::parser::Year::Disallowed)
            .dom_and_dow(dom_and_dow)
            .build()
            .parse(&for_croner.join(" "))
            .map_err(|e| format!("{e}"))?;
        let mut parsed = Self {
            cron,
            fields: Fields {
                minutes: values(fields[0], &FIELDS[0]),
                hours: values(fields[1], &FIELDS[1]),
                days: values(fields[2], &FIELDS[2]),
                months: values(fields[3], &FIELDS[3]),
                weekdays: values(fields[4], &FIELDS[4]),
                either_day: !dom_and_dow,
            },
            wall_clock: false,
        };
        let hour_every = fields[1].starts_with('*') && (0..24).all(|h| parsed.hour_matches(h));
        parsed.wall_clock = fields[0].starts_with('*') || hour_every;
        if !parsed.can_ever_fire() {
            return Err(
                "it can never fire: no calendar day matches its day and month fields".into(),
            );
        }
        Ok(parsed)
    }

    /// The expression in words, as a person would say it ("At 02:30 on Mondays"); see
    /// [`super::words`].
    pub fn describe(&self) -> String {
        super::words::describe(&self.fields)
    }

    pub fn minute_matches(&self, minute: u32) -> bool {
        self.cron.pattern.minute_match(minute).unwrap_or(false)
    }

    pub fn hour_matches(&self, hour: u32) -> bool {
        self.cron.pattern.hour_match(hour).unwrap_or(false)
    }

    /// Whether the calendar day matches the month and both day fields.
    pub fn date_matches(&self, date: Date) -> bool {
        let month = date.month() as u32;
        if !self.cron.pattern.month_match(month).unwrap_or(false) {
            return false;
        }
        let weekday = Weekday::from_days_from_sunday(date.weekday().to_sunday_zero_offset() as u32);
        self.cron
            .pattern
            .day_match(date.year() as i32, month, date.day() as u32, weekday)
            .unwrap_or(false)
    }

    /// Every (month, day, weekday) combination occurs within 28 consecutive years that do not
    /// cross a skipped century leap day, so 2000-2027 settles whether any day ever matches.
    fn can_ever_fire(&self) -> bool {
        let Ok(mut date) = Date::new(2000, 1, 1) else {
            return true;
        };
        while date.year() < 2028 {
            if self.date_matches(date) {
                return true;
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => return true,
            }
        }
        false
    }
}

fn check_field(field: &str, spec: &FieldSpec) -> Result<(), String> {
    let fail = |why: String| Err(format!("{} field {field:?}: {why}", spec.name));
    if field.is_empty() {
        return fail("is empty".into());
    }
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(0) => return fail("a step cannot be 0".into()),
                Ok(s) if s > spec.max => {
                    return fail(format!("step {s} is larger than {}", spec.max))
                }
                Ok(_) => {}
                Err(_) => return fail(format!("{step:?} is not a step number")),
            }
            if range != "*" && !range.contains('-') {
                return fail(format!(
                    "a step needs `*` or a range before it (`*/{step}` or `A-B/{step}`), not {range:?}"
                ));
            }
        }
        if range == "*" {
            continue;
        }
        let (low, high) = match range.split_once('-') {
            Some((a, b)) => (value(a, spec)?, value(b, spec)?),
            None => {
                let v = value(range, spec)?;
                (v, v)
            }
        };
        if low > high {
            return fail(format!("the range {range:?} runs backwards"));
        }
    }
    Ok(())
}

/// `field` (already checked) as croner should read it: names written as numbers, because croner
/// reads `-SUN` as 7 so `SUN-SUN` or `0-SUN` would mean every day while SUN is 0 here; and a
/// list holding a bare `*` written as the full range, because croner refuses `*,5` while such a
/// field names every value (not `*`: that would change how croner combines the day fields).
fn for_croner(field: &str, spec: &FieldSpec) -> String {
    if field.split(',').any(|item| item == "*") {
        return format!("{}-{}", spec.min, spec.max);
    }
    let number = |v: &str| value(v, spec).map_or_else(|_| v.to_string(), |n| n.to_string());
    field
        .split(',')
        .map(|item| {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (item, None),
            };
            let range = range.split('-').map(number).collect::<Vec<_>>().join("-");
            match step {
                Some(step) => format!("{range}/{step}"),
                None => range,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The sorted, distinct values a checked field names (day-of-week 7 read as 0, Sunday).
fn values(field: &str, spec: &FieldSpec) -> Vec<u32> {
    let mut out = std::collections::BTreeSet::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<usize>().unwrap_or(1).max(1)),
            None => (item, 1),
        };
        let (low, high) = match range.split_once('-') {
            _ if range == "*" => (spec.min, spec.max),
            Some((a, b)) => (
                value(a, spec).unwrap_or(spec.min),
                value(b, spec).unwrap_or(spec.max),
            ),
            None => {
                let v = value(range, spec).unwrap_or(spec.min);
                (v, v)
            }
        };
        out.extend(
            (low..=high)
                .step_by(step)
                .map(|v| if spec.max == 7 { v % 7 } else { v }),
        );
    }
    out.into_iter().collect()
}

fn value(text: &str, spec: &FieldSpec) -> Result<u32, String> {
    let upper = text.to_ascii_uppercase();
    if let Some(i) = spec.names.iter().position(|n| *n == upper) {
        return Ok(i as u32 + spec.names_start);
    }
    match text.parse::<u32>() {
        Ok(v) if (spec.min..=spec.max).contains(&v) => Ok(v),
        Ok(v) => Err(format!(
            "{} field: {v} is out of range {}-{}",
            spec.name, spec.min, spec.max
        )),
        Err(_) if text.is_empty() => {
            Err(format!("{} field: a range is missing a number", spec.name))
        }
        Err(_) => {
            let names = if spec.names.is_empty() {
                String::new()
            } else {
                format!(" or a name like {}", spec.names[0])
            };
            Err(format!(
                "{} field: {text:?} is not a number{names}",
                spec.name
            ))
        }
    }
}
