//! `runwisp notify test ID`: sends one test message through a `[[notifier]]` via the daemon
//! (`notifications.md` §4) and prints the channel's answer, `ID (TYPE): delivered — DETAIL`;
//! exit 0 only when it was delivered. An unknown id gets the daemon's own sentence.

use super::{remote, Cli};
use crate::api::{NotifierTest, TestOutcome};

pub fn test(cli: &Cli, id: &str) -> anyhow::Result<i32> {
    let target = remote::require(cli)?;
    let client = remote::connect(&target)?;
    let answer = client.test_notifier(id)?;
    println!("{}", line(&answer));
    Ok(if answer.outcome == TestOutcome::Delivered {
        0
    } else {
        1
    })
}

/// `hook (webhook): delivered — HTTP 200`.
fn line(answer: &NotifierTest) -> String {
    let outcome = match answer.outcome {
        TestOutcome::Delivered => "delivered",
        TestOutcome::Retry => "retry",
        TestOutcome::Failed => "failed",
    };
    let detail = if answer.detail.is_empty() {
        String::new()
    } else {
        format!(" — {}", answer.detail)
    };
    format!("{} ({}): {outcome}{detail}", answer.notifier, answer.r#type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_notifier_its_type_and_the_outcome() {
        let answer = NotifierTest {
            notifier: "hook".into(),
            r#type: "webhook".into(),
            outcome: TestOutcome::Failed,
            detail: "HTTP 404".into(),
        };
        assert_eq!(line(&answer), "hook (webhook): failed — HTTP 404");
    }
}
