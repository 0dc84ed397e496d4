//! `runwisp token create|list|revoke`: scoped tokens for CI (`webhooks.md` §2). Through the
//! daemon's API (`/api/tokens`: the local daemon, or the one at `--url` with its password),
//! or, when no daemon runs for this data directory, directly in its history. `create` prints
//! the token alone on stdout, this once; nothing else ever shows it.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;

use super::options::RemoteArgs;
use super::{load_config, remote, table, Cli};
use crate::api::{CreateToken, CreatedToken, TokenList, TokenObject};
use crate::engine::auth::tokens::{self, NewToken, TokenError, TokenName, TokenScope};
use crate::engine::clock::{Clock, SystemClock};
use crate::engine::config::units::parse_duration;
use crate::engine::datadir::DataDir;
use crate::engine::model::TaskName;
use crate::engine::store::Store;

/// What `runwisp token` does.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token and print it, this once (only its SHA-256 is kept).
    Create {
        /// Its name: letters, digits, '-' and '_'.
        name: String,
        /// A task it may start and read (its runs and their logs); repeat for more.
        #[arg(long = "task", value_name = "TASK")]
        tasks: Vec<String>,
        /// Reads of its tasks only: it may not start them.
        #[arg(long)]
        read: bool,
        /// It may read /metrics.
        #[arg(long)]
        metrics: bool,
        /// It expires after this long (90d, 12h, 1w) [default: never].
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// Print the token and what was stored as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// List the tokens: names, scopes, creation, expiry and last use (never the tokens).
    List {
        /// Print the list as JSON (the API's token objects).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Revoke a token: it is refused from now on.
    Revoke {
        /// The token's name.
        name: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

impl TokenAction {
    pub fn remote(&self) -> &RemoteArgs {
        match self {
            TokenAction::Create { remote, .. }
            | TokenAction::List { remote, .. }
            | TokenAction::Revoke { remote, .. } => remote,
        }
    }
}

pub fn run(cli: &Cli, action: &TokenAction) -> anyhow::Result<i32> {
    match action {
        TokenAction::Create {
            name,
            tasks,
            read,
            metrics,
            expires,
            json,
            ..
        } => {
            let expires_in = match expires {
                Some(text) => Some(parse_duration(text).map_err(|e| anyhow!("--expires: {e}"))?),
                None => None,
            };
            let request = CreateToken {
                name: name.clone(),
                tasks: tasks.clone(),
                read_only: *read,
                metrics: *metrics,
                expires_in_s: expires_in.map(|d| d.as_secs().max(1)),
            };
            let Some(created) = create(cli, &request, expires_in)? else {
                return Ok(1);
            };
            if *json {
                println!("{}", serde_json::to_string_pretty(&created)?);
            } else {
                println!("{}", created.token);
                say!(
                    "runwisp: token {:?} created ({}); it is shown this once, keep it in your CI's secrets",
                    created.about.name,
                    scope_text(&created.about)
                );
            }
            Ok(0)
        }
        TokenAction::List { json, .. } => {
            let list = list(cli)?;
            print_list(&list, *json)
        }
        TokenAction::Revoke { name, .. } => {
            revoke(cli, name)?;
            println!("revoked token {name:?}");
            Ok(0)
        }
    }
}

/// Creates the token through the daemon, or in the history when none runs; `None` when the
/// configuration has errors (printed).
fn create(
    cli: &Cli,
    request: &CreateToken,
    expires_in: Option<Duration>,
) -> anyhow::Result<Option<CreatedToken>> {
    if let Some(target) = remote::find(cli)? {
        let client = remote::connect(&target)?;
        return Ok(Some(client.create_token(request)?));
    }
    let name = TokenName::parse(&request.name)?;
    let tasks = request
        .tasks
        .iter()
        .map(|t| TaskName::parse(t).map_err(|e| anyhow!("{t:?} is not a valid task name: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Task names are checked against the configuration, as the daemon checks them.
    let Some(config) = load_config(&cli.config)? else {
        return Ok(None);
    };
    if let Some(unknown) = tasks.iter().find(|t| !config.tasks.contains_key(*t)) {
        return Err(TokenError::UnknownTask(unknown.to_string()).into());
    }
    let dir = DataDir::open(&cli.data)?;
    let store = Store::open(&dir.db_path())?;
    let new = NewToken {
        name,
        scope: TokenScope {
            tasks,
            trigger: !request.read_only,
            metrics: request.metrics,
        },
        expires_in,
    };
    let (token, about) = tokens::create(&store, &new, SystemClock.now().as_millisecond())?;
    Ok(Some(CreatedToken {
        token,
        about: about.into(),
    }))
}

fn list(cli: &Cli) -> anyhow::Result<TokenList> {
    if let Some(target) = remote::find(cli)? {
        let client = remote::connect(&target)?;
        return Ok(client.tokens()?);
    }
    let Some(dir) = remote::existing_data_dir(cli)? else {
        return Ok(TokenList { tokens: Vec::new() });
    };
    if !dir.db_path().exists() {
        return Ok(TokenList { tokens: Vec::new() });
    }
    let store = Store::open_read_only(&dir.db_path())?;
    Ok(TokenList {
        tokens: tokens::list(&store)?
            .into_iter()
            .map(TokenObject::from)
            .collect(),
    })
}

fn revoke(cli: &Cli, name: &str) -> anyhow::Result<()> {
    if let Some(target) = remote::find(cli)? {
        let client = remote::connect(&target)?;
        client.revoke_token(name)?;
        return Ok(());
    }
    let name = TokenName::parse(name)?;
    let Some(dir) = remote::existing_data_dir(cli)? else {
        bail!(TokenError::NoSuchToken(name.to_string()));
    };
    let store = Store::open(&dir.db_path())
        .with_context(|| format!("cannot open the history in {}", dir.root().display()))?;
    tokens::revoke(&store, &name)?;
    Ok(())
}

/// `deploy, web: start and read, metrics`.
fn scope_text(t: &TokenObject) -> String {
    let mut parts = Vec::new();
    if !t.tasks.is_empty() {
        let what = if t.read_only {
            "read"
        } else {
            "start and read"
        };
        parts.push(format!("{}: {what}", t.tasks.join(", ")));
    }
    if t.metrics {
        parts.push("metrics".to_string());
    }
    parts.join("; ")
}

fn print_list(list: &TokenList, json: bool) -> anyhow::Result<i32> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(list).context("encoding JSON")?
        );
        return Ok(0);
    }
    if list.tokens.is_empty() {
        println!("there are no tokens; create one with `runwisp token create NAME --task TASK`");
        return Ok(0);
    }
    let when = |t: &Option<String>, none: &str| t.clone().unwrap_or_else(|| none.to_string());
    let rows: Vec<Vec<String>> = list
        .tokens
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                scope_text(t),
                t.created_at.clone(),
                when(&t.expires_at, "never"),
                when(&t.last_used_at, "never"),
            ]
        })
        .collect();
    table::print(&["NAME", "SCOPE", "CREATED", "EXPIRES", "LAST USED"], &rows);
    Ok(0)
}
