//! The daemon's password file (`data/password`, mode 0600): generated on first boot unless
//! `RUNWISP_PASSWORD` is set, which always wins. The REST API's login checks against it.

use std::io::{Read, Write};
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
}

/// Length of a generated password, in characters (base62: about 131 bits).
const GENERATED_LEN: usize = 22;
const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Makes sure a password exists: `RUNWISP_PASSWORD`, or the file, or a new random one written
/// to the file. Returns the password in force.
pub fn ensure(dir: &DataDir) -> Result<String, PasswordError> {
    if let Ok(p) = std::env::var("RUNWISP_PASSWORD") {
        if !p.is_empty() {
            return Ok(p);
        }
    }
    let path = dir.root().join("password");
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
    let password = generate().map_err(|source| PasswordError::Read {
        path: "/dev/urandom".into(),
        source,
    })?;
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

fn generate() -> std::io::Result<String> {
    let mut out = String::with_capacity(GENERATED_LEN);
    let mut random = std::fs::File::open("/dev/urandom")?;
    let mut byte = [0u8; 1];
    while out.len() < GENERATED_LEN {
        random.read_exact(&mut byte)?;
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - (256 % ALPHABET.len());
        if (byte[0] as usize) < limit {
            out.push(ALPHABET[byte[0] as usize % ALPHABET.len()] as char);
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
        if std::env::var("RUNWISP_PASSWORD").is_ok() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        let first = ensure(&dir).unwrap();
        assert_eq!(first.len(), GENERATED_LEN);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()));
        let path = tmp.path().join("password");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(ensure(&dir).unwrap(), first);
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(ensure(&dir), Err(PasswordError::Empty(_))));
    }
}
