//! `runwisp cron EXPR [--tz ZONE] [--from RFC3339] [-n N] [--json]`: the next firings of an
//! expression, computed by the scheduler's own code, under the expression in words and its
//! zone (`Every 5 minutes (UTC):`); `--json` prints the firings alone.

use anyhow::{anyhow, Context};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::engine::config::host_zone;
use crate::engine::schedule::Schedule;

pub fn run(
    expr: &str,
    tz: Option<&str>,
    from: Option<&str>,
    count: usize,
    json: bool,
) -> anyhow::Result<i32> {
    let schedule = Schedule::parse(expr).map_err(|e| anyhow!(e))?;
    let (zone, zone_name) = match tz {
        Some(name) => {
            let zone = TimeZone::get(name).map_err(|_| {
                anyhow!("unknown time zone {name:?} (use an IANA name such as \"Europe/Bratislava\" or \"UTC\")")
            })?;
            let canonical = zone.iana_name().unwrap_or(name).to_string();
            (zone, canonical)
        }
        None => host_zone(),
    };
    let from = match from {
        Some(text) => parse_instant(text)?,
        None => crate::engine::clock::Clock::now(&crate::engine::clock::SystemClock),
    };
    let firings: Vec<String> = schedule
        .upcoming(from, &zone, count)
        .into_iter()
        .map(|t| {
            t.to_zoned(zone.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .collect();
    if firings.len() < count {
        anyhow::bail!("{expr:?} does not fire {count} times in the next 30 years");
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&firings).context("encoding JSON")?
        );
    } else {
        println!("{} ({zone_name}):", schedule.describe());
        for f in firings {
            println!("{f}");
        }
    }
    Ok(0)
}

/// An RFC 3339 instant with its offset (`2025-03-09T01:00:00-05:00`, `2025-03-09T06:00:00Z`).
fn parse_instant(text: &str) -> anyhow::Result<Timestamp> {
    text.parse::<Timestamp>().map_err(|_| {
        anyhow!(
            "--from {text:?} is not an RFC 3339 instant with an offset, like 2025-03-09T01:00:00Z"
        )
    })
}
