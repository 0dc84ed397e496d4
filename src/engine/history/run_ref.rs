//! A run as a person names it: its whole id, or a unique prefix or suffix of at least
//! [`MIN_RUN_REF`] characters (the terminal UI shows the last four). The text is checked before
//! it reaches SQL: 4 to 26 ASCII letters and digits, read as Crockford base32 the way ULIDs are
//! (any case, `I` and `L` as `1`, `O` as `0`; `U` never occurs). Resolving it
//! ([`Store::resolve_run`](crate::engine::store::Store::resolve_run)) gives one run, none, or
//! the candidates, which [`Resolved::ambiguity`] lists in one sentence.

use crate::engine::model::{truncate_for_message, Run, RunId};

/// The fewest characters of a run id that name a run.
pub const MIN_RUN_REF: usize = 4;
/// At most this many candidates are listed when a reference is ambiguous.
pub const SHOWN_CANDIDATES: usize = 10;
const ID_LEN: usize = 26;

/// A run id, or a prefix or suffix of one, validated and in canonical (upper) case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef(String);

impl RunRef {
    /// Checks and normalises what a user typed; the error is one sentence.
    pub fn parse(text: &str) -> Result<Self, String> {
        let shown = truncate_for_message(text);
        let alphanumeric = text.bytes().all(|b| b.is_ascii_alphanumeric());
        if !(MIN_RUN_REF..=ID_LEN).contains(&text.len()) || !alphanumeric {
            return Err(format!(
                "{shown:?} is not a run id (give its 26 characters, like 01J9ZK8Q4V6T3M2N1P0R5S7W8X, \
                 or at least {MIN_RUN_REF} of its first or last ones, like 7W8X)"
            ));
        }
        let canonical: String = text
            .chars()
            .map(|c| match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                upper => upper,
            })
            .collect();
        if canonical.contains('U') {
            return Err(format!(
                "{shown:?} is not a run id: run ids are Crockford base32, which has no U"
            ));
        }
        if canonical.len() == ID_LEN {
            RunId::parse(&canonical)?;
        }
        Ok(Self(canonical))
    }

    /// The reference in canonical case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The run id, when the whole of it was given.
    pub fn full(&self) -> Option<RunId> {
        if self.0.len() == ID_LEN {
            RunId::parse(&self.0).ok()
        } else {
            None
        }
    }

    /// What was asked for, for "no run …": the id, or "whose id starts or ends with 7W8X".
    pub fn what(&self) -> String {
        match self.full() {
            Some(id) => id.to_string(),
            None => format!("whose id starts or ends with {}", self.0),
        }
    }

    /// The smallest and the largest run id starting with this reference: ids are upper-case
    /// Crockford base32, in which `0` sorts first and `Z` last.
    pub(crate) fn prefix_range(&self) -> (String, String) {
        let pad = ID_LEN.saturating_sub(self.0.len());
        (
            format!("{}{}", self.0, "0".repeat(pad)),
            format!("{}{}", self.0, "Z".repeat(pad)),
        )
    }
}

/// What a [`RunRef`] names.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// Exactly one run.
    Found(Box<Run>),
    NotFound,
    /// Several runs: the newest [`SHOWN_CANDIDATES`] of them and how many there are in all.
    Ambiguous {
        shown: Vec<Run>,
        total: u64,
    },
}

impl Resolved {
    /// For an ambiguous reference, one sentence listing the candidates (id, task, status and
    /// start time, at most [`SHOWN_CANDIDATES`], then "and N more"); `place` says where the runs were
    /// looked for (" in data directory data", or "").
    pub fn ambiguity(&self, wanted: &RunRef, place: &str) -> Option<String> {
        let Resolved::Ambiguous { shown, total } = self else {
            return None;
        };
        let mut items: Vec<String> = shown.iter().take(SHOWN_CANDIDATES).map(candidate).collect();
        let more = total.saturating_sub(items.len() as u64);
        if more > 0 {
            items.push(format!("{more} more"));
        }
        let list = match items.split_last() {
            Some((last, init)) if !init.is_empty() => format!("{} and {last}", init.join(", ")),
            _ => items.join(""),
        };
        Some(format!(
            "{} matches {total} runs{place}: {list}; give more characters of the run id",
            wanted.0
        ))
    }
}

/// `01J9ZK8Q4V6T3M2N1P0R5S7W8X (backup, success, started 2025-06-01T02:30:00Z)`.
fn candidate(run: &Run) -> String {
    let state = run.end_reason.map_or(run.status.as_str(), |r| r.as_str());
    let when = match run.start_at {
        Some(ms) => format!("started {}", utc(ms)),
        None => format!("created {}", utc(run.created_at)),
    };
    format!("{} ({}, {state}, {when})", run.id, run.task_name)
}

fn utc(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(
        |_| format!("{ms} ms"),
        |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_checked_and_read_as_crockford_base32() {
        let id = "01J9ZK8Q4V6T3M2N1P0R5S7W8X";
        assert_eq!(
            RunRef::parse(id).map(|r| r.full()),
            Ok(RunId::parse(id).ok())
        );
        assert_eq!(RunRef::parse("7w8x").map(|r| r.0), Ok("7W8X".into()));
        assert_eq!(RunRef::parse("oIl9").map(|r| r.0), Ok("0119".into()));
        assert_eq!(RunRef::parse("7W8X").map(|r| r.full()), Ok(None));
        for bad in [
            "7W8",
            "7W8X'",
            "7W%X",
            "7W_X",
            "../etc/passwd",
            "",
            "7 8X",
            "0123456789ABCDEFGHJKMNPQRST",
        ] {
            assert_eq!(
                RunRef::parse(bad).err(),
                Some(format!(
                    "{bad:?} is not a run id (give its 26 characters, like 01J9ZK8Q4V6T3M2N1P0R5S7W8X, \
                     or at least 4 of its first or last ones, like 7W8X)"
                )),
                "{bad}"
            );
        }
        assert_eq!(
            RunRef::parse("7U8X").err().as_deref(),
            Some("\"7U8X\" is not a run id: run ids are Crockford base32, which has no U")
        );
        assert_eq!(
            RunRef::parse("01j9").map(|r| r.prefix_range()),
            Ok((
                "01J90000000000000000000000".into(),
                "01J9ZZZZZZZZZZZZZZZZZZZZZZ".into()
            ))
        );
    }
}
