//! `runwisp validate`: load the configuration, print every error, exit 0 or 1.

use super::{load_config, Cli};

pub fn run(cli: &Cli) -> anyhow::Result<i32> {
    let Some(config) = load_config(&cli.config)? else {
        return Ok(1);
    };
    println!(
        "{} is valid: {} task{}, {} service{}",
        cli.config.display(),
        config.tasks.len(),
        if config.tasks.len() == 1 { "" } else { "s" },
        config.services.len(),
        if config.services.len() == 1 { "" } else { "s" },
    );
    Ok(0)
}
