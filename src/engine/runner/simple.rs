//! A run's command is handed to `/bin/sh -c`. Debian's shell (dash) does not `exec` the last
//! command of such a script, so a service replica of `sleep 1000` or `python3 app.py` kept an
//! idle shell between runwisp and its process for its whole life: two processes where
//! supervisord has one. A *simple* command (one command with its arguments, nothing the shell
//! would have to come back to) is given to the shell as `exec COMMAND` instead: the shell
//! expands it as before (variables, quotes) and then becomes it.
//!
//! What counts as simple is decided conservatively on the text: one line of letters, digits,
//! spaces and `_-./:=,+@%'"$`, whose first word is a program name (no assignment, no variable,
//! no quote, not a shell keyword or builtin). Anything else (`;`, `&&`, `|`, redirections,
//! `$(…)`, globs, several lines) runs exactly as written.

use std::borrow::Cow;

/// Shell words that `exec` would not run as the shell does: keywords, builtins with no program
/// of the same name (`exec cd /tmp` fails where `cd /tmp` works), and builtins that also exist
/// as programs but behave otherwise (dash's `echo -e`, or a task whose PATH lacks `/bin`), in
/// dash and in bash. Nothing is gained by exec'ing them: they start no lasting process.
const NOT_PROGRAMS: &[&str] = &[
    "!",
    "[[",
    ".",
    ":",
    "alias",
    "bg",
    "break",
    "builtin",
    "caller",
    "case",
    "cd",
    "chdir",
    "command",
    "compgen",
    "complete",
    "continue",
    "coproc",
    "declare",
    "dirs",
    "disown",
    "do",
    "done",
    "echo",
    "elif",
    "else",
    "enable",
    "esac",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fg",
    "fi",
    "for",
    "function",
    "getopts",
    "hash",
    "help",
    "if",
    "in",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "select",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "then",
    "time",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "until",
    "wait",
    "while",
];

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || " \t_-./:=,+@%'\"$".contains(c)
}

/// Whether `command` is one program with its arguments (see the module doc).
pub fn is_simple(command: &str) -> bool {
    let command = command.trim();
    if command.is_empty() || !command.chars().all(allowed) {
        return false;
    }
    let Some(first) = command.split([' ', '\t']).next() else {
        return false;
    };
    !first.contains(['=', '$', '\'', '"']) && !NOT_PROGRAMS.contains(&first)
}

/// The script given to `/bin/sh -c` for `command`.
pub fn script(command: &str) -> Cow<'_, str> {
    if is_simple(command) {
        Cow::Owned(format!("exec {}", command.trim()))
    } else {
        Cow::Borrowed(command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_program_with_its_arguments_is_execed() {
        for command in [
            "sleep 1000",
            "python3 app.py --port 8080",
            "/usr/bin/backup --to=s3://bucket/path",
            "logger -t backup \"$RUNWISP_RUN_ID\"",
            "  node server.js  ",
            "rsync -a src/ host:dst/",
            "curl -fsS https://example.com/health",
        ] {
            assert!(is_simple(command), "{command}");
            assert_eq!(script(command), format!("exec {}", command.trim()));
        }
    }

    #[test]
    fn anything_the_shell_comes_back_to_runs_as_written() {
        for command in [
            "",
            "   ",
            "echo a; echo b",
            "make && make install",
            "a || b",
            "ps aux | grep x",
            "echo hi > out.txt",
            "cat < in",
            "sleep 10 &",
            "echo $(date)",
            "echo `date`",
            "ls *.log",
            "echo one\necho two",
            "cd /srv && ./run",
            "cd /srv",
            "export A=1",
            "A=1 env",
            "$CMD --flag",
            "'quoted program' arg",
            "if true",
            "exit 3",
            ": nothing",
            ". ./env.sh",
            "exec sleep 1",
            "{ echo a; }",
            "(sleep 1)",
            "echo ~",
            "echo a # comment",
            "echo -e x",
            "printf '%s' x",
            "true",
            "kill 1234",
            "chdir /",
            "pushd /tmp",
        ] {
            assert!(!is_simple(command), "{command:?}");
            assert_eq!(script(command), command);
        }
    }
}
