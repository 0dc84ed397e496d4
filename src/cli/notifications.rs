//! `runwisp notifications [--unread] [--json] [-n N]`: the daemon's in-app notifications
//! (`notifications.md` §3), newest first, as a table or as the API's page; through the local
//! daemon, or the one at `--url`.

use anyhow::Context;

use super::{remote, table, Cli};
use crate::api::{NotificationObject, NotificationPage};

pub fn run(cli: &Cli, unread: bool, json: bool, limit: u32) -> anyhow::Result<i32> {
    let target = remote::require(cli)?;
    let client = remote::connect(&target)?;
    let page = client.notifications(unread, limit.clamp(1, 1000), None)?;
    print(&page, json, unread)
}

/// The page as JSON, or as a table of its notifications.
fn print(page: &NotificationPage, json: bool, unread: bool) -> anyhow::Result<i32> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(page).context("encoding JSON")?
        );
        return Ok(0);
    }
    if page.notifications.is_empty() {
        if unread {
            println!("there are no unread notifications");
        } else {
            println!("there are no notifications");
        }
        return Ok(0);
    }
    let zone = jiff::tz::TimeZone::system();
    let rows: Vec<Vec<String>> = page.notifications.iter().map(|n| row(n, &zone)).collect();
    table::print(&["", "LAST", "SEVERITY", "COUNT", "TASK", "TITLE"], &rows);
    Ok(0)
}

/// One line of the table: `•` while unread, the last occurrence in local time, the severity,
/// `×N` when it stands for several events, the task and the headline.
fn row(n: &NotificationObject, zone: &jiff::tz::TimeZone) -> Vec<String> {
    vec![
        if n.read_at.is_none() { "•" } else { "" }.to_string(),
        local_time(&n.last_at, zone),
        n.severity.to_string(),
        if n.count > 1 {
            format!("×{}", n.count)
        } else {
            String::new()
        },
        n.task_name.clone().unwrap_or_else(|| "-".into()),
        n.title.clone(),
    ]
}

/// An RFC 3339 instant as `YYYY-MM-DD HH:MM:SS` in `zone`; as given when it cannot be read.
fn local_time(rfc3339: &str, zone: &jiff::tz::TimeZone) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| {
            t.to_zoned(zone.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::{NotifyKind, Severity};

    fn object(count: u32, read: bool) -> NotificationObject {
        NotificationObject {
            id: "01J9ZK8Q4V6T3M2N1P0R5S7W8X".into(),
            kind: NotifyKind::RunFailed,
            severity: Severity::Error,
            task_name: Some("backup".into()),
            run_id: None,
            title: "backup failed (exit 3)".into(),
            body: String::new(),
            count,
            occurrences: Vec::new(),
            created_at: "2025-03-01T02:00:00.000Z".into(),
            last_at: "2025-03-01T02:02:14.000Z".into(),
            read_at: read.then(|| "2025-03-01T03:00:00.000Z".into()),
        }
    }

    #[test]
    fn a_row_shows_unread_count_and_local_time() {
        let zone = jiff::tz::TimeZone::get("Europe/Bratislava").unwrap();
        assert_eq!(
            row(&object(3, false), &zone),
            [
                "•",
                "2025-03-01 03:02:14",
                "error",
                "×3",
                "backup",
                "backup failed (exit 3)"
            ]
        );
        let read = row(&object(1, true), &zone);
        assert_eq!((read[0].as_str(), read[3].as_str()), ("", ""));
    }
}
