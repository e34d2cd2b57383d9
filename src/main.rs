use clap::Parser;

/// mimalloc rather than the system's allocator: a search allocates and frees many small
/// buffers (question words, document sets, the response), and under two busy HTTP
/// workers glibc's malloc and free were a fifth of the server's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = signpost::cli::Cli::parse();
    if !matches!(cli.command, signpost::cli::Command::Serve(_)) {
        // A command's output piped into `head` ends quietly when the pipe closes, as
        // other command-line tools' does, instead of panicking in `println!`. The server
        // keeps Rust's default of ignoring the signal: a client that hangs up is an
        // error to handle, not the end.
        // SAFETY: restores the signal's default action; no handler runs Rust code.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
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
