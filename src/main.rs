use clap::Parser;

/// Search allocates many small buffers per request; mimalloc keeps that cheap under
/// concurrency.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = signpost::cli::Cli::parse();
    signpost::telemetry::init("info,tantivy=warn,sqlx=warn");
    match signpost::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
