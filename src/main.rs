//! The `runwisp` binary: parse the command line and hand over to `cli::run`.

fn main() {
    let code = runwisp::cli::run();
    std::process::exit(code);
}
