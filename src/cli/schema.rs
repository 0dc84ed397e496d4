//! `runwisp schema`: print the JSON Schema (draft 2020-12) of `runwisp.toml`, generated from
//! the key tables the loader reads, for editors with a TOML language server.

/// The schema as `runwisp schema` prints it and `runwisp init` writes it: pretty JSON and a
/// final newline.
pub fn text() -> anyhow::Result<String> {
    let schema = crate::engine::config::json_schema();
    Ok(format!("{}\n", serde_json::to_string_pretty(&schema)?))
}

pub fn run() -> anyhow::Result<i32> {
    print!("{}", text()?);
    Ok(0)
}
