//! `runwisp status [--json]`: is a daemon healthy here (or at `--url`)? Version, uptime,
//! fingerprint, zone and listen address; exit 0 only when healthy. It only reads: a missing
//! data directory is reported, never created.

use serde_json::{json, Value};

use super::{remote, Cli};
use crate::client;

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
    let info = match remote::connect(&target).and_then(|c| Ok(c.get_json("/api/info")?)) {
        Ok(info) => info,
        Err(e) => {
            eprintln!("runwisp: the daemon is up, but its details need a login: {e}");
            Value::Null
        }
    };
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "url": target.url, "health": health, "info": info })
            )?
        );
        return Ok(0);
    }
    let uptime = health.get("uptime_s").and_then(Value::as_i64).unwrap_or(0);
    let uptime = crate::engine::config::units::format_duration(std::time::Duration::from_secs(
        uptime.max(0) as u64,
    ));
    println!(
        "runwisp {} is healthy at {}: fingerprint {}, up {uptime}, zone {}, listening on {}",
        field(&health, "version"),
        target.url,
        field(&health, "fingerprint"),
        field(&info, "timezone"),
        field(&info, "listen"),
    );
    Ok(0)
}
