//! `working_dir` as written → the folder a task or service runs in. A leading `~` (alone, or
//! before a `/`) is the home of the user runwisp runs as: `$HOME` when it is set to an absolute
//! path, else that user's entry in the password database, as a shell expands it. Any other
//! relative path is relative to the configuration file's folder; an absolute one stays.
//! `~user` is not expanded: it is a relative folder of that name, as it always was.

use std::path::{Path, PathBuf};

/// Where `written` points, for a configuration file in `config_dir`; `home` is asked only for
/// a leading `~`. The error is the message for the key.
pub(super) fn resolve(
    written: &str,
    config_dir: &Path,
    home: impl FnOnce() -> Option<PathBuf>,
) -> Result<PathBuf, String> {
    let rest = match written.strip_prefix('~') {
        Some("") => "",
        Some(rest) if rest.starts_with('/') => rest.trim_start_matches('/'),
        _ => return Ok(config_dir.join(written)),
    };
    let home = home().ok_or_else(|| {
        format!("cannot expand `~` in {written:?}: HOME is not set and the user runwisp runs as has no home directory; write the full path")
    })?;
    Ok(if rest.is_empty() {
        home
    } else {
        home.join(rest)
    })
}

/// The home of the user this process runs as.
pub(super) fn home() -> Option<PathBuf> {
    let from_env = std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    from_env.or_else(|| {
        nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|user| user.dir)
            .filter(|p| p.is_absolute())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(written: &str) -> Result<PathBuf, String> {
        resolve(written, Path::new("/srv/app"), || {
            Some(PathBuf::from("/home/ops"))
        })
    }

    #[test]
    fn a_leading_tilde_is_the_home_and_the_rest_is_relative_to_the_file() {
        assert_eq!(at("~"), Ok(PathBuf::from("/home/ops")));
        assert_eq!(at("~/"), Ok(PathBuf::from("/home/ops")));
        assert_eq!(at("~/jobs/x"), Ok(PathBuf::from("/home/ops/jobs/x")));
        assert_eq!(at("jobs"), Ok(PathBuf::from("/srv/app/jobs")));
        assert_eq!(at("../shared"), Ok(PathBuf::from("/srv/app/../shared")));
        assert_eq!(at("/opt/x"), Ok(PathBuf::from("/opt/x")));
        assert_eq!(at("~bob/x"), Ok(PathBuf::from("/srv/app/~bob/x")));
        assert_eq!(at("jobs/~"), Ok(PathBuf::from("/srv/app/jobs/~")));
    }

    #[test]
    fn no_home_is_an_error_only_when_a_tilde_needs_one() {
        let none = || None;
        let err = resolve("~/x", Path::new("/srv/app"), none).unwrap_err();
        assert!(err.starts_with("cannot expand `~` in \"~/x\""), "{err}");
        assert_eq!(
            resolve("x", Path::new("/srv/app"), none),
            Ok(PathBuf::from("/srv/app/x"))
        );
    }
}
