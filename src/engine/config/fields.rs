//! A small reader over one TOML table that records every problem instead of stopping at the
//! first: unknown keys (with suggestions), keys that belong elsewhere, wrong types, values out of
//! range. Section parsers in `load.rs` ask it for typed values; it never panics on input.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::errors::{did_you_mean, ConfigError, SourceMap};
use super::keys::{Key, Kind};
use super::units::{parse_duration, parse_size, MAX_SIZE};

/// Collects errors and warnings while a file is read.
pub(crate) struct Ctx<'s> {
    pub map: SourceMap<'s>,
    pub errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    pub fn error(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) {
        let e = self.map.error(span, path, message.into());
        self.errors.push(e);
    }
}

/// One table being read, with its dotted path.
pub(crate) struct Fields<'a, 'i> {
    pub table: &'a DeTable<'i>,
    pub path: String,
    pub span: Range<usize>,
}

/// Appends `key` to a dotted path, quoted as TOML would when it is not a bare key
/// (`tasks."backup.db".run`), so every path is unambiguous.
pub(crate) fn join_path(path: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'a, 'i> Fields<'a, 'i> {
    pub fn new(table: &'a DeTable<'i>, path: impl Into<String>, span: Range<usize>) -> Self {
        Self {
            table,
            path: path.into(),
            span,
        }
    }

    pub fn key_path(&self, key: &str) -> String {
        join_path(&self.path, key)
    }

    /// Where `key` itself (not its value) is written, for errors about the key.
    pub fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.table.get_key_value(key).map(|(k, _)| k.span())
    }

    /// Reports every key that is neither known nor explicitly rejected; rejected keys get their
    /// own explanation instead of a generic "unknown key".
    pub fn check_keys(&self, ctx: &mut Ctx<'_>, known: &[&str], rejected: &[(&str, &str)]) {
        for (key, value) in self.table.iter() {
            let name = key.get_ref().as_ref();
            if known.contains(&name) {
                continue;
            }
            let path = self.key_path(name);
            if let Some((_, why)) = rejected.iter().find(|(k, _)| *k == name) {
                ctx.error(key.span(), &path, *why);
                continue;
            }
            let section = self.path.is_empty() && value.get_ref().is_table();
            let message = match (did_you_mean(name, known), section) {
                (Some(s), true) => format!("unknown section `[{name}]`; did you mean `[{s}]`?"),
                (None, true) => format!("unknown section `[{name}]`"),
                (Some(s), false) => format!("unknown key `{name}`; did you mean `{s}`?"),
                (None, false) => format!("unknown key `{name}`"),
            };
            ctx.error(key.span(), &path, message);
        }
    }

    /// `check_keys` against the keys of tables in `keys/`.
    pub fn check_table(&self, ctx: &mut Ctx<'_>, tables: &[&[Key]], rejected: &[(&str, &str)]) {
        self.check_keys(ctx, &super::keys::names(tables), rejected);
    }

    /// An integer key, in the range its table entry gives.
    pub fn key_integer(&self, ctx: &mut Ctx<'_>, key: &Key) -> Option<i64> {
        debug_assert!(matches!(key.kind, Kind::Integer { .. }), "{}", key.name);
        let (min, max) = match key.kind {
            Kind::Integer { min, max } => (min, max),
            _ => (i64::MIN, i64::MAX),
        };
        self.integer(ctx, key.name, min, max)
    }

    /// A duration key, positive when its table entry says so.
    pub fn key_duration(&self, ctx: &mut Ctx<'_>, key: &Key) -> Option<Duration> {
        debug_assert!(matches!(key.kind, Kind::Duration { .. }), "{}", key.name);
        let positive = matches!(key.kind, Kind::Duration { positive: true });
        self.duration(ctx, key.name, positive)
    }

    /// A size key, positive when its table entry says so.
    pub fn key_size(&self, ctx: &mut Ctx<'_>, key: &Key) -> Option<u64> {
        debug_assert!(matches!(key.kind, Kind::Size { .. }), "{}", key.name);
        let positive = matches!(key.kind, Kind::Size { positive: true });
        self.size(ctx, key.name, positive)
    }

    /// A choice key; `values` maps the spellings its table entry lists to values.
    pub fn key_choice<T: Copy>(
        &self,
        ctx: &mut Ctx<'_>,
        key: &Key,
        values: &[(&str, T)],
    ) -> Option<T> {
        debug_assert!(
            matches!(key.kind, Kind::Choice(names) if names() == values.iter().map(|(n, _)| *n).collect::<Vec<_>>()),
            "{}",
            key.name
        );
        self.choice(ctx, key.name, values)
    }

    pub fn get(&self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.table.get(key)
    }

    fn typed<T>(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        want: &str,
        pick: impl FnOnce(&DeValue<'i>) -> Option<T>,
    ) -> Option<(T, Range<usize>)> {
        let value = self.get(key)?;
        match pick(value.get_ref()) {
            Some(v) => Some((v, value.span())),
            None => {
                let found = type_name(value.get_ref());
                ctx.error(
                    value.span(),
                    &self.key_path(key),
                    format!("expected {want}, found {found}"),
                );
                None
            }
        }
    }

    pub fn string(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<(String, Range<usize>)> {
        self.typed(ctx, key, "a string", |v| v.as_str().map(str::to_string))
    }

    pub fn boolean(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<bool> {
        self.typed(ctx, key, "true or false", DeValue::as_bool)
            .map(|(v, _)| v)
    }

    /// An integer within `min..=max`.
    pub fn integer(&self, ctx: &mut Ctx<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
        let (text, span) = self.typed(ctx, key, "an integer", |v| {
            v.as_integer()
                .map(|i| (i.as_str().replace('_', ""), i.radix()))
        })?;
        let value = i64::from_str_radix(text.0.trim_start_matches('+'), text.1).ok();
        match value {
            Some(v) if (min..=max).contains(&v) => Some(v),
            _ => {
                let shown = value.map(|v| v.to_string()).unwrap_or(text.0);
                ctx.error(
                    span,
                    &self.key_path(key),
                    format!("must be between {min} and {max} (got {shown})"),
                );
                None
            }
        }
    }

    /// A duration string; `positive` rejects zero.
    pub fn duration(&self, ctx: &mut Ctx<'_>, key: &str, positive: bool) -> Option<Duration> {
        let want = "a duration such as \"30s\" or \"5m\"";
        let (text, span) = self.typed(ctx, key, want, |v| v.as_str().map(str::to_string))?;
        match parse_duration(&text) {
            Ok(d) if positive && d.is_zero() => {
                ctx.error(
                    span,
                    &self.key_path(key),
                    format!("must be a positive duration (got {text:?})"),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                ctx.error(span, &self.key_path(key), e);
                None
            }
        }
    }

    /// A size string or a bare integer of bytes; `positive` rejects zero.
    pub fn size(&self, ctx: &mut Ctx<'_>, key: &str, positive: bool) -> Option<u64> {
        let value = self.get(key)?;
        let span = value.span();
        let parsed = match value.get_ref() {
            DeValue::String(s) => parse_size(s),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(v) if v < 0 => Err(format!("a size cannot be negative (got {v})")),
                Ok(v) if v as u64 > MAX_SIZE => Err(format!(
                    "{v} is larger than 1024tb, the largest size runwisp takes"
                )),
                Ok(v) => Ok(v as u64),
                Err(_) => Err(format!("{} is too large a size", i.as_str())),
            },
            other => Err(format!(
                "expected a size such as \"10MB\", found {}",
                type_name(other)
            )),
        };
        match parsed {
            Ok(0) if positive => {
                let shown = match value.get_ref().as_str() {
                    Some(s) => format!("{s:?}"),
                    None => "0".to_string(),
                };
                ctx.error(
                    span,
                    &self.key_path(key),
                    format!("must be a positive size (got {shown})"),
                );
                None
            }
            Ok(v) => Some(v),
            Err(e) => {
                ctx.error(span, &self.key_path(key), e);
                None
            }
        }
    }

    /// One of a closed set of strings.
    pub fn choice<T: Copy>(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let (text, span) = self.string(ctx, key)?;
        if let Some((_, v)) = choices.iter().find(|(name, _)| *name == text) {
            return Some(*v);
        }
        let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
        ctx.error(
            span,
            &self.key_path(key),
            format!("{text:?} is not one of {}", names.join(", ")),
        );
        None
    }

    /// An array of strings.
    pub fn string_list(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Vec<(String, Range<usize>)>> {
        let value = self.get(key)?;
        let Some(array) = value.get_ref().as_array() else {
            let found = type_name(value.get_ref());
            ctx.error(
                value.span(),
                &self.key_path(key),
                format!("expected an array of strings, found {found}"),
            );
            return None;
        };
        let mut out = Vec::new();
        for item in array.iter() {
            match item.get_ref().as_str() {
                Some(s) => out.push((s.to_string(), item.span())),
                None => {
                    let found = type_name(item.get_ref());
                    ctx.error(
                        item.span(),
                        &self.key_path(key),
                        format!("expected an array of strings, found {found} in it"),
                    );
                }
            }
        }
        Some(out)
    }

    /// A table whose values are all strings (`env`, `headers`).
    pub fn string_table(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
    ) -> Option<Vec<(String, String, Range<usize>)>> {
        let sub = self.table_of(ctx, key)?;
        let mut out = Vec::new();
        for (k, v) in sub.table.iter() {
            let name = k.get_ref().to_string();
            match v.get_ref().as_str() {
                Some(s) => out.push((name, s.to_string(), k.span())),
                None => {
                    let found = type_name(v.get_ref());
                    ctx.error(
                        v.span(),
                        &sub.key_path(&name),
                        format!("expected a string, found {found}"),
                    );
                }
            }
        }
        Some(out)
    }

    /// A sub-table as its own `Fields`.
    pub fn table_of(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Fields<'a, 'i>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Table(t) => Some(Fields::new(t, self.key_path(key), value.span())),
            other => {
                let found = type_name(other);
                ctx.error(
                    value.span(),
                    &self.key_path(key),
                    format!("expected a table, found {found}"),
                );
                None
            }
        }
    }

    /// The entries of a table of tables (`[tasks.NAME]`), each with its key span.
    pub fn entries(
        &self,
        ctx: &mut Ctx<'_>,
    ) -> BTreeMap<String, (Range<usize>, Option<Fields<'a, 'i>>)> {
        let mut out = BTreeMap::new();
        for (k, v) in self.table.iter() {
            let name = k.get_ref().to_string();
            let path = self.key_path(&name);
            let fields = match v.get_ref() {
                DeValue::Table(t) => Some(Fields::new(t, path, v.span())),
                other => {
                    let found = type_name(other);
                    ctx.error(v.span(), &path, format!("expected a table, found {found}"));
                    None
                }
            };
            out.insert(name, (k.span(), fields));
        }
        out
    }

    /// The tables of an array of tables (`[[notifier]]`).
    pub fn array_of_tables(&self, ctx: &mut Ctx<'_>, key: &str) -> Vec<Fields<'a, 'i>> {
        let Some(value) = self.get(key) else {
            return Vec::new();
        };
        let Some(array) = value.get_ref().as_array() else {
            let found = type_name(value.get_ref());
            ctx.error(
                value.span(),
                &self.key_path(key),
                format!("expected [[{key}]] tables, found {found}"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in array.iter().enumerate() {
            let path = format!("{}[{i}]", self.key_path(key));
            match item.get_ref() {
                DeValue::Table(t) => out.push(Fields::new(t, path, item.span())),
                other => {
                    let found = type_name(other);
                    ctx.error(
                        item.span(),
                        &path,
                        format!("expected a table, found {found}"),
                    );
                }
            }
        }
        out
    }
}
