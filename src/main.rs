//! `latent`: the command-line front end of latent-codec.
#![deny(unsafe_code)]

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    if matches!(
        std::env::args_os()
            .nth(1)
            .as_deref()
            .and_then(|a| a.to_str()),
        Some("--version" | "-V")
    ) {
        print!("{}", cli::version());
        return ExitCode::SUCCESS;
    }
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok((report, code)) => match std::io::stdout().lock().write_all(report.as_bytes()) {
            // A closed pipe (`latent ... | head`) is the reader's choice, not an error.
            Ok(()) => ExitCode::from(code),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(code),
            Err(e) => {
                eprintln!("error: writing to stdout: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            match cli::hint(&e) {
                Some(hint) => eprintln!("error: {e:#} ({hint})"),
                None => eprintln!("error: {e:#}"),
            }
            let usage = e.chain().any(|c| c.is::<cli::UsageError>());
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
