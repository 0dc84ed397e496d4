use super::*;
use crate::engine::config::{Glob, SecretValue};

/// GitHub's published test vector (docs: "Validating webhook deliveries").
const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_BODY: &[u8] = b"Hello, World!";
const GITHUB_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn incoming<'a>(signature: &'a str, body: &'a [u8]) -> Incoming<'a> {
    Incoming {
        signature: Some(signature),
        body,
        ..Incoming::default()
    }
}

#[test]
fn githubs_published_vector_verifies_and_any_change_does_not() {
    assert!(verify(
        Provider::Github,
        GITHUB_SECRET,
        &incoming(GITHUB_SIGNATURE, GITHUB_BODY)
    ));
    assert!(verify(
        Provider::Generic,
        GITHUB_SECRET,
        &incoming(GITHUB_SIGNATURE, GITHUB_BODY)
    ));
    let other_body = incoming(GITHUB_SIGNATURE, b"Hello, World?");
    assert!(!verify(Provider::Github, GITHUB_SECRET, &other_body));
    let other_secret = "It's a Secret to Everybody!";
    assert!(!verify(
        Provider::Github,
        other_secret,
        &incoming(GITHUB_SIGNATURE, GITHUB_BODY)
    ));
    for bad in [
        "",
        "sha256=",
        "sha256=zz",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        &GITHUB_SIGNATURE[..GITHUB_SIGNATURE.len() - 2],
    ] {
        assert!(
            !verify(Provider::Github, GITHUB_SECRET, &incoming(bad, GITHUB_BODY)),
            "{bad:?}"
        );
    }
    let unsigned = Incoming {
        body: GITHUB_BODY,
        ..Incoming::default()
    };
    assert!(!verify(Provider::Github, GITHUB_SECRET, &unsigned));
}

#[test]
fn gitlab_compares_its_token_with_the_secret() {
    let with = |token| Incoming {
        token: Some(token),
        ..Incoming::default()
    };
    assert!(verify(
        Provider::Gitlab,
        "a-secret-of-16-bytes",
        &with("a-secret-of-16-bytes")
    ));
    assert!(!verify(
        Provider::Gitlab,
        "a-secret-of-16-bytes",
        &with("a-secret-of-16-byteS")
    ));
    assert!(!verify(Provider::Gitlab, "a-secret-of-16-bytes", &with("")));
    assert!(!verify(
        Provider::Gitlab,
        "a-secret-of-16-bytes",
        &Incoming::default()
    ));
}

fn push(body: &str) -> WebhookDelivery {
    facts(
        Provider::Github,
        &Incoming {
            event: Some("push"),
            delivery: Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"),
            body: body.as_bytes(),
            ..Incoming::default()
        },
    )
}

#[test]
fn a_push_gives_its_ref_branch_sha_and_repository() {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let f = push(&format!(
        r#"{{"ref": "refs/heads/release/1.2", "after": "{sha}", "repository": {{"full_name": "acme/app"}}}}"#
    ));
    assert_eq!(f.event.as_deref(), Some("push"));
    assert_eq!(f.git_ref.as_deref(), Some("refs/heads/release/1.2"));
    assert_eq!(f.branch.as_deref(), Some("release/1.2"));
    assert_eq!(f.sha.as_deref(), Some(sha));
    assert_eq!(f.repo.as_deref(), Some("acme/app"));
    assert_eq!(
        f.delivery.as_deref(),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    let tag = push(r#"{"ref": "refs/tags/v1.0"}"#);
    assert_eq!(tag.git_ref.as_deref(), Some("refs/tags/v1.0"));
    assert_eq!(tag.branch, None, "a tag names no branch");
}

#[test]
fn hostile_values_never_reach_the_facts() {
    let long = format!("refs/heads/{}", "a".repeat(10_000));
    for hostile in [
        "refs/heads/$(rm -rf ~)",
        "refs/heads/main; reboot",
        "refs/heads/`id`",
        "refs/heads/../../etc/passwd",
        "refs/heads/main\nFOO=1",
        "refs/heads/ma in",
        "refs/heads/.hidden",
        "refs/heads/",
        "refs//heads",
        "heads/main",
        "refs/heads/mäin",
        long.as_str(),
    ] {
        let body = serde_json::json!({ "ref": hostile, "after": "not-a-sha; id", "repository": {"full_name": "../x"} });
        let f = push(&body.to_string());
        assert_eq!(f.git_ref, None, "{hostile:?}");
        assert_eq!(f.branch, None, "{hostile:?}");
        assert_eq!(f.sha, None);
        assert_eq!(f.repo, None);
    }
    let f = facts(
        Provider::Github,
        &Incoming {
            event: Some("push; id"),
            delivery: Some("abc/../def"),
            body: b"not json",
            ..Incoming::default()
        },
    );
    assert_eq!(f.event, None);
    assert_eq!(f.delivery, None);
}

fn hook(events: &[&str], branches: &[&str]) -> Webhook {
    Webhook {
        provider: Provider::Github,
        secret: SecretValue::new("0123456789abcdef"),
        events: events.iter().map(|e| e.to_string()).collect(),
        branches: branches
            .iter()
            .map(|b| Glob::parse(b).expect("a valid glob"))
            .collect(),
    }
}

#[test]
fn events_and_branches_decide_what_is_ignored_and_why() {
    let h = hook(&["push"], &["main", "release/*"]);
    let main = push(r#"{"ref": "refs/heads/main"}"#);
    assert_eq!(ignored(&h, &main), None);
    assert_eq!(
        ignored(&h, &push(r#"{"ref": "refs/heads/release/2"}"#)),
        None
    );
    assert_eq!(
        ignored(&h, &push(r#"{"ref": "refs/heads/feature/x"}"#)).as_deref(),
        Some("branch feature/x does not match main, release/*")
    );
    assert_eq!(
        ignored(&h, &push(r#"{"ref": "refs/tags/main"}"#)).as_deref(),
        Some("refs/tags/main is not a branch (branches: main, release/*)")
    );
    let mut issue = main.clone();
    issue.event = Some("issues".into());
    assert_eq!(
        ignored(&h, &issue).as_deref(),
        Some("event issues is not one of push")
    );
    // Without a branch filter any ref runs, tags included.
    assert_eq!(
        ignored(&hook(&["push"], &[]), &push(r#"{"ref": "refs/tags/v1"}"#)),
        None
    );
}
