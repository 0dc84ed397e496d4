//! One fixture per configuration error kind (`tests/fixtures/config/`), each checked against the
//! exact error lines it produces: file, line, column, key path and message, in file order.

use std::path::Path;

use super::load_str;

/// The errors of fixture `file` as `runwisp validate` prints them, one string each.
fn errors_of(file: &str, text: &str) -> Vec<String> {
    match load_str(file, text, Path::new("/srv/app/runwisp.toml")) {
        Ok(_) => panic!("{file} loaded, but it should have been rejected"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

/// Asserts that fixture `$file` produces exactly `$expected`, in that order. (Invoked with braces
/// so rustfmt leaves the long expected lines alone.)
macro_rules! fixture {
    ($name:ident, $file:literal, [$($expected:literal),+ $(,)?]) => {
        #[test]
        fn $name() {
            let text = include_str!(concat!("../../../tests/fixtures/config/", $file));
            assert_eq!(errors_of($file, text), [$($expected),+]);
        }
    };
}

// Syntax and structure.

fixture! {
    syntax_error, "syntax_error.toml", [
        "syntax_error.toml:3:18: TOML syntax error: invalid basic string, expected `\"`",
    ]
}

fixture! {
    unknown_key_suggests_the_close_one, "unknown_key_suggestion.toml", [
        "unknown_key_suggestion.toml:4:1: tasks.backup.retry_dealy: unknown key `retry_dealy`; did you mean `retry_delay`?",
    ]
}

fixture! {
    unknown_key_without_suggestion, "unknown_key_no_suggestion.toml", [
        "unknown_key_no_suggestion.toml:3:1: tasks.backup.colour: unknown key `colour`",
    ]
}

fixture! {
    unknown_top_level_table, "unknown_table.toml", [
        "unknown_table.toml:4:2: logging: unknown section `[logging]`",
    ]
}

fixture! {
    pipeline_errors, "pipeline_errors.toml", [
        "pipeline_errors.toml:8:19: pipelines.release.steps[1]: unknown step \"biuld\": no task or pipeline has that name",
        "pipeline_errors.toml:8:28: pipelines.release.steps[2]: \"web\" is a service; a pipeline step is a task or a pipeline (a service is kept alive, it never finishes)",
        "pipeline_errors.toml:8:58: pipelines.release.steps[3].parallel[1]: \"build\" is listed twice in this parallel group; a group runs each step once",
        "pipeline_errors.toml:11:9: pipelines.empty.steps: `steps` cannot be empty: a pipeline runs at least one step",
        "pipeline_errors.toml:13:12: pipelines.loop-a: pipeline \"loop-a\" contains itself: loop-a → loop-b → loop-a; a pipeline cannot run itself, directly or through sub-pipelines",
        "pipeline_errors.toml:20:1: pipelines.nested.run: `run` is not a pipeline key: a pipeline runs its steps, each with its own task's settings (set it on those tasks)",
        "pipeline_errors.toml:21:24: pipelines.nested.steps[0].parallel[0]: a parallel group inside a parallel group is not allowed; list its members in the outer group",
        "pipeline_errors.toml:21:62: pipelines.nested.steps[1]: \"release\" is a pipeline; write { pipeline = \"release\" }",
        "pipeline_errors.toml:21:88: pipelines.nested.steps[2]: \"build\" is a task; write { task = \"build\" }",
        "pipeline_errors.toml:23:12: pipelines.build: the name \"build\" is used by both a task and a pipeline; tasks, services and pipelines share one namespace",
    ]
}

// Types and ranges.

fixture! {
    string_where_integer_expected, "wrong_type_integer.toml", [
        "wrong_type_integer.toml:3:18: tasks.backup.max_concurrent: expected an integer, found a string",
    ]
}

fixture! {
    string_where_boolean_expected, "wrong_type_bool.toml", [
        "wrong_type_bool.toml:3:15: tasks.backup.api_trigger: expected true or false, found a string",
    ]
}

fixture! {
    integer_where_duration_expected, "duration_as_integer.toml", [
        "duration_as_integer.toml:3:11: tasks.backup.timeout: expected a duration such as \"30s\" or \"5m\", found an integer",
    ]
}

fixture! {
    max_concurrent_zero, "max_concurrent_zero.toml", [
        "max_concurrent_zero.toml:3:18: tasks.backup.max_concurrent: must be between 1 and 1024 (got 0)",
    ]
}

fixture! {
    max_concurrent_too_large, "max_concurrent_too_large.toml", [
        "max_concurrent_too_large.toml:3:18: tasks.backup.max_concurrent: must be between 1 and 1024 (got 2000)",
    ]
}

fixture! {
    queue_max_zero, "queue_max_zero.toml", [
        "queue_max_zero.toml:3:13: tasks.backup.queue_max: must be between 1 and 10000 (got 0)",
    ]
}

fixture! {
    retry_attempts_too_many, "retry_attempts_too_many.toml", [
        "retry_attempts_too_many.toml:3:18: tasks.backup.retry_attempts: must be between 0 and 100 (got 101)",
    ]
}

fixture! {
    keep_runs_zero, "keep_runs_zero.toml", [
        "keep_runs_zero.toml:3:13: tasks.backup.keep_runs: must be between 1 and 1000000 (got 0)",
    ]
}

fixture! {
    instances_too_many, "instances_too_many.toml", [
        "instances_too_many.toml:3:13: services.web.instances: must be between 1 and 64 (got 65)",
    ]
}

fixture! {
    max_catch_up_runs_zero, "max_catch_up_runs_zero.toml", [
        "max_catch_up_runs_zero.toml:5:21: tasks.report.max_catch_up_runs: must be between 1 and 1000000 (got 0)",
    ]
}

// Durations and sizes.

fixture! {
    bad_duration, "bad_duration.toml", [
        "bad_duration.toml:4:15: tasks.backup.retry_delay: \"5 minutes\" is not a duration; durations look like 300ms, 5s, 10m, 1h30m, 2d or 1w",
    ]
}

fixture! {
    zero_duration_where_positive, "zero_duration.toml", [
        "zero_duration.toml:3:11: tasks.backup.timeout: must be a positive duration (got \"0s\")",
    ]
}

fixture! {
    negative_size, "negative_size.toml", [
        "negative_size.toml:2:18: storage.min_free_space: a size cannot be negative (got \"-1gb\")",
    ]
}

fixture! {
    zero_log_max_size, "zero_log_max_size.toml", [
        "zero_log_max_size.toml:3:16: tasks.backup.log_max_size: must be a positive size (got 0)",
    ]
}

fixture! {
    bad_size_unit, "bad_size_unit.toml", [
        "bad_size_unit.toml:2:16: defaults.log_max_size: unknown size unit \"MiB\" in \"10MiB\"; sizes look like 512b, 10kb, 10MB, 1.5gb or 1tb",
    ]
}

// Closed sets of values.

fixture! {
    bad_on_overlap, "bad_on_overlap.toml", [
        "bad_on_overlap.toml:3:14: tasks.backup.on_overlap: \"wait\" is not one of \"queue\", \"skip\", \"terminate\"",
    ]
}

fixture! {
    bad_catch_up, "bad_catch_up.toml", [
        "bad_catch_up.toml:4:12: tasks.backup.catch_up: \"none\" is not one of \"latest\", \"all\", \"skip\"",
    ]
}

fixture! {
    bad_log_on_full, "bad_log_on_full.toml", [
        "bad_log_on_full.toml:3:15: tasks.backup.log_on_full: \"truncate\" is not one of \"drop_old\", \"drop_new\", \"kill_task\"",
    ]
}

fixture! {
    bad_retry_backoff, "bad_retry_backoff.toml", [
        "bad_retry_backoff.toml:4:17: tasks.backup.retry_backoff: \"fibonacci\" is not one of \"constant\", \"linear\", \"exponential\"",
    ]
}

fixture! {
    bad_restart_backoff, "bad_restart_backoff.toml", [
        "bad_restart_backoff.toml:3:19: services.worker.restart_backoff: \"random\" is not one of \"constant\", \"linear\", \"exponential\"",
    ]
}

// Tasks versus services.

fixture! {
    restart_always_on_a_task, "restart_always.toml", [
        "restart_always.toml:3:11: tasks.watcher.restart: restart = \"always\" is not allowed on tasks; use [services.NAME] for a process that must stay alive",
    ]
}

fixture! {
    restart_on_failure_with_retries, "restart_on_failure_with_retries.toml", [
        "restart_on_failure_with_retries.toml:4:11: tasks.sync.restart: restart = \"on_failure\" cannot be combined with retry_attempts > 0; choose one of them",
    ]
}

fixture! {
    services_only_key_on_a_task, "task_with_instances.toml", [
        "task_with_instances.toml:3:1: tasks.backup.instances: `instances` is a services-only key; a task runs once per firing (use [services.NAME] to keep a process alive)",
    ]
}

fixture! {
    tasks_only_keys_on_a_service, "service_with_task_keys.toml", [
        "service_with_task_keys.toml:3:1: services.worker.cron: `cron` is a tasks-only key; a service is kept alive, not scheduled, retried or timed out (use [tasks.NAME] for that)",
        "service_with_task_keys.toml:4:1: services.worker.timeout: `timeout` is a tasks-only key; a service is kept alive, not scheduled, retried or timed out (use [tasks.NAME] for that)",
        "service_with_task_keys.toml:5:1: services.worker.retry_delay: `retry_delay` is a tasks-only key; a service is kept alive, not scheduled, retried or timed out (use [tasks.NAME] for that)",
        "service_with_task_keys.toml:6:1: services.worker.on_overlap: `on_overlap` is a tasks-only key; a service is kept alive, not scheduled, retried or timed out (use [tasks.NAME] for that)",
    ]
}

fixture! {
    missing_run, "missing_run.toml", [
        "missing_run.toml:1:1: tasks.backup: missing required key `run` (the shell command this task runs)",
    ]
}

fixture! {
    empty_run, "empty_run.toml", [
        "empty_run.toml:2:7: tasks.backup.run: `run` cannot be empty",
    ]
}

// Schedules and zones.

fixture! {
    invalid_cron, "invalid_cron.toml", [
        "invalid_cron.toml:3:8: tasks.backup.cron: invalid cron expression \"0 25 * * *\": hour field: 25 is out of range 0-23",
    ]
}

fixture! {
    never_firing_cron, "never_firing_cron.toml", [
        "never_firing_cron.toml:3:8: tasks.leap.cron: invalid cron expression \"0 0 31 2 *\": it can never fire: no calendar day matches its day and month fields",
    ]
}

fixture! {
    every_below_one_second, "every_too_short.toml", [
        "every_too_short.toml:3:8: tasks.poll.cron: @every must be at least 1s (got 500ms)",
    ]
}

fixture! {
    unknown_task_timezone, "unknown_timezone_task.toml", [
        "unknown_timezone_task.toml:4:12: tasks.backup.timezone: unknown time zone \"Europe/Bratislav\" (use an IANA name such as \"Europe/Bratislava\" or \"UTC\")",
    ]
}

fixture! {
    unknown_scheduler_timezone, "unknown_timezone_scheduler.toml", [
        "unknown_timezone_scheduler.toml:2:12: scheduler.timezone: unknown time zone \"CEST\" (use an IANA name such as \"Europe/Bratislava\" or \"UTC\")",
    ]
}

// Names and environment.

fixture! {
    task_and_service_share_a_name, "name_clash.toml", [
        "name_clash.toml:4:11: services.web: the name \"web\" is used by both a task and a service; tasks, services and pipelines share one namespace",
    ]
}

fixture! {
    hostile_names, "hostile_names.toml", [
        "hostile_names.toml:1:8: tasks: \"../x\" is not a valid task name: a name must start with an ASCII letter or a digit",
        "hostile_names.toml:4:8: tasks: \"tâche\" is not a valid task name: a name may only contain ASCII letters, digits, '.', '_' and '-' (found 'â')",
        "hostile_names.toml:7:8: tasks: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…\" is not a valid task name: a name is at most 100 characters long (this one has 200)",
        "hostile_names.toml:10:8: tasks: \"-x\" is not a valid task name: a name must start with an ASCII letter or a digit",
    ]
}

fixture! {
    bad_env_var_name, "env_bad_name.toml", [
        "env_bad_name.toml:3:9: tasks.backup.env.LOG-LEVEL: \"LOG-LEVEL\" is not a valid environment variable name (use ASCII letters, digits and '_', not starting with a digit)",
    ]
}

fixture! {
    runwisp_env_prefix_is_reserved, "env_runwisp_prefix.toml", [
        "env_runwisp_prefix.toml:3:29: tasks.backup.env.RUNWISP_TASK: names starting with RUNWISP_ are reserved for runwisp itself; choose another name",
    ]
}

fixture! {
    bad_listen_address, "bad_listen.toml", [
        "bad_listen.toml:2:10: daemon.listen: \"9477\" is not a listen address; write HOST:PORT, like \"127.0.0.1:9477\"",
    ]
}

// Notifiers and routes.

fixture! {
    notifier_with_unknown_type, "notifier_unknown_type.toml", [
        "notifier_unknown_type.toml:3:8: notifier[0].type: notifier \"pager\": \"pagerduty\" is not one of \"slack\", \"discord\", \"telegram\", \"email\", \"webhook\", \"command\"",
    ]
}

fixture! {
    notifier_with_two_secret_sources, "notifier_two_secrets.toml", [
        "notifier_two_secrets.toml:9:1: notifier[0].webhook_url_env: notifier \"slack-ops\": set only one of `webhook_url`, `webhook_url_env` and `webhook_url_file` (`webhook_url` is already set)",
    ]
}

fixture! {
    notifier_missing_its_secret, "notifier_missing_secret.toml", [
        "notifier_missing_secret.toml:1:1: notifier[0]: notifier \"oncall\": missing `bot_token` (or `bot_token_env` naming an environment variable, or `bot_token_file` naming a file)",
    ]
}

fixture! {
    duplicate_notifier_id, "notifier_duplicate_id.toml", [
        "notifier_duplicate_id.toml:7:6: notifier[1].id: notifier id \"ops\" is already used by an earlier [[notifier]]",
    ]
}

fixture! {
    notifier_named_inapp, "notifier_inapp_id.toml", [
        "notifier_inapp_id.toml:2:6: notifier[0].id: notifier id \"inapp\" is reserved for the built-in in-app notifier; choose another id",
    ]
}

fixture! {
    undeclared_notifier, "unknown_notifier_reference.toml", [
        "unknown_notifier_reference.toml:3:31: tasks.backup.notify_on_failure: unknown notifier \"slack-opps\"; declared notifiers: inapp, slack-ops",
    ]
}

fixture! {
    route_with_unknown_event_kind, "route_bad_kind.toml", [
        "route_bad_kind.toml:2:33: notification_route[0].match.kind: \"run.failure\" is not an event kind; use one of run.failed, run.timeout, run.crashed, run.succeeded, run.recovered, run.started, run.stopped, run.missed, service.flapping, log.disk_pressure, notify.delivery_failed, config.reload_failed",
    ]
}

fixture! {
    route_with_bad_severity, "route_bad_severity.toml", [
        "route_bad_severity.toml:2:22: notification_route[0].match.severity: \"critical\" is not one of \"info\", \"warn\", \"error\"",
    ]
}

fixture! {
    append_and_default_notifiers_together, "append_and_default_notifiers.toml", [
        "append_and_default_notifiers.toml:3:1: notify.default_notifiers: `default_notifiers` is another name for `append_notifiers`; set only one of them",
    ]
}

fixture! {
    notifier_secret_from_an_unset_variable, "notifier_env_unset.toml", [
        "notifier_env_unset.toml:4:19: notifier[0].webhook_url_env: notifier \"slack-ops\": the environment variable \"RUNWISP_TEST_NEVER_SET_SLACK_OPS_WEBHOOK\" is not set",
    ]
}

fixture! {
    notifier_secret_from_an_unreadable_file, "notifier_file_unreadable.toml", [
        "notifier_file_unreadable.toml:4:18: notifier[0].bot_token_file: notifier \"tg-oncall\": cannot read the file /nonexistent/runwisp-tests/tg-token: No such file or directory (os error 2)",
    ]
}

fixture! {
    notifier_with_three_secret_sources, "notifier_three_secret_sources.toml", [
        "notifier_three_secret_sources.toml:5:1: notifier[0].url_env: notifier \"hook\": set only one of `url`, `url_env` and `url_file` (`url_file` is already set)",
        "notifier_three_secret_sources.toml:7:10: notifier[0].secret: notifier \"hook\": `secret` cannot be empty",
    ]
}

fixture! {
    notifier_urls_must_be_http, "notifier_url_not_http.toml", [
        "notifier_url_not_http.toml:4:15: notifier[0].webhook_url: notifier \"slack-ops\": `webhook_url` must be an http:// or https:// URL (its value is a secret and is not shown)",
        "notifier_url_not_http.toml:9:7: notifier[1].url: notifier \"hook\": `url` must be an http:// or https:// URL (its value is a secret and is not shown)",
        "notifier_url_not_http.toml:16:11: notifier[2].api_url: notifier \"tg\": \"file:///var/run/tg.sock\" is not an http:// or https:// URL",
        "notifier_url_not_http.toml:21:15: notifier[3].webhook_url: notifier \"chat\": `webhook_url` must be an http:// or https:// URL (its value is a secret and is not shown)",
    ]
}

fixture! {
    notifier_ids_must_be_plain, "notifier_bad_ids.toml", [
        "notifier_bad_ids.toml:2:6: notifier[0].id: \"slack.ops\" is not a valid notifier id: an id may only contain ASCII letters, digits, '-' and '_' (found '.')",
        "notifier_bad_ids.toml:7:6: notifier[1].id: \"\" is not a valid notifier id: an id cannot be empty",
        "notifier_bad_ids.toml:11:1: notifier[2]: missing `id` (the name tasks and routes use to send here)",
    ]
}

fixture! {
    notifier_without_a_type, "notifier_missing_type.toml", [
        "notifier_missing_type.toml:1:1: notifier[0]: notifier \"ops\": missing `type` (one of \"slack\", \"discord\", \"telegram\", \"email\", \"webhook\", \"command\")",
    ]
}

fixture! {
    notifier_unknown_keys, "notifier_unknown_keys.toml", [
        "notifier_unknown_keys.toml:5:1: notifier[0].chanel: unknown key `chanel`; did you mean `channel`?",
        "notifier_unknown_keys.toml:6:1: notifier[0].chat_id: `chat_id` is not a key of a slack notifier (it belongs to type = \"telegram\")",
        "notifier_unknown_keys.toml:7:1: notifier[0].colour: unknown key `colour`",
    ]
}

fixture! {
    slack_channel_needs_a_sigil, "slack_bad_channel.toml", [
        "slack_bad_channel.toml:5:11: notifier[0].channel: notifier \"slack-ops\": channel \"ops\" must be \"#channel\" or \"@user\" (starting with # or @)",
    ]
}

fixture! {
    telegram_chat_id, "telegram_bad_chat_id.toml", [
        "telegram_bad_chat_id.toml:5:11: notifier[0].chat_id: notifier \"tg-a\": `chat_id` must be a string or an integer",
        "telegram_bad_chat_id.toml:7:1: notifier[1]: notifier \"tg-b\": missing `chat_id` (the chat the bot posts to)",
    ]
}

fixture! {
    email_rules, "email_errors.toml", [
        "email_errors.toml:5:7: notifier[0].tls: notifier \"mail-clear\": tls = \"none\" sends mail and its password in clear text, so it is allowed only to a loopback host (localhost, 127.0.0.1, ::1), not \"smtp.example.com\"",
        "email_errors.toml:6:1: notifier[0].username: notifier \"mail-clear\": `username` needs a `password` (or `password_env` or `password_file`); set both or neither",
        "email_errors.toml:7:8: notifier[0].from: notifier \"mail-clear\": \"runwisp\" is not a mail address (write name@example.com or \"Name <name@example.com>\")",
        "email_errors.toml:8:6: notifier[0].to: notifier \"mail-clear\": `to` needs at least one address",
        "email_errors.toml:9:28: notifier[0].cc: notifier \"mail-clear\": \"audit at example.com\" is not a mail address (write name@example.com or \"Name <name@example.com>\")",
        "email_errors.toml:15:8: notifier[1].port: must be between 1 and 65535 (got 0)",
        "email_errors.toml:17:1: notifier[1].password_env: notifier \"mail-nopass-user\": `password_env` needs a `username`; set both or neither",
        "email_errors.toml:17:16: notifier[1].password_env: notifier \"mail-nopass-user\": the environment variable \"SMTP_PASSWORD\" is not set",
        "email_errors.toml:19:26: notifier[1].to: notifier \"mail-nopass-user\": \"ops@\" is not a mail address (write name@example.com or \"Name <name@example.com>\")",
        "email_errors.toml:21:1: notifier[2]: notifier \"mail-empty\": missing `host` (the SMTP server's name or address)",
        "email_errors.toml:21:1: notifier[2]: notifier \"mail-empty\": missing `from` (the sender's address)",
        "email_errors.toml:21:1: notifier[2]: notifier \"mail-empty\": missing `to` (a list of recipient addresses)",
        "email_errors.toml:24:7: notifier[2].tls: \"tls\" is not one of \"starttls\", \"implicit\", \"none\"",
    ]
}

fixture! {
    webhook_headers, "webhook_bad_headers.toml", [
        "webhook_bad_headers.toml:5:13: notifier[0].headers.\"X Source\": notifier \"hook\": \"X Source\" is not a valid HTTP header name",
        "webhook_bad_headers.toml:5:37: notifier[0].headers.X-Token: notifier \"hook\": the value of header \"X-Token\" contains a line break or another control character",
        "webhook_bad_headers.toml:5:74: notifier[0].headers.X-A: notifier \"hook\": header \"X-A\" is set twice (header names ignore case)",
        "webhook_bad_headers.toml:5:95: notifier[0].headers.X-N: expected a string, found an integer",
    ]
}

fixture! {
    command_needs_a_run, "command_empty_run.toml", [
        "command_empty_run.toml:4:7: notifier[0].run: notifier \"script\": `run` cannot be empty",
        "command_empty_run.toml:6:1: notifier[1]: notifier \"script-2\": missing `run` (the shell command that reads the event on stdin)",
    ]
}

fixture! {
    external_url_must_be_http, "external_url_not_http.toml", [
        "external_url_not_http.toml:3:16: daemon.external_url: \"runwisp.example.com\" is not an http:// or https:// URL (notifications link to {external_url}/runs/ID)",
    ]
}

fixture! {
    route_needs_match_kind_and_notify, "route_errors.toml", [
        "route_errors.toml:2:18: notification_route[0].match.kind: `kind` cannot be empty; list the event kinds this route is for",
        "route_errors.toml:3:10: notification_route[0].notify: `notify` cannot be empty; name the notifier ids this route sends to (\"inapp\" for the in-app bell)",
        "route_errors.toml:5:1: notification_route[1]: missing `notify` (the notifier ids this route sends to)",
        "route_errors.toml:6:9: notification_route[1].match: missing `kind` (the event kinds this route is for, like [\"run.failed\"])",
        "route_errors.toml:8:1: notification_route[2]: missing `match` (at least `match = { kind = [\"run.failed\"] }`)",
    ]
}

fixture! {
    route_task_globs, "route_bad_globs.toml", [
        "route_bad_globs.toml:2:41: notification_route[0].match.task: \"backup-[0-9\" is not a valid task pattern: the `[` at character 8 is never closed by a `]`",
        "route_bad_globs.toml:6:41: notification_route[1].match.task: \"backup-[]\" is not a valid task pattern: `[]` is an empty set; a set lists at least one character, like `[abc]` or `[a-z]`",
        "route_bad_globs.toml:10:41: notification_route[2].match.task: \"backup-[z-a]\" is not a valid task pattern: the range `z-a` is backwards; write `a-z`",
        "route_bad_globs.toml:14:41: notification_route[3].match.task: \"[!]\" is not a valid task pattern: `[!]` is an empty set; a set lists at least one character, like `[abc]` or `[a-z]`",
    ]
}

fixture! {
    route_and_notify_name_undeclared_notifiers, "route_unknown_notifier.toml", [
        "route_unknown_notifier.toml:2:30: notify.append_notifiers: unknown notifier \"pager\"; declared notifiers: inapp, tg-oncall",
        "route_unknown_notifier.toml:6:20: notification_route[0].notify: unknown notifier \"tg-oncal\"; declared notifiers: inapp, tg-oncall",
    ]
}

fixture! {
    notify_after_keys, "notify_after_bad.toml", [
        "notify_after_bad.toml:3:25: tasks.fetch.notify_after_failures: must be between 1 and 1000000 (got 0)",
        "notify_after_bad.toml:4:24: tasks.fetch.notify_after_retries: expected true or false, found a string",
        "notify_after_bad.toml:8:25: services.web.notify_after_failures: must be between 1 and 1000000 (got -1)",
    ]
}

fixture! {
    notify_after_is_not_a_default, "notify_after_in_defaults.toml", [
        "notify_after_in_defaults.toml:2:1: defaults.notify_after_failures: unknown key `notify_after_failures`",
    ]
}

// All errors of a file at once.

fixture! {
    every_error_of_a_file_in_file_order, "many_errors.toml", [
        "many_errors.toml:4:1: tasks.backup.retry_dealy: unknown key `retry_dealy`; did you mean `retry_delay`?",
        "many_errors.toml:5:18: tasks.backup.max_concurrent: must be between 1 and 1024 (got 0)",
        "many_errors.toml:8:7: tasks.report.run: `run` cannot be empty",
        "many_errors.toml:9:11: tasks.report.timeout: \"forever\" is not a duration; durations look like 300ms, 5s, 10m, 1h30m, 2d or 1w",
        "many_errors.toml:13:1: services.web.cron: `cron` is a tasks-only key; a service is kept alive, not scheduled, retried or timed out (use [tasks.NAME] for that)",
        "many_errors.toml:14:13: services.web.instances: must be between 1 and 64 (got 100)",
        "many_errors.toml:17:10: daemon.listen: \"localhost\" is not a listen address; write HOST:PORT, like \"127.0.0.1:9477\"",
    ]
}

fixture! {
    out_of_range_durations_and_sizes, "out_of_range.toml", [
        "out_of_range.toml:5:8: tasks.tick.cron: invalid @every: \"1000000000w\" is longer than 100 years (36500d), the longest duration runwisp takes",
        "out_of_range.toml:6:12: tasks.tick.keep_for: \"150000000000d\" is longer than 100 years (36500d), the longest duration runwisp takes",
        "out_of_range.toml:7:16: tasks.tick.log_max_size: 2251799813685248 is larger than 1024tb, the largest size runwisp takes",
    ]
}
