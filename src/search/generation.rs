//! The index's life on disk: each build is a generation in its own folder, named by the
//! `CURRENT` pointer; building one from the database, opening one, committing to it.

use super::folder;
use super::schema::{self, Fields, SCHEMA_VERSION};
use super::segment::VitalsCache;
use crate::storage::{ServiceFilter, Store};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy};

/// Names the live index generation inside the index directory.
pub(super) const CURRENT_FILE: &str = "CURRENT";
/// Services read from the database per batch while rebuilding.
pub(super) const REBUILD_BATCH: u32 = 1000;
/// Memory for the writer that builds a whole index.
pub(super) const BUILD_HEAP: usize = 128 * 1024 * 1024;
/// Memory for the writer that keeps a live index up to date: tantivy's least.
pub(super) const LIVE_WRITER_HEAP: usize = 15_000_000;
/// A deleted share of a segment past which it is rewritten without its deleted
/// documents (partners' updates delete a service's old document).
pub(super) const DELETED_SHARE_BEFORE_MERGE: f32 = 0.3;

/// The writer that keeps a live index up to date: one indexing thread with tantivy's
/// smallest memory budget (each commit starts a new segment, and a larger budget only
/// makes each start allocate more for the one or two documents a write brings), one
/// merging thread (the other core answers searches meanwhile), and a merge policy that
/// also rewrites segments whose documents were mostly replaced.
pub(super) fn live_writer(index: &Index) -> tantivy::Result<IndexWriter> {
    let options = tantivy::indexer::IndexWriterOptions::builder()
        .num_worker_threads(1)
        .num_merge_threads(1)
        .memory_budget_per_thread(LIVE_WRITER_HEAP)
        .build();
    let writer = index.writer_with_options(options)?;
    let mut policy = tantivy::merge_policy::LogMergePolicy::default();
    policy.set_del_docs_ratio_before_merge(DELETED_SHARE_BEFORE_MERGE);
    // Each segment costs every search a fixed amount (one segment instead of three at
    // 100,000 services: ~+25% searches a second), so small ones merge in pairs.
    policy.set_min_num_segments(2);
    writer.set_merge_policy(Box::new(policy));
    Ok(writer)
}

/// What the commit payload records.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Payload {
    pub(super) schema_version: u32,
    pub(super) seq: i64,
}

/// One built index in its own folder.
pub(super) struct Generation {
    pub(super) index: Index,
    pub(super) reader: IndexReader,
    pub(super) fields: Fields,
    /// Kept here because the reader only holds on to it weakly.
    pub(super) vitals: Arc<VitalsCache>,
}

impl Generation {
    fn new(index: Index, fields: Fields) -> anyhow::Result<Self> {
        schema::register_tokenizers(&index);
        let vitals = Arc::new(VitalsCache::default());
        let warmer: Arc<dyn tantivy::Warmer> = vitals.clone();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .warmers(vec![Arc::downgrade(&warmer)])
            .try_into()
            .context("opening an index reader")?;
        Ok(Self {
            index,
            reader,
            fields,
            vitals,
        })
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RebuildReport {
    /// Services written into the new index.
    pub services: usize,
    /// How long the rebuild took, in seconds.
    pub seconds: f64,
    /// The change-log sequence the new index was built at; later changes were applied after.
    pub seq: i64,
}

pub(super) fn read_current(dir: &Path) -> Option<PathBuf> {
    let name = std::fs::read_to_string(dir.join(CURRENT_FILE)).ok()?;
    let name = name.trim();
    (!name.is_empty() && !name.contains('/')).then(|| dir.join(name))
}

pub(super) fn write_current(dir: &Path, generation: &Path) -> anyhow::Result<()> {
    let name = generation
        .file_name()
        .context("generation folder has no name")?
        .to_string_lossy()
        .to_string();
    let tmp = dir.join(format!("{CURRENT_FILE}.tmp"));
    std::fs::write(&tmp, format!("{name}\n")).context("writing the index pointer")?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join(CURRENT_FILE)).context("switching the index pointer")?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Deletes generation folders other than `keep` (left by a crash or a finished rebuild).
pub(super) fn remove_other_generations(dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let is_gen = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("gen-"));
        if is_gen
            && p != keep
            && p.is_dir()
            && let Err(err) = std::fs::remove_dir_all(&p)
        {
            tracing::warn!(path = %p.display(), error = %err, "could not remove an old index generation");
        }
    }
}

pub(super) fn open_generation(path: &Path) -> anyhow::Result<(Generation, Option<Payload>)> {
    let index = Index::open(folder::Unflushed::open(path)?).context("opening the index")?;
    if !folder::Clean::take(path) {
        let damaged = index
            .validate_checksum()
            .context("checking the index after an unclean stop")?;
        anyhow::ensure!(
            damaged.is_empty(),
            "the index was not stopped properly and {} of its files are damaged",
            damaged.len()
        );
    }
    let (schema, fields) = schema::build();
    if index.schema() != schema {
        anyhow::bail!("the index schema differs from this version's");
    }
    let payload = index
        .load_metas()
        .context("reading index metadata")?
        .payload
        .and_then(|p| serde_json::from_str::<Payload>(&p).ok());
    Ok((Generation::new(index, fields)?, payload))
}

pub(super) fn create_generation(dir: &Path) -> anyhow::Result<(PathBuf, Generation)> {
    let path = dir.join(format!("gen-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
    let (schema, fields) = schema::build();
    let index = Index::create(
        folder::Unflushed::open(&path)?,
        schema,
        tantivy::IndexSettings::default(),
    )
    .context("creating the index")?;
    Ok((path, Generation::new(index, fields)?))
}

pub(super) fn commit(writer: &mut IndexWriter, seq: i64) -> anyhow::Result<()> {
    let payload = serde_json::to_string(&Payload {
        schema_version: SCHEMA_VERSION,
        seq,
    })?;
    let mut prepared = writer
        .prepare_commit()
        .context("preparing an index commit")?;
    prepared.set_payload(&payload);
    prepared.commit().context("committing the index")?;
    Ok(())
}

/// The link-check flags on these services' URLs, by service.
pub(super) async fn link_flags(
    store: &Store,
    services: &[crate::domain::Service],
) -> anyhow::Result<HashMap<uuid::Uuid, Vec<schema::LinkFlag>>> {
    let urls: Vec<String> = services
        .iter()
        .flat_map(|s| crate::links::service_urls(s).into_iter().map(|(_, u)| u))
        .collect();
    let states = store.link_flags(&urls).await?;
    let mut out: HashMap<uuid::Uuid, Vec<schema::LinkFlag>> = HashMap::new();
    for s in services {
        for (_, url) in crate::links::service_urls(s) {
            if let Some(state) = states.get(&url)
                && let Some(flag) = state.flag
            {
                out.entry(s.id).or_default().push(schema::LinkFlag {
                    url,
                    flag: flag.as_str().to_string(),
                    evidence: state.evidence.clone(),
                    suggested_url: state.suggested_url.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Builds a fresh generation from every service in the database.
pub(super) async fn build_generation(
    dir: &Path,
    store: &Store,
) -> anyhow::Result<(PathBuf, Generation, IndexWriter, i64, usize)> {
    // Changes made while we read are caught up afterwards: the log says what changed.
    let seq = store.last_change().await?;
    let (path, generation) = create_generation(dir)?;
    let writer: Arc<IndexWriter> = Arc::new(
        generation
            .index
            .writer(BUILD_HEAP)
            .context("opening the index writer")?,
    );
    // Two stages side by side: while one batch becomes documents on a blocking thread,
    // the next is read from the database (at 1,000,000 services, reading and building
    // one after the other on one thread was what the build waited for).
    let mut building: Option<tokio::task::JoinHandle<anyhow::Result<()>>> = None;
    let mut after = None;
    let mut count = 0usize;
    loop {
        let batch = store
            .list_services(&ServiceFilter::default(), after, REBUILD_BATCH)
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        count += batch.len();
        let flags = link_flags(store, &batch).await?;
        let (writer, fields) = (Arc::clone(&writer), generation.fields);
        let next = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            for s in &batch {
                let flags = flags.get(&s.id).map_or(&[][..], Vec::as_slice);
                writer.add_document(schema::document(&fields, s, flags))?;
            }
            Ok(())
        });
        if let Some(previous) = building.replace(next) {
            previous.await.context("building index documents")??;
        }
    }
    if let Some(last) = building {
        last.await.context("building index documents")??;
    }
    let mut writer =
        Arc::into_inner(writer).context("the index writer is still shared after the build")?;
    let index = generation.index.clone();
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<IndexWriter> {
        commit(&mut writer, seq)?;
        writer
            .wait_merging_threads()
            .context("finishing the index build")?;
        let mut writer = live_writer(&index)?;
        // Each indexing thread wrote its own segments, and a search pays a fixed cost
        // per segment (its dictionaries, its typo automata): the build ends as one, unless
        // one already holds nearly all (at 1,000,000 services, merging the last 2% took
        // 14 s and changed no figure).
        let metas = index.searchable_segment_metas()?;
        let largest = metas.iter().map(|m| m.num_docs()).max().unwrap_or(0);
        let total: u32 = metas.iter().map(|m| m.num_docs()).sum();
        let segments: Vec<_> = metas.iter().map(|m| m.id()).collect();
        if segments.len() > 1 && f64::from(largest) < 0.9 * f64::from(total) {
            writer
                .merge(&segments)
                .wait()
                .context("merging the built index into one segment")?;
            commit(&mut writer, seq)?;
        }
        Ok(writer)
    })
    .await
    .context("index commit task")??;
    generation.reader.reload()?;
    Ok((path, generation, writer, seq, count))
}
