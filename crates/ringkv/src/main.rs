//! The `ringkv` binary: parses the command line and runs the chosen subcommand.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RINGKV_LOG")
                .unwrap_or_else(|_| "info,fjall=warn,lsm_tree=warn,openraft=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringkv: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
