//! The groups of options that several commands share, each flattened into the commands it
//! applies to (and into bare `runwisp`, which starts the terminal UI and perhaps a daemon): where
//! the daemon listens, which daemon to talk to, and how the terminal UI looks.

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
    /// A remote daemon to talk to (http://host:port).
    #[arg(long, env = "RUNWISP_URL")]
    pub url: Option<String>,
    /// The daemon's password (for --url; a local daemon's is read from the data directory).
    #[arg(long, env = "RUNWISP_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
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
