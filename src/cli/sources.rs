//! `signpost sources add | list | pull`.

use super::*;

/// `signpost sources …`.
pub(super) async fn sources(
    command: SourcesCommand,
    storage: StorageArgs,
) -> anyhow::Result<ExitCode> {
    match command {
        SourcesCommand::Add { name, url } => {
            let store = open_store(&storage.database_url).await?;
            let name = crate::domain::fields::Name::parse(&name)
                .map_err(|e| anyhow::anyhow!("the name: {e}"))?;
            let input = crate::directory::sources::SourceInput { name, url };
            let s = crate::directory::sources::register_source(&store, input)
                .await
                .map_err(plain)?;
            println!(
                "added source {} ({}): {}; a running server pulls it on its schedule",
                s.name, s.id, s.url
            );
        }
        SourcesCommand::List => {
            for s in open_store(&storage.database_url).await?.sources().await? {
                println!(
                    "{}  {:<24} {:<8} {:>7} records  last good pull {}  {}",
                    s.id,
                    s.name,
                    s.state,
                    s.records,
                    s.last_success_at
                        .map_or("never".into(), |t| crate::storage::ts(&t)),
                    s.url
                );
                if let Some(e) = &s.last_error {
                    println!("    last error: {e}");
                }
            }
        }
        SourcesCommand::Pull { name, full, pull } => {
            let directory = offline_directory(&storage, "it pulls on its schedule").await?;
            let holder = format!("cli-{}", std::process::id());
            let reports = directory
                .pull_sources(name.as_deref(), &pull.pull_settings(), &holder, full)
                .await?;
            directory.close().await;
            let Some(reports) = reports else {
                anyhow::bail!("another process is pulling sources right now; try again later");
            };
            let mut failed = false;
            for r in &reports {
                println!(
                    "{}: {} pull, {} pages, {} new, {} changed, {} unchanged, {} vanished, {} possible duplicates, {} rejected, {:.1}s",
                    r.source,
                    if r.full { "full" } else { "changes-only" },
                    r.pages,
                    r.new,
                    r.changed,
                    r.unchanged,
                    r.vanished,
                    r.possible_duplicates,
                    r.rejected.len(),
                    r.seconds
                );
                for (id, why) in r.rejected.iter().take(50) {
                    println!("    rejected {id}: {why}");
                }
                if let Some(e) = &r.error {
                    failed = true;
                    println!("    failed: {e}");
                }
            }
            if failed {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
