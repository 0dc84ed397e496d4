//! The daemon's password file (`data/password`, mode 0600): generated on first boot unless
//! `RUNWISP_PASSWORD` is set, which always wins. The REST API's login checks against it.

use std::io::Write;
use std::path::PathBuf;

use crate::engine::datadir::{create_private_file, DataDir};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot read the password file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the password file {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("the password file {0} is empty; delete it to have a new password generated")]
    Empty(PathBuf),
    #[error("cannot generate a password: the system's random source failed: {0}")]
    Random(String),
}

/// Length of a generated password, in characters (base62: about 131 bits).
const GENERATED_LEN: usize = 22;
const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Makes sure a password exists: `RUNWISP_PASSWORD`, or the file, or a new random one written
/// to the file. Returns the password in force.
pub fn ensure(dir: &DataDir) -> Result<String, PasswordError> {
    match std::env::var("RUNWISP_PASSWORD") {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => from_file(dir),
    }
}

/// The password in the data directory's file, generated and written there when missing.
fn from_file(dir: &DataDir) -> Result<String, PasswordError> {
    let path = dir.password_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let p = text.trim().to_string();
            if p.is_empty() {
                return Err(PasswordError::Empty(path));
            }
            return Ok(p);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(PasswordError::Read { path, source }),
    }
    let password = generate()?;
    let write_err = |message: String| PasswordError::Write {
        path: path.clone(),
        message,
    };
    let mut file = create_private_file(&path).map_err(|e| write_err(e.to_string()))?;
    file.write_all(format!("{password}\n").as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| write_err(e.to_string()))?;
    Ok(password)
}

fn generate() -> Result<String, PasswordError> {
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - (256 % ALPHABET.len());
    let mut out = String::with_capacity(GENERATED_LEN);
    let mut bytes = [0u8; 64];
    while out.len() < GENERATED_LEN {
        getrandom::fill(&mut bytes).map_err(|e| PasswordError::Random(e.to_string()))?;
        for b in bytes.iter().map(|b| usize::from(*b)).filter(|b| *b < limit) {
            if out.len() < GENERATED_LEN {
                out.push(char::from(ALPHABET[b % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn generated_once_private_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        let first = from_file(&dir).unwrap();
        assert_eq!(first.len(), GENERATED_LEN);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()));
        let path = tmp.path().join("password");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(from_file(&dir).unwrap(), first);
        assert_ne!(generate().unwrap(), first);
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(from_file(&dir), Err(PasswordError::Empty(_))));
    }
}
