//! The `ringkv` binary: parses the command line and runs the chosen subcommand.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// jemalloc, not the system allocator: a cluster node allocates and frees from many threads
/// at once, where glibc's malloc took a sixth of a node's CPU (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
