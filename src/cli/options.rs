//! The groups of options that several commands share, each flattened into the commands it
//! applies to (and into bare `runwisp`, which starts the terminal UI and perhaps a daemon): where
//! the daemon listens, which daemon to talk to, and how the terminal UI looks.

use std::path::PathBuf;

use clap::Args;

/// Where the daemon listens (bare `runwisp`, `--headless`, `daemon`).
#[derive(Debug, Clone, Default, Args)]
pub struct ListenArgs {
    /// The address the daemon listens on (overrides [daemon] listen).
    #[arg(long, env = "RUNWISP_HOST")]
    pub host: Option<String>,
    /// The port the daemon listens on (overrides [daemon] listen).
    #[arg(long, env = "RUNWISP_PORT")]
    pub port: Option<u16>,
}

/// A daemon to talk to instead of the one of this data directory.
#[derive(Debug, Clone, Default, Args)]
pub struct RemoteArgs {
    /// A remote daemon to talk to (http://host:port, or https://host:port when it has TLS).
    #[arg(long, env = "RUNWISP_URL")]
    pub url: Option<String>,
    /// The daemon's password (for --url; a local daemon's is read from the data directory).
    #[arg(long, env = "RUNWISP_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Trust daemon certificates signed by this CA (a PEM file) instead of the public roots.
    #[arg(long, env = "RUNWISP_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Present this client certificate (a PEM file) to a daemon that asks for one.
    #[arg(long, env = "RUNWISP_CLIENT_CERT", value_name = "FILE")]
    pub client_cert: Option<PathBuf>,
    /// The private key (a PEM file) of --client-cert.
    #[arg(long, env = "RUNWISP_CLIENT_KEY", value_name = "FILE")]
    pub client_key: Option<PathBuf>,
}

/// How the terminal UI looks and which keys it takes.
#[derive(Debug, Clone, Default, Args)]
pub struct LookArgs {
    /// The terminal UI's theme: dark, light, high-contrast, ansi16, or a theme file [default:
    /// dark].
    #[arg(long, env = "RUNWISP_THEME")]
    pub theme: Option<String>,
    /// The terminal UI's keymap: vim, emacs, or a file laid over the default.
    #[arg(long, env = "RUNWISP_KEYMAP")]
    pub keymap: Option<String>,
}

/// The theme when none is given.
pub const DEFAULT_THEME: &str = "dark";
