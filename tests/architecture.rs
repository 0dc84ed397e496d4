//! The engine knows nothing of its interfaces (`DESIGN.md` §1): no file under `src/engine`
//! imports clap, ratatui, crossterm, axum or the cli/tui/server/client modules.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/engine") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_engine_imports_no_interface() {
    let forbidden = ["clap", "ratatui", "crossterm", "axum", "tiny_http", "ureq"];
    let interfaces = ["crate::cli", "crate::tui", "crate::server", "crate::client"];
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine"),
        &mut files,
    );
    assert!(files.len() > 10, "found the engine's files");
    let mut leaks = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            let uses_crate = forbidden.iter().any(|c| {
                code.starts_with(&format!("use {c}::"))
                    || code.contains(&format!(" {c}::"))
                    || code.starts_with(&format!("{c}::"))
            });
            let uses_interface = interfaces.iter().any(|m| code.contains(m));
            if uses_crate || uses_interface {
                leaks.push(format!("{}:{}: {}", file.display(), n + 1, code));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "the engine imports an interface:\n{}",
        leaks.join("\n")
    );
}
