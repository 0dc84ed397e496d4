//! Signed webhooks (`webhooks.md` §1) against the real binary: GitHub's test vector, a signed
//! push starting a run that sees its sha, branch and payload file, replays, ignored branches
//! and tags, the one 401 for every failure and the 429 after five, hostile refs, a body over
//! 1 MiB, GitLab's token, and the configuration's errors.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test, with its reason

mod common;
#[path = "common/daemon.rs"]
mod daemon;

use daemon::{agent, answer, Answer, Daemon};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "a-long-webhook-secret-for-tests";

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs `body` to `/hooks/{name}` with `headers`.
fn hook(d: &Daemon, name: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut request = agent().post(d.url(&format!("/hooks/{name}")));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    answer(request.send(body))
}

/// A GitHub push of `git_ref`, signed with `secret`, as delivery `delivery`.
fn push(d: &Daemon, name: &str, secret: &str, delivery: &str, git_ref: &str) -> Answer {
    let body = serde_json::json!({
        "ref": git_ref,
        "after": "0123456789abcdef0123456789abcdef01234567",
        "repository": { "full_name": "acme/app" },
    })
    .to_string();
    hook(
        d,
        name,
        &[
            ("X-Hub-Signature-256", &sign(secret, body.as_bytes())),
            ("X-GitHub-Event", "push"),
            ("X-GitHub-Delivery", delivery),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
}

const CONFIG: &str = r#"
[tasks.deploy]
run = """
echo "ref=$RUNWISP_GIT_REF branch=$RUNWISP_GIT_BRANCH sha=$RUNWISP_GIT_SHA repo=$RUNWISP_GIT_REPO"
echo "event=$RUNWISP_WEBHOOK_EVENT delivery=$RUNWISP_WEBHOOK_DELIVERY provider=$RUNWISP_WEBHOOK_PROVIDER"
echo "mode=$(stat -c %a "$RUNWISP_WEBHOOK_PAYLOAD")"
cat "$RUNWISP_WEBHOOK_PAYLOAD"
"""

[tasks.deploy.webhook]
provider = "github"
secret = "a-long-webhook-secret-for-tests"
branches = ["main", "release/*"]

[tasks.any]
run = "echo ref=${RUNWISP_GIT_REF-unset} branch=${RUNWISP_GIT_BRANCH-unset}"

[tasks.any.webhook]
provider = "github"
secret = "a-long-webhook-secret-for-tests"

[tasks.vector]
run = "true"

[tasks.vector.webhook]
provider = "github"
secret = "It's a Secret to Everybody"

[tasks.lab]
run = "echo event=$RUNWISP_WEBHOOK_EVENT branch=$RUNWISP_GIT_BRANCH"

[tasks.lab.webhook]
provider = "gitlab"
secret = "a-long-gitlab-token-for-tests"

[tasks.plain]
run = "true"
"#;

fn log_of(d: &Daemon, id: &str) -> String {
    d.get(&format!("/api/runs/{id}/log/raw")).text
}

#[test]
fn a_signed_push_starts_a_run_that_sees_its_delivery_and_a_replay_does_not() {
    let d = Daemon::start(CONFIG);
    let a = push(&d, "deploy", SECRET, "delivery-1", "refs/heads/main");
    assert_eq!(a.status, 202, "{}", a.text);
    let id = a.json()["run_id"].as_str().unwrap().to_string();
    let run = d.wait_ended(&id);
    assert_eq!(run["end_reason"], "success", "{run}");
    assert_eq!(run["triggered_by"], "webhook");
    let log = log_of(&d, &id);
    assert!(
        log.contains(
            "ref=refs/heads/main branch=main sha=0123456789abcdef0123456789abcdef01234567 repo=acme/app"
        ),
        "{log}"
    );
    assert!(
        log.contains("event=push delivery=delivery-1 provider=github"),
        "{log}"
    );
    assert!(log.contains("mode=600"), "{log}");
    assert!(
        log.contains(r#""full_name":"acme/app""#),
        "the payload file holds the body: {log}"
    );
    // The run's details name the delivery.
    let webhook = &run["webhook"];
    assert_eq!(webhook["event"], "push", "{run}");
    assert_eq!(webhook["branch"], "main");
    assert_eq!(webhook["sha"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(webhook["delivery"], "delivery-1");
    // The payload is kept beside the log, named by runwisp.
    let payload = d.project.data().join(format!("logs/deploy/{id}.payload"));
    assert!(payload.exists());

    // The same delivery again: no new run, the first one named.
    let again = push(&d, "deploy", SECRET, "delivery-1", "refs/heads/main");
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["duplicate"], true);
    assert_eq!(again.json()["run_id"], id.as_str());
    assert_eq!(d.project.runs("deploy").len(), 1);

    // Ignored: another branch, a tag; each says why, and starts nothing.
    let feature = push(&d, "deploy", SECRET, "delivery-2", "refs/heads/feature/x");
    assert_eq!(feature.status, 202, "{}", feature.text);
    assert_eq!(
        feature.json()["ignored"],
        "branch feature/x does not match main, release/*"
    );
    let tag = push(&d, "deploy", SECRET, "delivery-3", "refs/tags/v1.0");
    assert_eq!(tag.status, 202);
    assert_eq!(
        tag.json()["ignored"],
        "refs/tags/v1.0 is not a branch (branches: main, release/*)"
    );
    let release = push(&d, "deploy", SECRET, "delivery-4", "refs/heads/release/2.0");
    assert_eq!(release.status, 202, "{}", release.text);
    assert!(release.json()["run_id"].is_string());
    assert_eq!(d.project.runs("deploy").len(), 2);

    // Counted by result, under the configured name only.
    let wrong = hook(&d, "deploy", &[("X-Hub-Signature-256", "sha256=00")], b"{}");
    assert_eq!(wrong.status, 401);
    let metrics = d.get("/metrics").text;
    for (result, n) in [
        ("accepted", 2),
        ("ignored", 2),
        ("duplicate", 1),
        ("rejected", 1),
    ] {
        let line =
            format!("runwisp_webhook_deliveries_total{{name=\"deploy\",result=\"{result}\"}} {n}");
        assert!(metrics.contains(&line), "{line} in:\n{metrics}");
    }
    assert!(
        !metrics.contains("name=\"plain\""),
        "only tasks with a webhook have series"
    );
}

#[test]
fn githubs_test_vector_answers_pong() {
    let d = Daemon::start(CONFIG);
    let a = hook(
        &d,
        "vector",
        &[
            (
                "X-Hub-Signature-256",
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            ),
            ("X-GitHub-Event", "ping"),
        ],
        b"Hello, World!",
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["pong"], true);
    assert!(d.project.runs("vector").is_empty());
}

#[test]
fn every_failure_answers_the_same_401_and_five_of_them_a_429() {
    let d = Daemon::start(CONFIG);
    let body = br#"{"ref": "refs/heads/main"}"#;
    let good = sign(SECRET, body);
    let attempts: Vec<Answer> = vec![
        // A wrong signature, none at all, one made with another secret.
        hook(
            &d,
            "deploy",
            &[
                ("X-Hub-Signature-256", "sha256=00"),
                ("X-GitHub-Event", "push"),
            ],
            body,
        ),
        hook(&d, "deploy", &[("X-GitHub-Event", "push")], body),
        hook(
            &d,
            "deploy",
            &[
                (
                    "X-Hub-Signature-256",
                    &sign("another-secret-entirely", body),
                ),
                ("X-GitHub-Event", "push"),
            ],
            body,
        ),
        // Valid signatures, but for a name that is not there or has no webhook.
        hook(&d, "nothing-here", &[("X-Hub-Signature-256", &good)], body),
        hook(&d, "plain", &[("X-Hub-Signature-256", &good)], body),
    ];
    let first = &attempts[0];
    assert_eq!(first.status, 401, "{}", first.text);
    assert_eq!(first.json()["detail"], "invalid signature");
    for a in &attempts {
        assert_eq!((a.status, a.text.as_str()), (401, first.text.as_str()));
    }
    // The sixth, even a good one, waits.
    let throttled = hook(
        &d,
        "deploy",
        &[("X-Hub-Signature-256", &good), ("X-GitHub-Event", "push")],
        body,
    );
    assert_eq!(throttled.status, 429, "{}", throttled.text);
    assert!(throttled.retry_after.is_some());
    assert!(d.project.runs("deploy").is_empty());
    assert!(d.project.runs("plain").is_empty());
}

#[test]
fn hostile_refs_never_reach_the_environment_and_big_bodies_are_refused() {
    let d = Daemon::start(CONFIG);
    let long = format!("refs/heads/{}", "a".repeat(10_000));
    for (i, hostile) in [
        "refs/heads/$(touch pwned)",
        "refs/heads/main; touch pwned",
        "refs/heads/../../../etc",
        "refs/heads/main\nEVIL=1",
        long.as_str(),
    ]
    .iter()
    .enumerate()
    {
        let a = push(&d, "any", SECRET, &format!("hostile-{i}"), hostile);
        assert_eq!(a.status, 202, "{}", a.text);
        let id = a.json()["run_id"].as_str().unwrap().to_string();
        d.wait_ended(&id);
        assert_eq!(
            log_of(&d, &id).trim(),
            "ref=unset branch=unset",
            "{hostile:?}"
        );
    }
    assert!(!d.project.path().join("pwned").exists());
    // A hostile ref never matches a branch filter: ignored.
    let a = push(&d, "deploy", SECRET, "hostile-x", "refs/heads/main; id");
    assert_eq!(a.status, 202);
    assert!(a.json()["ignored"].is_string(), "{}", a.text);

    // A 2 MiB body is refused from its length, before it is read (or verified).
    let big = vec![b'x'; 2 << 20];
    let head = format!(
        "POST /hooks/any HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: push\r\n\
         X-Hub-Signature-256: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        sign(SECRET, &big),
        big.len()
    );
    let answer = d.raw(head.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(d.project.runs("any").len(), 5, "no run for the big body");
}

#[test]
fn gitlab_deliveries_carry_their_token() {
    let d = Daemon::start(CONFIG);
    let body = br#"{"ref": "refs/heads/main", "checkout_sha": "0123456789abcdef0123456789abcdef01234567"}"#;
    let a = hook(
        &d,
        "lab",
        &[
            ("X-Gitlab-Token", "a-long-gitlab-token-for-tests"),
            ("X-Gitlab-Event", "Push Hook"),
            (
                "X-Gitlab-Event-UUID",
                "4f2c1b3a-1111-2222-3333-444455556666",
            ),
        ],
        body,
    );
    assert_eq!(a.status, 202, "{}", a.text);
    let id = a.json()["run_id"].as_str().unwrap().to_string();
    d.wait_ended(&id);
    assert_eq!(log_of(&d, &id).trim(), "event=push_hook branch=main");
    let wrong = hook(
        &d,
        "lab",
        &[
            ("X-Gitlab-Token", "not-the-token-at-all"),
            ("X-Gitlab-Event", "Push Hook"),
        ],
        body,
    );
    assert_eq!(wrong.status, 401);
}

#[test]
fn webhook_configuration_errors_name_their_line() {
    let p = common::Project::new(
        r#"[tasks.a]
run = "true"
api_trigger = false

[tasks.a.webhook]
provider = "github"
secret = "a-long-webhook-secret-for-tests"

[tasks.b]
run = "true"

[tasks.b.webhook]
provider = "bitbucket"
secret = "short"

[tasks.c]
run = "true"

[tasks.c.webhook]
provider = "generic"
secret_env = "RUNWISP_TEST_UNSET_HOOK_SECRET"
brances = ["main"]
"#,
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let said = common::stderr(&out);
    for expected in [
        "3:15: tasks.a.api_trigger: api_trigger = false cannot be combined with a webhook",
        "13:12: tasks.b.webhook.provider: \"bitbucket\" is not a webhook provider",
        "14:10: tasks.b.webhook.secret: the webhook secret is shorter than 16 bytes",
        "21:14: tasks.c.webhook.secret_env: the environment variable \"RUNWISP_TEST_UNSET_HOOK_SECRET\" is not set",
        "22:1: tasks.c.webhook.brances: unknown key `brances`; did you mean `branches`?",
    ] {
        assert!(said.contains(expected), "missing {expected:?} in:\n{said}");
    }
    assert!(
        !said.contains("short\""),
        "the secret is never shown: {said}"
    );
}
