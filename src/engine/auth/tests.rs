//! The authentication rejection matrix at the unit level; the HTTP tests repeat it end to end.

use super::*;

fn auth(password: &str) -> (Auth, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
    (Auth::new(password.into(), &store).unwrap(), dir)
}

fn peer() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn token_with(header: &str, claims: &str, key: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

fn claims_json(exp: &str, aud: &str) -> String {
    format!(
        r#"{{"iat":{},"exp":{exp},"iss":"runwisp","aud":"{aud}"}}"#,
        now_s()
    )
}

#[test]
fn login_issues_a_token_that_verifies() {
    let (a, _d) = auth("s3cret");
    let nonce = a.challenge().unwrap();
    assert_eq!(nonce.len(), 64);
    let token = a
        .login(&nonce, &challenge_response("s3cret", &nonce), peer())
        .unwrap();
    let claims = a.verify(&token).unwrap();
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        (ISSUER, AUDIENCE)
    );
    assert_eq!(claims.exp - claims.iat, TOKEN_TTL.as_secs());
}

#[test]
fn login_refusals() {
    let (a, _d) = auth("s3cret");
    let nonce = a.challenge().unwrap();
    assert_eq!(
        a.login(&nonce, &challenge_response("wrong", &nonce), peer()),
        Err(AuthError::InvalidPassword)
    );
    assert_eq!(
        a.login(&nonce, &challenge_response("s3cret", &nonce), peer()),
        Err(AuthError::InvalidChallenge),
        "a nonce is consumed by the first attempt, right or wrong"
    );
    assert_eq!(
        a.login("00", &challenge_response("s3cret", "00"), peer()),
        Err(AuthError::InvalidChallenge)
    );
    for _ in 0..3 {
        let n = a.challenge().unwrap();
        let _ = a.login(&n, "bad", peer());
    }
    let n = a.challenge().unwrap();
    assert!(matches!(
        a.login(&n, &challenge_response("s3cret", &n), peer()),
        Err(AuthError::Throttled(_))
    ));
}

#[test]
fn the_token_matrix() {
    let (a, _d) = auth("s3cret");
    let good_header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let exp = (now_s() + 600).to_string();
    let key = a.secret;
    assert!(
        a.verify(&token_with(good_header, &claims_json(&exp, AUDIENCE), &key))
            .is_ok(),
        "the forger is right when it should be"
    );
    let cases = [
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(claims_json(&exp, AUDIENCE).as_bytes())
            ),
        ),
        (
            "HS512",
            token_with(
                r#"{"alg":"HS512","typ":"JWT"}"#,
                &claims_json(&exp, AUDIENCE),
                &key,
            ),
        ),
        (
            "wrong key",
            token_with(
                good_header,
                &claims_json(&exp, AUDIENCE),
                b"another key entirely, 32 bytes!",
            ),
        ),
        (
            "wrong audience",
            token_with(good_header, &claims_json(&exp, "someone-else"), &key),
        ),
        (
            "expired",
            token_with(
                good_header,
                &claims_json(&(now_s() - 60).to_string(), AUDIENCE),
                &key,
            ),
        ),
        (
            "exp as a string",
            token_with(
                good_header,
                &claims_json(&format!("\"{exp}\""), AUDIENCE),
                &key,
            ),
        ),
        (
            "no exp",
            token_with(
                good_header,
                &format!(r#"{{"iat":1,"iss":"runwisp","aud":"{AUDIENCE}"}}"#),
                &key,
            ),
        ),
        ("garbage", "not.a.token".to_string()),
    ];
    for (what, token) in cases {
        assert_eq!(a.verify(&token), Err(AuthError::InvalidToken), "{what}");
    }
    let real = a.issue().unwrap();
    let mut parts: Vec<&str> = real.split('.').collect();
    let tampered = b64(claims_json(&(now_s() + 999_999).to_string(), AUDIENCE).as_bytes());
    parts[1] = &tampered;
    assert_eq!(
        a.verify(&parts.join(".")),
        Err(AuthError::InvalidToken),
        "tampered payload"
    );
}

#[test]
fn the_secret_survives_restarts_and_rotates_with_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runwisp.db")).unwrap();
    let first = Auth::new("one".into(), &store).unwrap();
    let token = first.issue().unwrap();
    let again = Auth::new("one".into(), &store).unwrap();
    assert!(again.verify(&token).is_ok());
    let changed = Auth::new("two".into(), &store).unwrap();
    assert_eq!(
        changed.verify(&token),
        Err(AuthError::InvalidToken),
        "a new password logs everyone out"
    );
}
