//! `[[notifier]]`: the keys of every notifier and of each notifier type.

use super::{choice_names, Key, Kind, EMAIL_TLS};

fn notifier_types() -> Vec<&'static str> {
    NOTIFIER_TYPES.iter().map(|t| t.name).collect()
}

/// One notifier type: its plain keys, and its secret keys (each also as `X_env`, the name of
/// an environment variable, and `X_file`, a file path; exactly one of the three).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotifierType {
    pub name: &'static str,
    pub doc: &'static str,
    pub plain: &'static [Key],
    pub secrets: &'static [Key],
}

/// The keys of every notifier.
pub(crate) const NOTIFIER: &[Key] = &[
    Key::new(
        "id",
        Kind::Text,
        "What tasks and routes name: ASCII letters, digits, '-' and '_', unique, not \"inapp\".",
    )
    .required(),
    Key::new(
        "type",
        Kind::Choice(notifier_types),
        "The channel this notifier sends to.",
    )
    .required(),
];

pub(crate) const SLACK_WEBHOOK_URL: Key = Key::new(
    "webhook_url",
    Kind::Text,
    "The incoming-webhook URL (http:// or https://).",
)
.required();
pub(crate) const DISCORD_WEBHOOK_URL: Key = SLACK_WEBHOOK_URL;
pub(crate) const BOT_TOKEN: Key =
    Key::new("bot_token", Kind::Text, "The Telegram bot's token.").required();
pub(crate) const CHAT_ID: Key = Key::new(
    "chat_id",
    Kind::TextOrInteger,
    "The chat the bot posts to, a string or an integer.",
)
.required();
pub(crate) const EMAIL_PORT: Key = Key::new(
    "port",
    Kind::Integer { min: 1, max: 65535 },
    "The SMTP port (default 587 with starttls, 465 with implicit, 25 with none).",
);
pub(crate) const EMAIL_TLS_KEY: Key = Key::new(
    "tls",
    Kind::Choice(|| choice_names(EMAIL_TLS)),
    "\"starttls\" (default), \"implicit\", or \"none\" (loopback hosts only).",
);
pub(crate) const EMAIL_PASSWORD: Key = Key::new(
    "password",
    Kind::Text,
    "The SMTP password; with username, both or neither.",
);
pub(crate) const WEBHOOK_URL: Key = Key::new(
    "url",
    Kind::Text,
    "Where each event is POSTed as JSON (http:// or https://).",
)
.required();
pub(crate) const WEBHOOK_SECRET: Key = Key::new(
    "secret",
    Kind::Text,
    "Signs each body: X-Runwisp-Signature-256: sha256=HEX (HMAC-SHA256).",
);

pub(crate) const NOTIFIER_TYPES: &[NotifierType] = &[
    NotifierType {
        name: "slack",
        doc: "A Slack incoming webhook.",
        plain: &[Key::new(
            "channel",
            Kind::Text,
            "\"#channel\" or \"@user\" to post to instead of the webhook's own.",
        )],
        secrets: &[SLACK_WEBHOOK_URL],
    },
    NotifierType {
        name: "discord",
        doc: "A Discord webhook.",
        plain: &[],
        secrets: &[DISCORD_WEBHOOK_URL],
    },
    NotifierType {
        name: "telegram",
        doc: "A Telegram bot posting to one chat.",
        plain: &[
            CHAT_ID,
            Key::new(
                "api_url",
                Kind::Text,
                "A self-hosted Bot API server (default https://api.telegram.org).",
            ),
        ],
        secrets: &[BOT_TOKEN],
    },
    NotifierType {
        name: "email",
        doc: "Mail through an SMTP server.",
        plain: &[
            Key::new("host", Kind::Text, "The SMTP server's name or address.").required(),
            EMAIL_PORT,
            EMAIL_TLS_KEY,
            Key::new(
                "username",
                Kind::Text,
                "The SMTP user; with password, both or neither.",
            ),
            Key::new(
                "from",
                Kind::Text,
                "The sender: name@example.com or \"Name <name@example.com>\".",
            )
            .required(),
            Key::new(
                "to",
                Kind::List { non_empty: true },
                "The recipients' addresses.",
            )
            .required(),
            Key::new(
                "cc",
                Kind::List { non_empty: false },
                "Copied recipients' addresses.",
            ),
        ],
        secrets: &[EMAIL_PASSWORD],
    },
    NotifierType {
        name: "webhook",
        doc: "An HTTP POST of each event as JSON.",
        plain: &[Key::new(
            "headers",
            Kind::StringMap,
            "Extra HTTP headers sent with each request.",
        )],
        secrets: &[WEBHOOK_URL, WEBHOOK_SECRET],
    },
    NotifierType {
        name: "command",
        doc: "A shell command that reads each event as JSON on stdin.",
        plain: &[Key::new(
            "run",
            Kind::Text,
            "The shell command, run by /bin/sh -c with the event on stdin (30s timeout).",
        )
        .required()],
        secrets: &[],
    },
];

/// The keys a `[[notifier]]` of `t` takes besides `id` and `type`, secrets with their `_env`
/// and `_file` forms.
pub(crate) fn notifier_keys(t: &NotifierType) -> Vec<String> {
    let mut keys: Vec<String> = t.plain.iter().map(|k| k.name.to_string()).collect();
    for k in t.secrets {
        keys.extend([
            k.name.to_string(),
            format!("{}_env", k.name),
            format!("{}_file", k.name),
        ]);
    }
    keys
}
