use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // clap exits 2 on a usage error; deckhand keeps 2 for "changes" (SPEC §3).
    let cli = match deckhand::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(deckhand::commands::execute(cli)) {
        Ok(code) => code,
        Err(e) => {
            // The chain can quote an engine or a container: shown escaped.
            let message = format!("{e:#}");
            eprintln!("error: {}", deckhand::render::safe::escape_lines(&message));
            ExitCode::from(deckhand::commands::refusal::exit_code(&e))
        }
    }
}
