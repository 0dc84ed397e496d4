//! The command line's shape: clap's own consistency checks, which options each command takes,
//! and how an option given before the subcommand combines with the subcommand's own.

use clap::CommandFactory;

use super::*;

fn parse(args: &[&str]) -> Cli {
    Cli::parse_args(std::iter::once("runwisp").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// The long options a subcommand's help lists (globals included).
fn options_of(name: &str) -> Vec<String> {
    let mut root = Cli::command();
    root.build();
    let sub = root
        .find_subcommand(name)
        .unwrap_or_else(|| panic!("no subcommand {name}"));
    sub.get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect()
}

#[test]
fn clap_accepts_the_definitions() {
    Cli::command().debug_assert();
}

#[test]
fn each_subcommand_lists_only_what_it_takes() {
    let remote = ["url", "password"];
    let listen = ["host", "port"];
    let look = ["theme", "keymap"];
    let cases: [(&str, &[&[&str]]); 19] = [
        ("daemon", &[&listen]),
        ("exec", &[&remote]),
        ("run-task", &[&remote]),
        ("stop", &[&remote]),
        ("restart", &[&remote]),
        ("completions", &[]),
        ("man", &[]),
        ("status", &[&remote]),
        ("password", &[]),
        ("openapi", &[]),
        ("schema", &[]),
        ("tui", &[&remote, &look]),
        ("list", &[&remote]),
        ("runs", &[&remote]),
        ("logs", &[&remote]),
        ("notifications", &[&remote]),
        ("validate", &[]),
        ("init", &[]),
        ("cron", &[]),
    ];
    for (name, takes) in cases {
        let options = options_of(name);
        for group in [&remote[..], &listen[..], &look[..]] {
            let wanted = takes.contains(&group);
            for option in group {
                assert_eq!(
                    options.iter().any(|o| o == option),
                    wanted,
                    "`runwisp {name} --help` and --{option}: {options:?}"
                );
            }
        }
        for global in ["config", "data"] {
            assert!(options.iter().any(|o| o == global), "{name}: --{global}");
        }
    }
}

#[test]
fn every_option_says_what_it_does() {
    let mut root = Cli::command();
    root.build();
    for sub in root.get_subcommands() {
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            if arg.get_long() == Some("help") {
                continue;
            }
            assert!(
                arg.get_help().is_some_and(|h| !h.to_string().is_empty()),
                "`runwisp {}` option {:?} has no help text",
                sub.get_name(),
                arg.get_id()
            );
        }
    }
}

#[test]
fn options_before_the_subcommand_still_work_where_they_apply() {
    let cli = parse(&["--url", "http://a", "--password", "p", "runs"]);
    assert_eq!(cli.url.as_deref(), Some("http://a"));
    assert_eq!(cli.password.as_deref(), Some("p"));
    let cli = parse(&["--url", "http://a", "runs", "--url", "http://b"]);
    assert_eq!(
        cli.url.as_deref(),
        Some("http://b"),
        "the subcommand's wins"
    );
    let cli = parse(&["--port", "7", "daemon"]);
    assert_eq!(cli.port, Some(7));
    let cli = parse(&["daemon", "--host", "::1", "--port", "8"]);
    assert_eq!((cli.host.as_deref(), cli.port), (Some("::1"), Some(8)));
    let cli = parse(&["--headless", "--port", "9"]);
    assert_eq!(cli.port, Some(9));
    let cli = parse(&["tui", "--theme", "light", "--keymap", "vim"]);
    assert_eq!(
        (cli.theme.as_str(), cli.keymap.as_deref()),
        ("light", Some("vim"))
    );
    let cli = parse(&["runs", "-c", "/etc/runwisp/runwisp.toml"]);
    assert_eq!(cli.data, std::path::Path::new("/etc/runwisp/data"));
}

#[test]
fn options_before_a_subcommand_that_does_not_take_them_are_refused() {
    for args in [
        &["--theme", "light", "runs"][..],
        &["--url", "http://a", "cron", "@daily"],
        &["--port", "1", "status"],
    ] {
        let argv = std::iter::once("runwisp").chain(args.iter().copied());
        let err = Cli::parse_args(argv).expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("does not apply to `runwisp "), "{text}");
    }
}

#[test]
fn list_asks_a_daemon_only_with_url() {
    if std::env::var_os("RUNWISP_URL").is_some() {
        return; // the environment asks for one already
    }
    assert!(!parse(&["list"]).list_from_daemon());
    let bare = parse(&["list", "--url", "--json"]);
    assert!(bare.list_from_daemon());
    assert_eq!(bare.url, None, "a bare --url means the local daemon");
    let given = parse(&["list", "--url", "http://a", "--password", "p"]);
    assert!(given.list_from_daemon());
    assert_eq!(given.url.as_deref(), Some("http://a"));
    assert_eq!(given.password.as_deref(), Some("p"));
}

#[test]
fn notify_test_takes_the_remote_options_here_or_before_it() {
    let cli = parse(&[
        "notify",
        "test",
        "hook",
        "--url",
        "http://a",
        "--password",
        "p",
    ]);
    assert_eq!(cli.url.as_deref(), Some("http://a"));
    assert_eq!(cli.password.as_deref(), Some("p"));
    assert!(matches!(
        &cli.command,
        Some(Command::Notify { action: NotifyAction::Test { id, .. } }) if id == "hook"
    ));
    let cli = parse(&["--url", "http://b", "notify", "test", "hook"]);
    assert_eq!(cli.url.as_deref(), Some("http://b"));
    let cli = parse(&["notifications", "--unread", "-n", "5", "--url", "http://c"]);
    assert_eq!(cli.url.as_deref(), Some("http://c"));
    let out_of_range = Cli::parse_args(["runwisp", "notifications", "-n", "0"]);
    assert!(out_of_range.is_err(), "-n 0 is refused");
}

#[test]
fn stop_and_restart_take_the_remote_options_here_or_before_them() {
    let cli = parse(&[
        "stop",
        "0a1b",
        "--json",
        "--url",
        "http://a",
        "--password",
        "p",
    ]);
    assert_eq!(cli.url.as_deref(), Some("http://a"));
    assert_eq!(cli.password.as_deref(), Some("p"));
    assert!(matches!(
        &cli.command,
        Some(Command::Stop { target, json: true, .. }) if target == "0a1b"
    ));
    let cli = parse(&["--url", "http://b", "restart", "web"]);
    assert_eq!(cli.url.as_deref(), Some("http://b"));
    assert!(matches!(
        &cli.command,
        Some(Command::Restart { service, json: false, .. }) if service == "web"
    ));
    assert!(
        Cli::parse_args(["runwisp", "stop"]).is_err(),
        "stop needs a target"
    );
    let refused = Cli::parse_args(["runwisp", "--url", "http://a", "man"]);
    assert!(refused.is_err(), "man takes no --url");
}

#[test]
fn completions_take_bash_zsh_or_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let cli = parse(&["completions", shell]);
        assert!(
            matches!(cli.command, Some(Command::Completions { .. })),
            "{shell}"
        );
    }
    assert!(Cli::parse_args(["runwisp", "completions", "tcsh"]).is_err());
    assert!(Cli::parse_args(["runwisp", "completions"]).is_err());
}

#[test]
fn the_man_page_starts_with_its_header_and_describes_every_command_once() {
    let page = String::from_utf8(super::super::completions::man_page().unwrap()).unwrap();
    assert!(page.starts_with(".TH runwisp 1 "), "{page}");
    assert_eq!(
        page.matches(".ds Aq").count(),
        2,
        "the apostrophe is defined once"
    );
    let mut root = Cli::command();
    root.build();
    for sub in root.get_subcommands().filter(|s| s.get_name() != "help") {
        let heading = format!(".SS \"runwisp {}\"", sub.get_name());
        assert_eq!(page.matches(&heading).count(), 1, "{heading}");
    }
    // --config and --data are described once, at the top, not under every command.
    assert_eq!(page.matches("RUNWISP_CONFIG").count(), 1);
}
