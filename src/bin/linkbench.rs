//! Link-check benchmark: N URLs spread over H local hosts (distinct addresses in
//! 127.0.0.0/8, so per-host politeness really applies), checked with the politeness
//! settings on. Reports URLs per second and the checker's peak memory. See README.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use clap::Parser;
use signpost::links::checker::{CheckSettings, Checker, Outcome};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    /// URLs to check.
    #[arg(long, default_value_t = 10_000)]
    urls: usize,
    /// Distinct hosts they are spread over.
    #[arg(long, default_value_t = 1_000)]
    hosts: usize,
    /// Milliseconds between two requests to one host.
    #[arg(long, default_value_t = 500)]
    host_interval_ms: u64,
    /// Hosts checked at once.
    #[arg(long, default_value_t = 500)]
    hosts_at_once: usize,
    /// Internal: run the web sites and print their addresses.
    #[arg(long, hide = true)]
    serve: bool,
}

/// The address of host `i`: 127.1.x.y, never 127.0.0.1.
fn host_ip(i: usize) -> String {
    format!("127.1.{}.{}", i / 250, i % 250 + 1)
}

async fn page(req: HttpRequest) -> HttpResponse {
    match req.path() {
        "/missing" => HttpResponse::NotFound().finish(),
        "/moved" => HttpResponse::MovedPermanently()
            .insert_header(("Location", "/ok"))
            .finish(),
        _ => HttpResponse::Ok()
            .content_type("text/html")
            .body("<html><body><h1>Community larder</h1><p>Open Saturdays.</p></body></html>"),
    }
}

fn serve(hosts: usize) -> anyhow::Result<()> {
    let mut listeners = Vec::with_capacity(hosts);
    for i in 0..hosts {
        let l = std::net::TcpListener::bind((host_ip(i).as_str(), 0))?;
        println!("{}", l.local_addr()?);
        listeners.push(l);
    }
    println!("ready");
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(|| App::new().default_service(web::to(page)))
            .workers(1)
            .backlog(64);
        for l in listeners {
            server = server.listen(l)?;
        }
        server.run().await
    })?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve {
        return serve(args.hosts);
    }
    // The sites run in a child process, so the memory measured is the checker's.
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve", "--hosts", &args.hosts.to_string()])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut addresses = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line?;
        if line == "ready" {
            break;
        }
        addresses.push(line);
    }
    anyhow::ensure!(addresses.len() == args.hosts, "the sites did not start");
    let paths = [
        "/ok", "/about", "/refer", "/missing", "/moved", "/contact", "/", "/ok?x=1", "/events",
        "/groups",
    ];
    let urls: Vec<String> = (0..args.urls)
        .map(|i| {
            let host = &addresses[i % args.hosts];
            format!("http://{host}{}", paths[(i / args.hosts) % paths.len()])
        })
        .collect();
    let settings = CheckSettings {
        host_interval: Duration::from_millis(args.host_interval_ms),
        hosts_at_once: args.hosts_at_once,
        ..CheckSettings::default()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let (results, seconds) = runtime.block_on(async {
        let checker = Arc::new(Checker::new(settings.clone())?);
        let started = Instant::now();
        let results = checker.check_all(urls, |_| {}).await;
        anyhow::Ok((results, started.elapsed().as_secs_f64()))
    })?;
    let _ = child.kill();
    let _ = child.wait();
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &results {
        *by.entry(r.finding).or_default() += 1;
    }
    let ok = results.iter().filter(|r| r.outcome == Outcome::Ok).count();
    println!(
        "{} URLs over {} hosts in {seconds:.1}s: {:.0} URLs/s (politeness: {} ms between requests to a host, one at a time; {} hosts at once)",
        results.len(),
        args.hosts,
        results.len() as f64 / seconds,
        args.host_interval_ms,
        args.hosts_at_once
    );
    println!("findings: {by:?} ({ok} ok)");
    println!(
        "checker peak memory: {:.0} MiB",
        signpost::telemetry::peak_rss_mib("self")
    );
    Ok(())
}
