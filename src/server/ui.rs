//! The web UI (`interfaces.md` §2): the files of `ui/`, embedded in the binary at build time
//! and served by the daemon. Every page of the UI (`/`, `/login`, `/runs`, `/runs/{id}`,
//! `/tasks/{name}`) answers the same HTML shell, so a deep link loads directly; the shell's
//! scripts then route on the path and ask the API for everything they show. The other files
//! are served under `/ui/{version}/{file}`, where `version` is a digest of every file: a new
//! build changes the URL, so an asset may be cached for a year (`Content::Asset`).
//!
//! Each file is gzip-compressed once, the first time the UI is asked for, and sent compressed
//! to a browser that accepts it. What the UI may do in the browser (CSP, framing) is the route
//! table's business; what it shows is the API's.

use std::collections::HashMap;
use std::io::Write;
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::errors::ApiError;

/// One file of `ui/`.
struct File {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

macro_rules! ui_file {
    ($name:literal, $mime:expr) => {
        File {
            name: $name,
            mime: $mime,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// The HTML shell every page answers; `%VERSION%` in it becomes [`Ui::version`].
const SHELL: File = ui_file!("index.html", "text/html; charset=utf-8");

/// Every other file of `ui/`, served under `/ui/{version}/`.
const FILES: &[File] = &[
    ui_file!("app.css", "text/css; charset=utf-8"),
    ui_file!("icon.svg", "image/svg+xml"),
    ui_file!("app.js", JS),
    ui_file!("api.js", JS),
    ui_file!("live.js", JS),
    ui_file!("dom.js", JS),
    ui_file!("sha256.js", JS),
    ui_file!("login.js", JS),
    ui_file!("overview.js", JS),
    ui_file!("runs.js", JS),
    ui_file!("task.js", JS),
    ui_file!("run.js", JS),
    ui_file!("tree.js", JS),
    ui_file!("log.js", JS),
    ui_file!("ansi.js", JS),
    ui_file!("bell.js", JS),
    ui_file!("hub.js", JS),
];

/// A file as served: as is, and gzip-compressed.
struct Served {
    mime: &'static str,
    plain: Vec<u8>,
    gzip: Vec<u8>,
}

impl Served {
    fn new(mime: &'static str, plain: Vec<u8>) -> Self {
        let gzip = gzip(&plain);
        Self { mime, plain, gzip }
    }

    /// The answer to a request with `headers`: compressed when the client accepts gzip.
    fn answer(&self, headers: &HeaderMap) -> Response {
        let compressed = accepts_gzip(headers) && !self.gzip.is_empty();
        let body = if compressed { &self.gzip } else { &self.plain };
        let mut response = body.clone().into_response();
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.mime));
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if compressed {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }
}

/// The embedded UI, prepared once.
struct Ui {
    version: String,
    shell: Served,
    files: HashMap<&'static str, Served>,
}

static UI: LazyLock<Ui> = LazyLock::new(|| {
    let version = version();
    let shell = String::from_utf8_lossy(SHELL.body).replace("%VERSION%", &version);
    Ui {
        shell: Served::new(SHELL.mime, shell.into_bytes()),
        files: FILES
            .iter()
            .map(|f| (f.name, Served::new(f.mime, f.body.to_vec())))
            .collect(),
        version,
    }
});

/// A digest of every file (names and contents): it changes whenever any file does.
fn version() -> String {
    let mut digest = Sha256::new();
    for file in std::iter::once(&SHELL).chain(FILES) {
        digest.update(file.name.as_bytes());
        digest.update([0]);
        digest.update((file.body.len() as u64).to_le_bytes());
        digest.update(file.body);
    }
    hex::encode(&digest.finalize()[..6])
}

/// `body` gzip-compressed; empty if compression failed (the file is then sent as is).
fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    match encoder.write_all(body).and_then(|()| encoder.finish()) {
        Ok(out) => out,
        Err(e) => {
            tracing::warn!("cannot compress a file of the web UI: {e}");
            Vec::new()
        }
    }
}

/// Whether `Accept-Encoding` names gzip (or `*`) with a non-zero weight.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// The version segment of this build's asset URLs.
pub fn asset_version() -> &'static str {
    &UI.version
}

/// Bytes of every file of the UI before compression.
pub fn total_size() -> usize {
    std::iter::once(&SHELL)
        .chain(FILES)
        .map(|f| f.body.len())
        .sum()
}

/// `GET /`, `/login`, `/runs`, `/runs/{id}`, `/tasks/{name}`: the shell. What the path names
/// is looked up by the page's scripts through the API, which validates it.
pub async fn page(headers: HeaderMap) -> Response {
    UI.shell.answer(&headers)
}

/// `GET /ui/{version}/{file}`: one file of this build.
pub async fn asset(
    Path((version, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if version != UI.version {
        return Err(ApiError::not_found(
            "this file belongs to another version of the web UI; reload the page",
        ));
    }
    UI.files
        .get(file.as_str())
        .map(|served| served.answer(&headers))
        .ok_or_else(|| ApiError::not_found("the web UI has no file of that name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's budget: all assets together under 150 KB before compression.
    #[test]
    fn the_assets_stay_under_150_kb() {
        assert!(total_size() < 150_000, "{} bytes", total_size());
    }

    /// The shell names its assets under this build's version, and only files that exist.
    #[test]
    fn the_shell_links_to_this_versions_files() {
        let shell = String::from_utf8_lossy(&UI.shell.plain).into_owned();
        assert!(!shell.contains("%VERSION%"));
        let prefix = format!("/ui/{}/", asset_version());
        let linked: Vec<&str> = shell
            .split(&prefix)
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(linked.contains(&"app.js") && linked.contains(&"app.css"));
        for name in linked {
            assert!(UI.files.contains_key(name), "{name}");
        }
    }

    /// Every module a script imports is served, and no page carries inline script or style.
    #[test]
    fn every_import_is_served_and_nothing_is_inline() {
        for file in FILES.iter().filter(|f| f.mime == JS) {
            let text = String::from_utf8_lossy(file.body);
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line
                    .rsplit("from ")
                    .next()
                    .unwrap_or(line)
                    .trim_matches(|c| c == '\'' || c == '"' || c == ';' || c == ' ');
                let target = target.trim_start_matches('\'').trim_start_matches("./");
                assert!(
                    UI.files.contains_key(target),
                    "{} imports {target}",
                    file.name
                );
            }
        }
        let shell = String::from_utf8_lossy(SHELL.body);
        assert!(!shell.contains("<script>") && !shell.contains("style="));
        assert!(!shell.contains("onclick") && !shell.contains("<style"));
    }

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
        let served = &UI.files["app.js"];
        assert!(served.gzip.len() < served.plain.len());
        let mut plain = Vec::new();
        let mut decoder = flate2::read::GzDecoder::new(served.gzip.as_slice());
        std::io::Read::read_to_end(&mut decoder, &mut plain).unwrap();
        assert_eq!(plain, served.plain);
    }
}
