//! Loading reference files into the database: `signpost geo import`, and the folder of
//! files the demo and tests use.

use crate::geo::reference::{self, GeoKind, ReadReport};
use crate::storage::Store;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What one import did.
#[derive(Debug)]
pub struct ImportSummary {
    /// Which reference data was replaced.
    pub kind: GeoKind,
    /// The file's name, without its folder, as the release records it.
    pub source: String,
    /// Rows written.
    pub written: usize,
    /// Rows passed over as unusable.
    pub skipped: usize,
    /// For `epraccur`, the layout recognised, e.g. "epraccur layout: current".
    pub note: Option<String>,
}

fn progress_bar(size: u64, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{msg:12} [{bar:40}] {bytes}/{total_bytes} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Replaces the reference data of `kind` with the contents of `path`.
pub async fn import_file(
    store: &Store,
    kind: GeoKind,
    path: &Path,
    show_progress: bool,
) -> anyhow::Result<ImportSummary> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(size, show_progress);
    bar.set_message(kind.as_str());
    let input = BufReader::new(bar.wrap_read(file));
    let source = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let summary = import_reader(store, kind, &source, input).await;
    bar.finish_and_clear();
    summary.with_context(|| format!("importing {} from {}", kind.as_str(), path.display()))
}

/// Replaces the reference data of `kind` with what `input` holds.
pub async fn import_reader(
    store: &Store,
    kind: GeoKind,
    source: &str,
    input: impl Read,
) -> anyhow::Result<ImportSummary> {
    fn ok<T>(rows: Vec<T>) -> impl Iterator<Item = anyhow::Result<T>> {
        rows.into_iter().map(Ok)
    }
    let none = |_| {};
    let (written, report): (usize, ReadReport) = match kind {
        GeoKind::Practices => {
            let (rows, report) = reference::read_epraccur(input)?;
            (
                store.replace_geo(kind, source, ok(rows), none).await?,
                report,
            )
        }
        GeoKind::Pcns => {
            let (rows, report) = reference::read_pcn_links(input)?;
            (
                store.replace_geo(kind, source, ok(rows), none).await?,
                report,
            )
        }
        GeoKind::Districts => {
            let (rows, report) = reference::read_districts(input)?;
            (
                store.replace_geo(kind, source, ok(rows), none).await?,
                report,
            )
        }
        GeoKind::SubIcbs => {
            let (rows, report) = reference::read_sub_icbs(input)?;
            (
                store.replace_geo(kind, source, ok(rows), none).await?,
                report,
            )
        }
        GeoKind::Postcodes => {
            let skipped = Arc::new(AtomicUsize::new(0));
            let rows = reference::read_postcodes(input, skipped.clone())?;
            let written = store.replace_geo(kind, source, rows, none).await?;
            let report = ReadReport {
                kept: written,
                skipped: skipped.load(Ordering::Relaxed),
                layout: None,
            };
            (written, report)
        }
    };
    anyhow::ensure!(
        written > 0,
        "no usable rows: is this a {} file? ({} rows passed over)",
        kind.as_str(),
        report.skipped
    );
    Ok(ImportSummary {
        kind,
        source: source.to_string(),
        written,
        skipped: report.skipped,
        note: report
            .layout
            .map(|l| format!("epraccur layout: {l:?}").to_lowercase()),
    })
}

/// The files of a folder laid out like `../shared/data/geo`, by kind: the current
/// `epraccur` export, ePCN partner details, district centroids, ONSPD postcodes and the
/// sub-ICB list.
pub fn files_in(dir: &Path) -> Vec<(GeoKind, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let pick = |test: &dyn Fn(&str) -> bool| names.iter().find(|n| test(n)).cloned();
    let found = [
        (
            GeoKind::SubIcbs,
            pick(&|n| n.contains("sub_icb") && n.ends_with(".json")),
        ),
        (
            GeoKind::Practices,
            pick(&|n| n.starts_with("epraccur") && !n.contains("legacy") && n.ends_with(".csv")),
        ),
        (
            GeoKind::Pcns,
            pick(&|n| n.contains("core_partner") && n.ends_with(".csv")),
        ),
        (
            GeoKind::Districts,
            pick(&|n| n.contains("outcode_centroids") && n.ends_with(".csv")),
        ),
        (
            GeoKind::Postcodes,
            pick(&|n| n.contains("onspd") && n.contains("postcode") && n.ends_with(".csv")),
        ),
    ];
    found
        .into_iter()
        .filter_map(|(k, n)| n.map(|n| (k, dir.join(n))))
        .collect()
}

/// Imports every kind found in `dir`.
pub async fn import_dir(
    store: &Store,
    dir: &Path,
    show_progress: bool,
) -> anyhow::Result<Vec<ImportSummary>> {
    let files = files_in(dir);
    anyhow::ensure!(
        !files.is_empty(),
        "{} holds no reference files (epraccur*.csv, *core_partner*.csv, *outcode_centroids*.csv, *onspd*postcode*.csv, *sub_icb*.json)",
        dir.display()
    );
    let mut out = Vec::new();
    for (kind, path) in files {
        out.push(import_file(store, kind, &path, show_progress).await?);
    }
    Ok(out)
}
