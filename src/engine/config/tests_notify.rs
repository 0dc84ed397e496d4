//! Configuration tests of notifiers, their secrets, routes and task-name globs.

use super::tests::load;
use super::*;

#[test]
fn secrets_come_from_the_file_an_environment_variable_or_a_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("tg-token"), "123:from-a-file\n").expect("write the token");
    let absolute = dir.path().join("smtp-password");
    std::fs::write(&absolute, "from-an-absolute-file\r\n").expect("write the password");
    // A name no other test or environment uses, so setting it cannot disturb anything else.
    let var = "RUNWISP_CONFIG_TEST_SLACK_WEBHOOK_FROM_ENV";
    std::env::set_var(var, "https://hooks.slack.com/services/from-the-environment");
    let text = format!(
        r#"
[[notifier]]
id = "slack-ops"
type = "slack"
webhook_url_env = "{var}"

[[notifier]]
id = "tg"
type = "telegram"
bot_token_file = "tg-token"
chat_id = "@ops_channel"

[[notifier]]
id = "mail"
type = "email"
host = "localhost"
tls = "none"
username = "runwisp"
password_file = "{}"
from = "runwisp@localhost"
to = ["ops@localhost"]
"#,
        absolute.display()
    );
    let path = dir.path().join("runwisp.toml");
    std::fs::write(&path, text).expect("write the config");
    let c = load_file(&path).unwrap_or_else(|e| panic!("must load:\n{e}"));
    match &c.notifiers[0].kind {
        NotifierKind::Slack { webhook_url, .. } => assert_eq!(
            webhook_url.expose(),
            "https://hooks.slack.com/services/from-the-environment"
        ),
        other => panic!("not slack: {other:?}"),
    }
    match &c.notifiers[1].kind {
        NotifierKind::Telegram {
            bot_token,
            chat_id,
            api_url,
        } => {
            assert_eq!(bot_token.expose(), "123:from-a-file");
            assert_eq!(chat_id, "@ops_channel");
            assert_eq!(api_url, "https://api.telegram.org");
        }
        other => panic!("not telegram: {other:?}"),
    }
    match &c.notifiers[2].kind {
        NotifierKind::Email {
            password,
            port,
            tls,
            ..
        } => {
            let password = password.as_ref().map(SecretValue::expose);
            assert_eq!(password, Some("from-an-absolute-file"));
            assert_eq!((*port, *tls), (25, EmailTls::None));
        }
        other => panic!("not email: {other:?}"),
    }
    let debug = format!("{c:?}");
    for secret in [
        "from-the-environment",
        "from-a-file",
        "from-an-absolute-file",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
}

#[test]
fn an_empty_environment_variable_is_no_secret() {
    let var = "RUNWISP_CONFIG_TEST_EMPTY_BOT_TOKEN";
    std::env::set_var(var, "");
    let text = format!(
        "[[notifier]]\nid = \"tg\"\ntype = \"telegram\"\nbot_token_env = \"{var}\"\nchat_id = 1\n"
    );
    let errors = load(&text).expect_err("an empty variable");
    assert_eq!(
        errors.to_string(),
        format!("runwisp.toml:4:17: notifier[0].bot_token_env: notifier \"tg\": the environment variable \"{var}\" is empty")
    );
}

#[test]
fn email_ports_follow_the_tls_mode() {
    let mail = |tls: &str, port: &str| {
        let text = format!(
            "[[notifier]]\nid = \"m\"\ntype = \"email\"\nhost = \"127.0.0.1\"\n{tls}\n{port}\nfrom = \"a@b\"\nto = [\"c@d\"]\n"
        );
        let c = load(&text).unwrap_or_else(|e| panic!("must load:\n{e}"));
        match &c.notifiers[0].kind {
            NotifierKind::Email { port, tls, .. } => (*tls, *port),
            other => panic!("not email: {other:?}"),
        }
    };
    assert_eq!(mail("", ""), (EmailTls::StartTls, 587));
    assert_eq!(mail("tls = \"starttls\"", ""), (EmailTls::StartTls, 587));
    assert_eq!(mail("tls = \"implicit\"", ""), (EmailTls::Implicit, 465));
    assert_eq!(mail("tls = \"none\"", ""), (EmailTls::None, 25));
    assert_eq!(
        mail("tls = \"none\"", "port = 1025"),
        (EmailTls::None, 1025)
    );
}

#[test]
fn plain_smtp_is_allowed_to_loopback_hosts_only() {
    let plain = |host: &str| {
        let text = format!(
            "[[notifier]]\nid = \"m\"\ntype = \"email\"\nhost = \"{host}\"\ntls = \"none\"\nfrom = \"a@b\"\nto = [\"c@d\"]\n"
        );
        load(&text).is_ok()
    };
    for host in [
        "localhost",
        "LOCALHOST",
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "[::1]",
    ] {
        assert!(plain(host), "{host} is loopback");
    }
    for host in [
        "smtp.example.com",
        "10.0.0.1",
        "128.0.0.1",
        "::2",
        "localhost.example.com",
    ] {
        assert!(!plain(host), "{host} is not loopback");
    }
}

/// Every inline secret below is also the cause of, or beside, an error: none may be echoed.
#[test]
fn a_secret_never_appears_in_an_error_or_a_debug_print() {
    let secrets = [
        "ftp://hooks.example.com/secret-slack-1",
        "secret-token-2",
        "not a url secret-3",
        "secret-password-4",
        "secret-signing-5",
        "secret-header-6",
    ];
    let text = format!(
        r#"
[[notifier]]
id = "slack-ops"
type = "slack"
webhook_url = "{}"

[[notifier]]
id = "tg"
type = "telegram"
bot_token = "{}"
bot_token_env = "TG_TOKEN"
chat_id = 1

[[notifier]]
id = "hook"
type = "webhook"
url = "{}"
secret = "{}"
secret_file = "/etc/runwisp/secret"
headers = {{ "Bad Name" = "{}" }}

[[notifier]]
id = "mail"
type = "email"
host = "smtp.example.com"
password = "{}"
from = "a@b"
to = ["c@d"]
"#,
        secrets[0], secrets[1], secrets[2], secrets[4], secrets[5], secrets[3]
    );
    let errors = load(&text).expect_err("every notifier has an error");
    assert!(errors.0.len() >= 5, "{errors}");
    let shown = format!("{errors}\n{errors:?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret:?} leaked:\n{shown}");
    }

    let valid = text
        .replace(secrets[0], "https://hooks.slack.com/secret-slack-1")
        .replace("bot_token_env = \"TG_TOKEN\"\n", "")
        .replace(secrets[2], "https://example.com/hook?secret-3")
        .replace("secret_file = \"/etc/runwisp/secret\"\n", "")
        .replace("Bad Name", "Authorization")
        .replace(
            "host = \"smtp.example.com\"",
            "host = \"smtp.example.com\"\nusername = \"u\"",
        );
    let c = load(&valid).unwrap_or_else(|e| panic!("must load:\n{e}"));
    let debug = format!("{c:?}");
    for secret in [
        "secret-slack-1",
        "secret-token-2",
        "secret-3",
        "secret-password-4",
        "secret-signing-5",
        "secret-header-6",
    ] {
        assert!(!debug.contains(secret), "{secret:?} leaked:\n{debug}");
    }
    assert!(debug.contains("[redacted]"));
}

#[test]
fn globs_match_whole_task_names() {
    let glob = |p: &str| Glob::parse(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "backup-*",
            &["backup-", "backup-db", "backup-db-2"],
            &["backup", "xbackup-db"],
        ),
        ("*-db", &["backup-db", "-db"], &["backup-db2"]),
        ("b?ck", &["back", "bock"], &["bck", "baack"]),
        ("[abc]x", &["ax", "cx"], &["dx", "x", "abx"]),
        (
            "job-[0-9][0-9]",
            &["job-01", "job-99"],
            &["job-1", "job-a1", "job-100"],
        ),
        ("[!a-c]*", &["deploy", "z"], &["alpha", "backup", "c", ""]),
        ("a*b*c", &["abc", "aXbYc", "abbbc", "acbc"], &["ab", "acb"]),
        ("*", &["", "anything"], &[]),
        ("x-[a-]", &["x-a", "x--"], &["x-b"]),
        ("exact", &["exact"], &["exactly", "Exact"]),
    ];
    for (pattern, yes, no) in cases {
        let g = glob(pattern);
        for name in *yes {
            assert!(g.matches(name), "{pattern} should match {name:?}");
        }
        for name in *no {
            assert!(!g.matches(name), "{pattern} should not match {name:?}");
        }
    }
    for bad in ["", "a[b", "[", "[!", "x[]", "[!]", "[z-a]"] {
        assert!(Glob::parse(bad).is_err(), "{bad:?} should be rejected");
    }
}

/// The commented notifier and route examples of the starter file, uncommented, are valid (with
/// every `X_env` / `X_file` swapped for an inline value, since neither exists here).
#[test]
fn the_starter_files_notifier_examples_are_valid() {
    let start = STARTER.find("# [[notifier]]").expect("notifier examples");
    let mut text = String::new();
    for line in STARTER[start..].lines() {
        let Some(line) = line.strip_prefix("# ") else {
            continue;
        };
        let is_setting = line
            .split_once(" = ")
            .is_some_and(|(key, _)| !key.contains(' '));
        let is_toml = line.starts_with('[') || line.starts_with('#') || is_setting;
        if !is_toml {
            continue;
        }
        match line.split_once(" = ") {
            Some((key, _)) if key.ends_with("_env") || key.ends_with("_file") => {
                let key = key.trim_end_matches("_env").trim_end_matches("_file");
                text.push_str(&format!("{key} = \"https://example.com/inline\"\n"));
            }
            _ => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    let c = load(&text).unwrap_or_else(|e| panic!("the examples must load:\n{e}\n\n{text}"));
    let types: Vec<&str> = c.notifiers.iter().map(|n| n.kind.type_name()).collect();
    assert_eq!(
        types,
        ["slack", "discord", "telegram", "email", "webhook", "command"]
    );
    assert_eq!(c.routes.len(), 1);
}
