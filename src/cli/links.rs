//! `signpost check-links`.

use super::*;

/// Runs a link-check cycle now, with a progress bar and a summary.
pub(super) async fn check_links(storage: &StorageArgs, args: LinkArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&storage.database_url).await?;
    let checker = std::sync::Arc::new(Checker::new(args.check_settings())?);
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} URLs checked {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let tick = bar.clone();
    let holder = format!("cli-{}", std::process::id());
    let report = crate::links::run_cycle(
        &store,
        &checker,
        &LinkPolicy::default(),
        args.spread_days,
        &holder,
        move |r| {
            tick.inc(1);
            tick.set_message(format!("(last: {} {})", r.finding, r.url));
        },
    )
    .await?;
    bar.finish_and_clear();
    let Some(report) = report else {
        anyhow::bail!("another process is checking links right now; try again later");
    };
    println!("checked {} URLs in {:.1}s", report.urls, report.seconds);
    println!("{:<20} {:>6}", "outcome", "URLs");
    for (k, v) in &report.by_outcome {
        println!("{k:<20} {v:>6}");
    }
    println!("{:<20} {:>6}", "finding", "URLs");
    for (k, v) in &report.by_finding {
        println!("{k:<20} {v:>6}");
    }
    for (url, flag) in &report.flag_changes {
        println!("flag {:<16} {url}", flag.unwrap_or("cleared"));
    }
    Ok(ExitCode::SUCCESS)
}
