//! Configuration fixtures: one small file per error kind under `tests/fixtures/config/`, each
//! checked against its exact message, line and column.

use super::*;

fn load(text: &str) -> Result<Config, ConfigErrors> {
    load_str(
        "runwisp.toml",
        text,
        std::path::Path::new("/srv/app/runwisp.toml"),
    )
}

#[test]
fn the_starter_file_loads() {
    let config = load(STARTER).expect("the starter runwisp.toml must be valid");
    assert!(config.tasks.len() >= 2);
}
