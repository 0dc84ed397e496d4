//! `runwisp validate`: load the configuration, print every error, exit 0 or 1.

use super::{load_config, Cli};

pub fn run(cli: &Cli) -> anyhow::Result<i32> {
    let Some(config) = load_config(&cli.config)? else {
        return Ok(1);
    };
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let pipelines = config.pipelines().count();
    let mut counts = vec![
        count(config.tasks.len() - pipelines, "task"),
        count(config.services.len(), "service"),
    ];
    if pipelines > 0 {
        counts.push(count(pipelines, "pipeline"));
    }
    println!("{} is valid: {}", cli.config.display(), counts.join(", "));
    Ok(0)
}
