//! The configurations a reader copies work when pasted: every `toml` block of the README and
//! the deploy-hooks recipe of the reference documents (with its notifiers declared) load, with
//! the environment variables they name set as a reader would set them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

use std::path::Path;

use runwisp::engine::config::{load_str, NotifierKind};

/// Sets every variable a `FIELD_env = "NAME"` line names, to a value of the right shape.
fn set_env_named_in(text: &str) {
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if !key.ends_with("_env") {
            continue;
        }
        let value = value.split('#').next().unwrap_or_default();
        let name = value.trim().trim_matches('"');
        let fake = if key.contains("url") {
            "https://hooks.example.com/services/T000/B000/readme"
        } else {
            "123456:readme-token"
        };
        // Unique names per example; nothing else in this test binary reads them.
        std::env::set_var(name, fake);
    }
}

fn toml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// A folder with `cert.pem`, `key.pem` (for 127.0.0.1) and `ca.pem`, as the TLS example names.
fn tls_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
    std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
    dir
}

#[test]
fn every_toml_block_of_the_readme_loads() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let blocks = toml_blocks(&readme);
    assert!(blocks.len() >= 3, "the README's examples: {}", blocks.len());
    let tls = tls_files();
    for block in blocks {
        // The TLS example's files exist: the ones made here.
        let block = block.replace("/etc/runwisp/tls/", &format!("{}/", tls.path().display()));
        set_env_named_in(&block);
        if let Err(e) = load_str("README.md", &block, Path::new("runwisp.toml")) {
            panic!("a README example does not load:\n{block}\n{e}");
        }
    }
}

#[test]
fn the_deploy_hooks_recipe_loads_once_its_notifiers_are_declared() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/deploy_hooks.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    set_env_named_in(&text);
    let config = load_str("deploy_hooks.toml", &text, &path).unwrap();
    let ids: Vec<&str> = config.notifiers.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["slack-ops", "slack-deploys", "tg-oncall"]);
    assert!(matches!(
        config.notifiers[2].kind,
        NotifierKind::Telegram { .. }
    ));
    let deploy = config
        .tasks
        .values()
        .find(|t| t.common.name.as_str() == "deploy-app")
        .unwrap();
    assert_eq!(deploy.common.notify_on_success, ["slack-deploys"]);
    assert!(deploy.cron.is_none(), "manual and API only");
}
