//! `signpost geo import | import-dir | status`.

use super::*;

/// Loads or lists the reference data for eligibility.
pub(super) async fn geo(storage: &StorageArgs, geo: GeoCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&storage.database_url).await?;
    let summaries = match geo {
        GeoCommand::Import { kind, file } => {
            vec![reference_data::import_file(&store, kind, &file, true).await?]
        }
        GeoCommand::ImportDir { dir } => reference_data::import_dir(&store, &dir, true).await?,
        GeoCommand::Status => {
            let releases = store.geo_releases().await?;
            if releases.is_empty() {
                eprintln!(
                    "no reference data loaded: eligibility by GP and local authority answers 'unknown'"
                );
            }
            for r in releases {
                println!(
                    "{:<10} {:>9} rows  {}  {}",
                    r.kind, r.rows, r.imported_at, r.source
                );
            }
            Vec::new()
        }
    };
    for s in summaries {
        eprintln!(
            "{:<10} {:>9} rows from {} ({} passed over){}",
            s.kind.as_str(),
            s.written,
            s.source,
            s.skipped,
            s.note.map(|n| format!("; {n}")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
