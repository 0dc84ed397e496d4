//! `runwisp status [--json]`: is a daemon healthy here (or at `--url`)? Version, uptime,
//! fingerprint, zone and listen address; exit 0 only when healthy. It only reads: a missing
//! data directory is reported, never created.

use serde::Serialize;

use super::{remote, Cli};
use crate::{api, client};

pub fn run(cli: &Cli, json_out: bool) -> anyhow::Result<i32> {
    let Some(target) = remote::find(cli)? else {
        if remote::existing_data_dir(cli)?.is_none() {
            say!(
                "runwisp: no runwisp daemon is running here: {}",
                remote::no_data_dir(&cli.data)
            );
        } else {
            say!(
                "runwisp: no runwisp daemon is running for data directory {}",
                cli.data.display()
            );
        }
        return Ok(1);
    };
    let health = match client::health(&target.url) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("runwisp: {e}");
            return Ok(1);
        }
    };
    // The zone and listen address need a login; health alone still answers the question, and
    // why they are missing is said on stderr.
    let info = match remote::connect(&target).and_then(|c| Ok(c.get::<api::Info>("/api/info")?)) {
        Ok(info) => Some(info),
        Err(e) => {
            eprintln!("runwisp: the daemon is up, but its details need a login: {e}");
            None
        }
    };
    if json_out {
        let out = Status {
            url: &target.url,
            health: &health,
            info: info.as_ref(),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(0);
    }
    let uptime = crate::engine::config::units::format_duration(std::time::Duration::from_secs(
        health.uptime_s.max(0) as u64,
    ));
    let (zone, listen) = info
        .as_ref()
        .map_or(("?", "?"), |i| (i.timezone.as_str(), i.listen.as_str()));
    println!(
        "runwisp {} is healthy at {}: fingerprint {}, up {uptime}, zone {zone}, listening on {listen}",
        health.version, target.url, health.fingerprint,
    );
    if let Some(note) = info.as_ref().and_then(api::Info::config_note) {
        println!("{note}");
    }
    Ok(0)
}

/// `runwisp status --json`: where the daemon answers, its health, and its details (null when
/// they needed a login that failed).
#[derive(Serialize)]
struct Status<'a> {
    url: &'a str,
    health: &'a api::Health,
    info: Option<&'a api::Info>,
}
