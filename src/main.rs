use clap::Parser;

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
