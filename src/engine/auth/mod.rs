//! Authentication (`api.md` §1): challenge-response login (the password never crosses the
//! wire), single-use nonces, HS256 JWTs signed with a random secret kept in SQLite, login
//! throttling, and scoped API tokens ([`tokens`]). Every comparison of secret material is
//! constant-time; nothing here logs a secret.

mod nonces;
mod throttle;
pub mod tokens;

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::engine::store::{Store, StoreError};

pub const ISSUER: &str = "runwisp";
pub const AUDIENCE: &str = "runwisp-api";
/// A token is valid this long.
pub const TOKEN_TTL: Duration = Duration::from_secs(86_400);
/// Clock skew tolerated when checking `exp`.
const LEEWAY_S: u64 = 5;

/// Why a login or a token was refused. The texts are the API's error details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Invalid password")]
    InvalidPassword,
    #[error("Invalid or expired challenge")]
    InvalidChallenge,
    #[error("Too many failed logins; try again in {} seconds", .0.as_secs().max(1))]
    Throttled(Duration),
    #[error("Missing or invalid token")]
    InvalidToken,
    #[error("cannot read the operating system's random source: {0}")]
    Random(String),
}

/// The claims of a runwisp token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
}

/// The daemon's authenticator.
pub struct Auth {
    password: String,
    secret: [u8; 32],
    nonces: Mutex<nonces::Nonces>,
    throttle: Mutex<throttle::Throttle>,
}

fn random<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(bytes)
}

fn now_s() -> u64 {
    use crate::engine::clock::{Clock, SystemClock};
    u64::try_from(SystemClock.now().as_second()).unwrap_or(0)
}

/// `hex(sha256(PASSWORD + ":" + NONCE))`, what a client answers a challenge with.
pub fn challenge_response(password: &str, nonce: &str) -> String {
    hex::encode(Sha256::digest(format!("{password}:{nonce}").as_bytes()))
}

/// Errors of setting up authentication at boot.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Random(String),
}

impl Auth {
    /// Loads (or creates) the signing secret. It is rotated when the password changes, which
    /// logs everyone out; it is never derived from the password.
    pub fn new(password: String, store: &Store) -> Result<Self, AuthSetupError> {
        let fingerprint = hex::encode(Sha256::digest(
            format!("runwisp-password:{password}").as_bytes(),
        ));
        let stored_for = store.meta_get("jwt_secret_for")?;
        let stored = store.meta_get("jwt_secret")?;
        let secret = match (stored, stored_for) {
            (Some(hex_secret), Some(for_password)) if for_password == fingerprint => {
                let bytes = hex::decode(hex_secret).unwrap_or_default();
                <[u8; 32]>::try_from(bytes.as_slice()).ok()
            }
            _ => None,
        };
        let secret = match secret {
            Some(s) => s,
            None => {
                let fresh = random::<32>().map_err(|e| AuthSetupError::Random(e.to_string()))?;
                store.meta_set("jwt_secret", &hex::encode(fresh))?;
                store.meta_set("jwt_secret_for", &fingerprint)?;
                fresh
            }
        };
        Ok(Self {
            password,
            secret,
            nonces: Mutex::default(),
            throttle: Mutex::default(),
        })
    }

    /// A new single-use challenge.
    pub fn challenge(&self) -> Result<String, AuthError> {
        let nonce = hex::encode(random::<32>()?);
        self.nonces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .issue(nonce.clone(), Instant::now());
        Ok(nonce)
    }

    /// Checks a challenge response from `peer` and issues a token.
    pub fn login(&self, nonce: &str, response: &str, peer: IpAddr) -> Result<String, AuthError> {
        let now = Instant::now();
        let mut throttle = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(wait) = throttle.check(peer, now) {
            return Err(AuthError::Throttled(wait));
        }
        let known = self
            .nonces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .consume(nonce, now);
        if !known {
            throttle.fail(peer, now);
            return Err(AuthError::InvalidChallenge);
        }
        let expected = challenge_response(&self.password, nonce);
        let given = response.trim().to_ascii_lowercase();
        if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            throttle.fail(peer, now);
            return Err(AuthError::InvalidPassword);
        }
        drop(throttle);
        self.issue()
    }

    /// A fresh token.
    pub fn issue(&self) -> Result<String, AuthError> {
        let iat = now_s();
        let claims = Claims {
            iat,
            exp: iat + TOKEN_TTL.as_secs(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.secret),
        )
        .map_err(|_| AuthError::InvalidToken)
    }

    /// Verifies a token: HS256 only, `exp`, `iss` and `aud` required and checked.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_S;
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&self.secret), &validation)
            .map(|data| data.claims)
            .map_err(|_| AuthError::InvalidToken)
    }
}

#[cfg(test)]
mod tests;
