use clap::Parser;

/// mimalloc rather than the system's allocator: a search allocates and frees many small
/// buffers (question words, document sets, the response), and under two busy HTTP
/// workers glibc's malloc and free were a fifth of the server's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = signpost::cli::Cli::parse();
    signpost::links::checker::install_tls_provider();
    signpost::telemetry::init("info,tantivy=warn,sqlx=warn");
    match signpost::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
