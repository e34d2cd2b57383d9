//! The records as a whole: migrate, backup, purge, import, export, demo, reindex.

use super::*;

/// `signpost migrate`.
pub(super) async fn migrate(storage: &StorageArgs) -> anyhow::Result<ExitCode> {
    open_store(&storage.database_url).await?;
    eprintln!("database is up to date");
    Ok(ExitCode::SUCCESS)
}

/// `signpost backup FILE`.
pub(super) async fn backup(
    storage: &StorageArgs,
    file: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let store = open_store(&storage.database_url).await?;
    store.backup_to(file).await?;
    eprintln!("backed up into {}", file.display());
    Ok(ExitCode::SUCCESS)
}

/// `signpost purge`.
pub(super) async fn purge(
    storage: &StorageArgs,
    retention: &RetentionArgs,
) -> anyhow::Result<ExitCode> {
    let store = open_store(&storage.database_url).await?;
    let retention = retention.retention();
    let purged = crate::directory::retention::purge(&store, &retention, chrono::Utc::now()).await?;
    println!(
        "purged {} history rows, {} resolved reports, {} link checks",
        purged.history, purged.resolved_reports, purged.link_checks
    );
    Ok(ExitCode::SUCCESS)
}

/// `signpost import FILE` (NDJSON, or an Open Referral UK feed with `--format oruk`).
pub(super) async fn import(
    storage: &StorageArgs,
    file: &std::path::Path,
    format: &str,
) -> anyhow::Result<ExitCode> {
    if format == "oruk" {
        let store = open_store(&storage.database_url).await?;
        let text = if file.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin().lock())?
        } else {
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
        };
        let done = crate::oruk::reading::import(&store, &text).await?;
        eprintln!(
            "imported {} services; rejected {} records",
            done.report.imported,
            done.report.rejected.len()
        );
        for (n, why) in done.report.rejected.iter().take(100) {
            eprintln!("  record {n}: rejected: {why}");
        }
        for (n, note) in done.notes.iter().take(200) {
            eprintln!("  record {n}: {note}");
        }
        if done.notes.len() > 200 {
            eprintln!("  … and {} more notes", done.notes.len() - 200);
        }
    } else {
        let store = open_store(&storage.database_url).await?;
        let report = if file.as_os_str() == "-" {
            crate::ndjson::import(&store, std::io::stdin().lock(), None, true).await?
        } else {
            let f =
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let size = f.metadata().ok().map(|m| m.len());
            crate::ndjson::import(&store, BufReader::new(f), size, true).await?
        };
        eprintln!(
            "imported {} services; rejected {} lines",
            report.imported,
            report.rejected.len()
        );
        for (line, why) in report.rejected.iter().take(100) {
            eprintln!("  line {line}: {why}");
        }
        if report.rejected.len() > 100 {
            eprintln!("  … and {} more", report.rejected.len() - 100);
        }
        eprintln!(
            "a running server makes them searchable within seconds; otherwise at its next start"
        );
        if !report.rejected.is_empty() {
            return Ok(ExitCode::from(2));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `signpost export`.
pub(super) async fn export(
    storage: &StorageArgs,
    output: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let store = open_store(&storage.database_url).await?;
    let count = match output {
        Some(path) => {
            let f = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            crate::ndjson::export(&store, &mut std::io::BufWriter::new(f)).await?
        }
        None => {
            crate::ndjson::export(
                &store,
                &mut std::io::BufWriter::new(std::io::stdout().lock()),
            )
            .await?
        }
    };
    eprintln!("exported {count} services");
    Ok(ExitCode::SUCCESS)
}

/// `signpost demo`.
pub(super) fn demo() -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for s in crate::demo::services()? {
        writeln!(out, "{s}")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `signpost reindex`.
pub(super) async fn reindex(storage: &StorageArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&storage.database_url).await?;
    let index = SearchIndex::open(&storage.index_dir, store, SearchSettings::default()).await?;
    // An empty or unusable index folder was just built by `open`: once is enough.
    let report = match index.built_on_open() {
        Some(report) => report.clone(),
        None => index.rebuild().await?,
    };
    // Flushed and marked as properly stopped, so the next start need not check it.
    index.shutdown().await;
    eprintln!(
        "indexed {} services in {:.1}s (change log at {})",
        report.services, report.seconds, report.seq
    );
    Ok(ExitCode::SUCCESS)
}
