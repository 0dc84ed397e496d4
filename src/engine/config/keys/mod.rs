//! Every key of `runwisp.toml` as data: its name, the kind of value it takes (with ranges,
//! choices and whether zero is allowed), whether it is required, and one sentence about it.
//! The loader reads these tables (the known keys of each table, the ranges and choices it
//! checks) and `schema.rs` turns the same tables into the JSON Schema `runwisp schema` prints,
//! so the two cannot drift apart. Rules that are code, not data (cron syntax, zone names, a
//! listen address, exactly one secret source, …) stay in the loader; the schema is looser there.
//!
//! The tables live in submodules by group (`tasks`: the top level, `[defaults]`, tasks and
//! services; `sections`: the other sections and routes; `notifiers`: `[[notifier]]`), all
//! re-exported here.

mod notifiers;
mod sections;
mod tasks;

pub(crate) use notifiers::*;
pub(crate) use sections::*;
pub(crate) use tasks::*;

use super::{
    Backoff, CatchUp, EmailTls, LogDestination, LogFormat, LogOnFull, OnInterrupt, OnOverlap,
    Restart,
};

/// The kind of value a key takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Any string (its shape, if any, is checked by the loader's code).
    Text,
    /// A duration string (`units::parse_duration`); `positive` rejects zero.
    Duration {
        positive: bool,
    },
    /// A size string or a bare integer of bytes (`units::parse_size`); `positive` rejects zero.
    Size {
        positive: bool,
    },
    /// An integer within `min..=max`.
    Integer {
        min: i64,
        max: i64,
    },
    Bool,
    /// An array of strings; `non_empty` rejects `[]`.
    List {
        non_empty: bool,
    },
    /// One of a closed set of strings.
    Choice(fn() -> Vec<&'static str>),
    /// A non-empty array of strings, each one of a closed set.
    ChoiceList(fn() -> Vec<&'static str>),
    /// A table whose values are all strings (`env`, `headers`).
    StringMap,
    /// A string or an integer (a Telegram `chat_id`).
    TextOrInteger,
    /// A sub-table with its own keys.
    Table(&'static [Key]),
    /// An array of tables (`[[notification_route]]`).
    TableArray(&'static [Key]),
    /// A table of named tables (`[tasks.NAME]`), each with the keys of all the lists.
    Named(&'static [&'static [Key]]),
    /// A pipeline's `steps` (or a group's `parallel`): names or step tables.
    Steps,
    /// `[[notifier]]`: an array of tables whose keys depend on `type` ([`NOTIFIER_TYPES`]).
    Notifiers,
}

/// One key of a table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    pub name: &'static str,
    pub kind: Kind,
    /// The loader reports a missing key.
    pub required: bool,
    pub doc: &'static str,
}

impl Key {
    const fn new(name: &'static str, kind: Kind, doc: &'static str) -> Key {
        Key {
            name,
            kind,
            required: false,
            doc,
        }
    }

    const fn required(self) -> Key {
        Key {
            required: true,
            ..self
        }
    }
}

/// The names of some tables of keys, for `Fields::check_keys`.
pub(crate) fn names(tables: &[&[Key]]) -> Vec<&'static str> {
    tables
        .iter()
        .flat_map(|t| t.iter().map(|k| k.name))
        .collect()
}

fn choice_names<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
    table.iter().map(|(name, _)| *name).collect()
}

// The closed sets, with the value each spelling stands for.

pub(crate) const LOG_ON_FULL: &[(&str, LogOnFull)] = &[
    ("drop_old", LogOnFull::DropOld),
    ("drop_new", LogOnFull::DropNew),
    ("kill_task", LogOnFull::KillTask),
];

pub(crate) const BACKOFF: &[(&str, Backoff)] = &[
    ("constant", Backoff::Constant),
    ("linear", Backoff::Linear),
    ("exponential", Backoff::Exponential),
];

pub(crate) const CATCH_UP: &[(&str, CatchUp)] = &[
    ("latest", CatchUp::Latest),
    ("all", CatchUp::All),
    ("skip", CatchUp::Skip),
];

pub(crate) const ON_INTERRUPT: &[(&str, OnInterrupt)] = &[
    ("retry", OnInterrupt::Retry),
    ("continue", OnInterrupt::Continue),
    ("fail", OnInterrupt::Fail),
];

pub(crate) const ON_OVERLAP: &[(&str, OnOverlap)] = &[
    ("queue", OnOverlap::Queue),
    ("skip", OnOverlap::Skip),
    ("terminate", OnOverlap::Terminate),
];

/// `restart` on a task; `always` is refused with its own message (use a service).
pub(crate) const RESTART: &[(&str, Restart)] = &[
    ("never", Restart::Never),
    ("on_failure", Restart::OnFailure),
];

pub(crate) const LOG_FORMATS: &[(&str, LogFormat)] =
    &[("text", LogFormat::Text), ("json", LogFormat::Json)];

pub(crate) const LOG_DESTINATIONS: &[(&str, LogDestination)] = &[
    ("file", LogDestination::File),
    ("journald", LogDestination::Journald),
];

pub(crate) const EMAIL_TLS: &[(&str, EmailTls)] = &[
    ("starttls", EmailTls::StartTls),
    ("implicit", EmailTls::Implicit),
    ("none", EmailTls::None),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn all_tables() -> Vec<(&'static str, &'static [Key])> {
        let mut out = vec![
            ("top", TOP),
            ("common", COMMON),
            ("task", TASK),
            ("service", SERVICE),
            ("defaults", DEFAULTS),
            ("scheduler", SCHEDULER),
            ("daemon", DAEMON),
            ("storage", STORAGE),
            ("notify", NOTIFY),
            ("route", ROUTE),
            ("match", ROUTE_MATCH),
            ("notifier", NOTIFIER),
        ];
        for t in NOTIFIER_TYPES {
            out.push((t.name, t.plain));
            out.push((t.name, t.secrets));
        }
        out
    }

    #[test]
    fn no_table_names_a_key_twice_and_every_key_is_described() {
        for (table, keys) in all_tables() {
            let mut seen = std::collections::BTreeSet::new();
            for k in keys {
                assert!(seen.insert(k.name), "{table}: {} twice", k.name);
                assert!(k.doc.ends_with('.'), "{table}.{}: {:?}", k.name, k.doc);
            }
        }
        let shared: Vec<_> = names(&[COMMON])
            .into_iter()
            .filter(|k| names(&[TASK, SERVICE]).contains(k))
            .collect();
        assert!(shared.is_empty(), "{shared:?}");
    }
}
