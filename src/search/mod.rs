//! Navigator search: a tantivy index derived from the database, kept in step by one
//! writer task that follows the change log.

mod bits;
mod collect;
mod folder;
pub mod query;
pub mod schema;
mod segment;
mod snippet;

pub use collect::Sort;

use crate::domain::{
    Accepting, Capacity, Coverage, DeliveryMode, Gender, Location, Provenance, ServiceStatus,
    SourceHealth, TemporaryClosure, taxonomy,
};
use crate::geo::eligibility::{self, Answer, Caller};
use crate::storage::{ServiceFilter, Store};
use crate::understand::{Lexicon, LexiconError, NewEntry, gaps};
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use collect::PageCollector;
use query::Filters;
use schema::{Fields, SCHEMA_VERSION};
use segment::VitalsCache;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use snippet::Highlighter;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tantivy::schema::Value as _;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};
use tokio::sync::{Notify, Semaphore, mpsc, oneshot, watch};

/// Names the live index generation inside the index directory.
const CURRENT_FILE: &str = "CURRENT";
/// Services read from the database per batch while rebuilding.
const REBUILD_BATCH: u32 = 1000;
/// Change-log entries applied per commit while catching up.
const CATCH_UP_BATCH: u32 = 5000;
/// How long a write waits to become searchable before answering anyway.
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(15);
/// Memory for the writer that builds a whole index.
const BUILD_HEAP: usize = 128 * 1024 * 1024;
/// Memory for the writer that keeps a live index up to date: tantivy's least.
const LIVE_WRITER_HEAP: usize = 15_000_000;
/// A deleted share of a segment past which it is rewritten without its deleted
/// documents (partners' updates delete a service's old document).
const DELETED_SHARE_BEFORE_MERGE: f32 = 0.3;

/// The writer that keeps a live index up to date: one indexing thread with tantivy's
/// smallest memory budget (each commit starts a new segment, and a larger budget only
/// makes each start allocate more for the one or two documents a write brings), one
/// merging thread (the other core answers searches meanwhile), and a merge policy that
/// also rewrites segments whose documents were mostly replaced.
fn live_writer(index: &Index) -> tantivy::Result<IndexWriter> {
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

/// Knobs for search and its warnings.
#[derive(Debug, Clone)]
pub struct SearchSettings {
    /// How often the writer looks for changes made by other replicas.
    pub poll_interval: Duration,
    /// How long quick updates, searchable at once by a patch, may wait to be committed
    /// to the index with others: each commit adds a segment that every search reads
    /// until merged, whatever it holds (see `SearchIndex::patch`).
    pub commit_patches_within: Duration,
    /// Capacity older than this shows as unknown.
    pub capacity_stale_after: chrono::Duration,
    /// Entries not confirmed for longer than this get a warning.
    pub verify_stale_after: chrono::Duration,
    /// Searches running at once; more wait their turn, first come first served. One per
    /// core: searches are CPU-bound, so more at once only slows every one of them down
    /// and lengthens the slowest (the search benchmark at 16 clients: two per core gave
    /// the same throughput with a p99 a quarter higher).
    pub max_concurrent_searches: usize,
    /// What the risk block tells a navigator to read out.
    pub crisis_contacts: Vec<CrisisContact>,
    /// A question must have been counted this many times before the search-gaps report
    /// shows it (k-anonymity: one caller's details never make a line of their own).
    pub gap_min_count: u32,
}

/// A crisis line or service the risk block lists, whatever the directory holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrisisContact {
    /// Who to call, e.g. "Samaritans".
    pub name: String,
    /// The number to call, as it is read out.
    pub phone: String,
    /// When to use it.
    pub when: String,
}

/// England's crisis contacts: NHS 111 option 2, Samaritans, 999.
pub fn default_crisis_contacts() -> Vec<CrisisContact> {
    let c = |name: &str, phone: &str, when: &str| CrisisContact {
        name: name.into(),
        phone: phone.into(),
        when: when.into(),
    };
    vec![
        c(
            "NHS 111, option 2",
            "111",
            "Urgent mental health help, 24 hours a day: option 2 reaches the local NHS crisis line",
        ),
        c(
            "Samaritans",
            "116 123",
            "Someone to talk to, free, 24 hours a day, every day",
        ),
        c(
            "Emergency services",
            "999",
            "When a life is in danger now: an overdose, serious injury or immediate danger",
        ),
    ]
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            commit_patches_within: Duration::from_secs(10),
            capacity_stale_after: chrono::Duration::days(90),
            verify_stale_after: chrono::Duration::days(183),
            max_concurrent_searches: std::thread::available_parallelism().map_or(2, |n| n.get()),
            crisis_contacts: default_crisis_contacts(),
            gap_min_count: 3,
        }
    }
}

/// What the commit payload records.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    schema_version: u32,
    seq: i64,
}

/// One built index in its own folder.
struct Generation {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Kept here because the reader only holds on to it weakly.
    vitals: Arc<VitalsCache>,
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

struct Shared {
    live: RwLock<Arc<Generation>>,
    /// The lexicon questions are read with, replaced whole when an entry is added.
    lexicon: RwLock<Arc<Lexicon>>,
    /// How many run-time entries the lexicon holds (to notice another replica's).
    lexicon_entries: std::sync::atomic::AtomicUsize,
    /// Questions that found nothing or only partial matches, not yet written.
    gaps: Mutex<HashMap<(String, &'static str), u64>>,
    applied: watch::Sender<i64>,
    /// Held while a quick update is patched in, and by the writer from reading the
    /// changes it commits until the reader shows them, so that no patch lands on a
    /// document the commit is about to replace.
    patching: tokio::sync::Mutex<()>,
    /// Changes made searchable by a patch and not yet committed, by change number, with
    /// when they were patched.
    patched: Mutex<std::collections::BTreeMap<i64, std::time::Instant>>,
    wake: Notify,
    commands: mpsc::Sender<Command>,
    settings: SearchSettings,
    permits: Semaphore,
    /// Other directories' feeds, by id, as their records' warnings need them.
    sources: RwLock<Arc<HashMap<uuid::Uuid, SourceHealth>>>,
}

enum Command {
    Rebuild(oneshot::Sender<anyhow::Result<RebuildReport>>),
    /// Stop the writer and release the index lock.
    Shutdown(oneshot::Sender<()>),
}

/// What a rebuild did.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildReport {
    pub services: usize,
    pub seconds: f64,
    pub seq: i64,
}

/// Handle to the search index; cheap to clone.
#[derive(Clone)]
pub struct SearchIndex {
    shared: Arc<Shared>,
}

fn read_current(dir: &Path) -> Option<PathBuf> {
    let name = std::fs::read_to_string(dir.join(CURRENT_FILE)).ok()?;
    let name = name.trim();
    (!name.is_empty() && !name.contains('/')).then(|| dir.join(name))
}

fn write_current(dir: &Path, generation: &Path) -> anyhow::Result<()> {
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
fn remove_other_generations(dir: &Path, keep: &Path) {
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

fn open_generation(path: &Path) -> anyhow::Result<(Generation, Option<Payload>)> {
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

fn create_generation(dir: &Path) -> anyhow::Result<(PathBuf, Generation)> {
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

fn commit(writer: &mut IndexWriter, seq: i64) -> anyhow::Result<()> {
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
async fn link_flags(
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
async fn build_generation(
    dir: &Path,
    store: &Store,
) -> anyhow::Result<(PathBuf, Generation, IndexWriter, i64, usize)> {
    // Changes made while we read are caught up afterwards: the log says what changed.
    let seq = store.last_change().await?;
    let (path, generation) = create_generation(dir)?;
    let mut writer: IndexWriter = generation
        .index
        .writer(BUILD_HEAP)
        .context("opening the index writer")?;
    let mut after = None;
    let mut count = 0usize;
    loop {
        let batch = store
            .list_services(&ServiceFilter::default(), after, REBUILD_BATCH)
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        let flags = link_flags(store, &batch).await?;
        for s in &batch {
            writer.add_document(schema::document(
                &generation.fields,
                s,
                flags.get(&s.id).map_or(&[][..], Vec::as_slice),
            ))?;
        }
        count += batch.len();
    }
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

struct WriterTask {
    dir: PathBuf,
    store: Arc<Store>,
    shared: Arc<Shared>,
    writer: Arc<Mutex<IndexWriter>>,
    applied: i64,
}

impl WriterTask {
    /// Applies every change after `applied`; returns how many services were re-indexed.
    /// With `may_wait`, changes already searchable by a patch wait for others, up to
    /// [`SearchSettings::commit_patches_within`].
    async fn catch_up(&mut self, may_wait: bool) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let shared = self.shared.clone();
            let _patching = shared.patching.lock().await;
            match self.catch_up_batch(may_wait).await? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    /// Applies the next batch of changes after `applied`, with `patching` held; returns
    /// how many services were re-indexed (0: none were left, or they may wait).
    async fn catch_up_batch(&mut self, may_wait: bool) -> anyhow::Result<usize> {
        let changes = self
            .store
            .changes_after(self.applied, CATCH_UP_BATCH)
            .await?;
        let Some(&(last_seq, _)) = changes.last() else {
            return Ok(0);
        };
        if may_wait && changes.len() < CATCH_UP_BATCH as usize {
            let patched = self.shared.patched.lock().expect("patched lock");
            let within = self.shared.settings.commit_patches_within;
            let searchable = changes.iter().all(|(seq, _)| patched.contains_key(seq));
            let oldest = patched.values().min();
            if searchable && oldest.is_some_and(|t| t.elapsed() < within) {
                return Ok(0);
            }
        }
        let started = std::time::Instant::now();
        let mut ids: Vec<uuid::Uuid> = changes.iter().map(|(_, id)| *id).collect();
        ids.sort();
        ids.dedup();
        let services = self.store.get_services(&ids).await?;
        let flags = link_flags(&self.store, &services).await?;
        let generation = self.shared.live.read().expect("index lock").clone();
        let writer = self.writer.clone();
        let fields = generation.fields;
        let count = ids.len();
        let read = started.elapsed();
        let (committed, reloaded) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let started = std::time::Instant::now();
            let mut w = writer.lock().expect("writer lock");
            let applied = (|| {
                for id in &ids {
                    w.delete_term(Term::from_field_text(fields.id, &id.to_string()));
                }
                for s in &services {
                    let f = flags.get(&s.id).map_or(&[][..], Vec::as_slice);
                    w.add_document(schema::document(&fields, s, f))?;
                }
                commit(&mut w, last_seq)
            })();
            if let Err(e) = applied {
                // A full disk or a read-only folder leaves the writer's threads
                // failed: start again from the last commit, so the next attempt
                // (every poll) can succeed once there is room.
                if let Err(again) = w.rollback() {
                    tracing::error!(error = %again, "could not roll the index writer back");
                }
                return Err(e);
            }
            let committed = started.elapsed();
            generation
                .reader
                .reload()
                .context("reloading the index reader")?;
            Ok((committed, started.elapsed() - committed))
        })
        .await
        .context("index write task")??;
        tracing::debug!(
            changes = changes.len(),
            read_ms = read.as_secs_f64() * 1e3,
            commit_ms = committed.as_secs_f64() * 1e3,
            reload_ms = reloaded.as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "index caught up"
        );
        metrics::histogram!("signpost_index_apply_seconds").record(started.elapsed().as_secs_f64());
        self.applied = last_seq;
        self.shared.applied.send_replace(last_seq);
        self.shared
            .patched
            .lock()
            .expect("patched lock")
            .retain(|seq, _| *seq > last_seq);
        Ok(count)
    }

    async fn rebuild(&mut self) -> anyhow::Result<RebuildReport> {
        let started = std::time::Instant::now();
        let (path, generation, writer, seq, count) =
            build_generation(&self.dir, &self.store).await?;
        // Quick updates made during the build went to the old generation: none may land
        // until the new one has caught up with them.
        let shared = self.shared.clone();
        let _patching = shared.patching.lock().await;
        write_current(&self.dir, &path)?;
        *self.shared.live.write().expect("index lock") = Arc::new(generation);
        // The old writer goes with its generation; searches already running keep their reader.
        *self.writer.lock().expect("writer lock") = writer;
        self.applied = seq;
        remove_other_generations(&self.dir, &path);
        while self.catch_up_batch(false).await? > 0 {}
        self.shared.applied.send_replace(self.applied);
        Ok(RebuildReport {
            services: count,
            seconds: started.elapsed().as_secs_f64(),
            seq,
        })
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(self.shared.settings.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Rebuild(reply)) => {
                        let result = self.rebuild().await;
                        if let Err(e) = &result {
                            tracing::error!(error = ?e, "index rebuild failed");
                        }
                        let _ = reply.send(result);
                    }
                    Some(Command::Shutdown(reply)) => {
                        self.housekeeping().await;
                        let WriterTask { writer, dir, .. } = self;
                        drop(writer);
                        if let Some(live) = read_current(&dir)
                            && let Err(e) = folder::Clean::leave(&live)
                        {
                            tracing::warn!(error = %e, "could not mark the index as properly stopped; it will be checked at the next start");
                        }
                        let _ = reply.send(());
                        return;
                    }
                    None => return,
                },
                _ = self.shared.wake.notified() => self.catch_up_logged(false).await,
                _ = tick.tick() => {
                    self.catch_up_logged(true).await;
                    self.housekeeping().await;
                }
            }
        }
    }

    /// Writes counted search gaps, and picks up lexicon entries another replica added.
    async fn housekeeping(&self) {
        let index = SearchIndex {
            shared: self.shared.clone(),
        };
        if let Err(e) = index.flush_gaps(&self.store).await {
            tracing::warn!(error = ?e, "could not write search gap counts; will retry");
        }
        let known = self
            .shared
            .lexicon_entries
            .load(std::sync::atomic::Ordering::Relaxed);
        let changed = match self.store.lexicon_entry_count().await {
            Ok(n) => n != known,
            Err(e) => {
                tracing::warn!(error = ?e, "could not count the lexicon entries");
                false
            }
        };
        if changed {
            match self.store.lexicon_entries().await {
                Ok(entries) => {
                    let built =
                        tokio::task::spawn_blocking(move || index.set_lexicon_entries(&entries))
                            .await;
                    if let Ok(Err(e)) = built {
                        tracing::error!(error = %e, "a lexicon entry in the database cannot be used");
                    }
                }
                Err(e) => tracing::warn!(error = ?e, "could not read the lexicon entries"),
            }
        }
    }

    async fn catch_up_logged(&mut self, may_wait: bool) {
        if let Err(e) = self.catch_up(may_wait).await {
            tracing::error!(error = ?e, "index catch-up failed; will retry");
        }
    }
}

/// A search as the API asks for it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: String,
    pub filters: Filters,
    pub limit: usize,
    pub offset: usize,
    /// Who the services are for: each hit is assessed against them.
    pub caller: Option<Caller>,
    pub sort: Sort,
    /// Where the caller is: each hit gets its distance from here, whatever the sort.
    pub origin: Option<(f64, f64)>,
    /// Show, per hit, which words, needs and boosts scored.
    pub explain: bool,
}

/// Something a navigator must see before referring.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

/// One result.
#[derive(Debug, Serialize)]
pub struct Hit {
    /// The service summary as stored in the index, passed through unparsed.
    pub service: Box<RawValue>,
    pub score: f32,
    pub snippet: String,
    pub warnings: Vec<Warning>,
    /// Whether the service can see the caller, when the search said who they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<Answer>,
    /// Kilometres from the caller to the service's nearest location with coordinates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// For a record read from another directory's feed (see `service.source`): when
    /// that feed was last read to the end, so how fresh this copy is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_read_at: Option<DateTime<Utc>>,
    /// Why it matched and scored as it did (with `explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<collect::Explanation>,
}

/// Counts of matching services by value.
#[derive(Debug, Serialize, Default)]
pub struct Facets {
    pub category: Vec<FacetCount>,
    pub delivery_mode: Vec<FacetCount>,
    pub status: Vec<FacetCount>,
}

#[derive(Debug, Serialize)]
pub struct FacetCount {
    pub value: &'static str,
    pub count: u64,
}

/// A page of results.
#[derive(Debug, Serialize)]
pub struct SearchResponse {
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    pub hits: Vec<Hit>,
    pub facets: Facets,
    /// What was understood of the caller, when the search said who they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<serde_json::Value>,
    /// How the hits match the question (absent when there was no question).
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_kind: Option<MatchKind>,
    /// Words of the question no hit could be found with (with `match` `partial`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_words: Vec<String>,
    /// The needs closest to a question that matched nothing (with `match` `suggested`
    /// or `none`): "Did you mean…".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<NeedView>,
    /// What the question was understood to be about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub understood: Option<Understood>,
    /// Present when the question expresses risk to life or of serious harm: crisis
    /// services come first, and these are the contacts to read out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskBlock>,
}

/// How the hits of a search match its question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Every word of the question, or a need it expresses.
    Full,
    /// Some words of the question were left out (`ignored_words`), or no service has all
    /// of them and hits have some.
    Partial,
    /// Nothing matched; the hits are services for the closest needs (`suggestions`).
    Suggested,
    /// Nothing matched at all.
    None,
}

impl MatchKind {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Full => "full",
            MatchKind::Partial => "partial",
            MatchKind::Suggested => "suggested",
            MatchKind::None => "none",
        }
    }
}

/// A need, as a response names it.
#[derive(Debug, Clone, Serialize)]
pub struct NeedView {
    /// The taxonomy category id.
    pub id: String,
    /// The category's name, as shown to people.
    pub name: String,
    /// How sure the lexicon is (absent for suggestions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// The question's words that expressed it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub because: Vec<String>,
}

impl NeedView {
    fn of(id: &str, confidence: Option<f32>, because: Vec<String>) -> Self {
        Self {
            id: id.to_string(),
            name: taxonomy::find(id).map_or(id, |c| c.name).to_string(),
            confidence: confidence.map(|c| (c * 100.0).round() / 100.0),
            because,
        }
    }
}

/// What a question was understood to be about.
#[derive(Debug, Clone, Serialize)]
pub struct Understood {
    /// Most confident first.
    pub needs: Vec<NeedView>,
    /// Languages named in the question.
    pub languages: Vec<crate::understand::LanguageMention>,
}

/// The risk block: why it was raised and what to read out.
#[derive(Debug, Clone, Serialize)]
pub struct RiskBlock {
    /// The question's words that expressed risk.
    pub because: Vec<String>,
    /// What the navigator is asked to do.
    pub message: &'static str,
    /// The crisis contacts to read out.
    pub contacts: Vec<CrisisContact>,
}

/// What the risk block says.
pub const RISK_MESSAGE: &str = "This question may express a risk to life or of serious harm. Follow your risk procedure now: crisis services are listed first, and these contacts can help straight away.";

/// The parts of a stored summary that warnings and snippets read.
#[derive(Debug, Default, Deserialize)]
pub struct Vitals {
    #[serde(default)]
    pub description: String,
    pub minimum_age: Option<u8>,
    pub maximum_age: Option<u8>,
    #[serde(default)]
    pub gender: Gender,
    #[serde(default)]
    pub locations: Vec<Location>,
    #[serde(default)]
    pub link_flags: Vec<schema::LinkFlag>,
    pub status: Option<ServiceStatus>,
    pub temporary_closure: Option<TemporaryClosure>,
    pub capacity: Option<Capacity>,
    pub assured_date: Option<NaiveDate>,
    pub source: Option<Provenance>,
    /// The record's version (see `RecordMeta`).
    pub version: Option<i64>,
}

/// What a hit shows of a stored document, decoded once (see `SegmentVitals::stored`).
pub struct StoredHit {
    summary: Box<RawValue>,
    vitals: Vitals,
    coverage: Coverage,
}

impl StoredHit {
    fn read(searcher: &Searcher, address: DocAddress, f: &Fields) -> anyhow::Result<Self> {
        let doc: TantivyDocument = searcher.doc(address).context("reading a stored document")?;
        Self::of_document(&doc, f)
    }

    /// The hit a document shows, read from the document itself.
    fn of_document(doc: &TantivyDocument, f: &Fields) -> anyhow::Result<Self> {
        let text = |field| doc.get_first(field).and_then(|v| v.as_str());
        let raw = text(f.summary).unwrap_or("{}");
        Ok(Self {
            vitals: serde_json::from_str(raw).context("stored summary")?,
            summary: RawValue::from_string(raw.to_string()).context("stored summary")?,
            coverage: match text(f.coverage_doc) {
                Some(json) => serde_json::from_str(json).context("stored coverage")?,
                None => Coverage::default(),
            },
        })
    }
}

/// Where the live document of a service is.
fn find(searcher: &Searcher, f: &Fields, id: uuid::Uuid) -> anyhow::Result<Option<DocAddress>> {
    let term = Term::from_field_text(f.id, &id.to_string());
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let mut found = None;
        segment::for_each_posting(
            segment,
            &term,
            tantivy::schema::IndexRecordOption::Basic,
            |doc, _| {
                if !segment.is_deleted(doc) {
                    found = Some(doc);
                }
            },
        )
        .context("finding a service in the index")?;
        if let Some(doc) = found {
            return Ok(Some(DocAddress::new(ord as u32, doc)));
        }
    }
    Ok(None)
}

fn warning(code: &'static str, message: impl Into<String>) -> Warning {
    Warning {
        code,
        message: message.into(),
    }
}

/// The warnings a navigator must see for this service; `sources` say how the feeds that
/// supply records stand.
pub fn warnings(
    v: &Vitals,
    settings: &SearchSettings,
    sources: &HashMap<uuid::Uuid, SourceHealth>,
    now: DateTime<Utc>,
) -> Vec<Warning> {
    let mut out = Vec::new();
    if let Some(p) = &v.source {
        if let Some(gone) = p.vanished_at {
            out.push(warning(
                "source_vanished",
                format!(
                    "No longer listed by {} since {}: it may have closed; check before referring",
                    p.name,
                    gone.format("%-d %B %Y")
                ),
            ));
        }
        if let Some(health) = sources.get(&p.source_id)
            && let Some(why) = &health.failing
        {
            let since = health.last_success_at.map_or("never".to_string(), |t| {
                t.format("%-d %B %Y %H:%M").to_string()
            });
            out.push(warning(
                "source_out_of_date",
                format!(
                    "{} could not be read ({why}); this copy was last confirmed {since}",
                    p.name
                ),
            ));
        }
    }
    match v.status.unwrap_or(ServiceStatus::Active) {
        ServiceStatus::TemporarilyClosed => {
            let reason = v
                .temporary_closure
                .as_ref()
                .map_or("no reason given", |c| c.reason.as_str());
            let message = match v.temporary_closure.as_ref().and_then(|c| c.reopens_on) {
                Some(date) => {
                    format!("Temporarily closed ({reason}); expected to reopen on {date}")
                }
                None => format!("Temporarily closed ({reason}); no reopening date given"),
            };
            out.push(warning("temporarily_closed", message));
        }
        ServiceStatus::Inactive => {
            out.push(warning("inactive", "Not running at the moment (inactive)"))
        }
        ServiceStatus::Defunct => out.push(warning("defunct", "This service has closed for good")),
        ServiceStatus::Active => {}
    }
    match &v.capacity {
        Some(capacity) => {
            let updated = capacity.updated_at;
            if updated.is_none_or(|t| now - t > settings.capacity_stale_after) {
                let when =
                    updated.map_or("never".to_string(), |t| t.format("%-d %B %Y").to_string());
                out.push(warning(
                    "capacity_unknown",
                    format!("Capacity unknown: last updated {when}; check before referring"),
                ));
            } else {
                match capacity.accepting {
                    Accepting::Closed => out.push(warning(
                        "not_accepting",
                        "Not taking referrals at the moment",
                    )),
                    Accepting::Waitlist => out.push(warning(
                        "waiting_list",
                        match capacity.waiting_weeks {
                            Some(w) => format!("Waiting list: about {w} weeks"),
                            None => "Waiting list: length not given".into(),
                        },
                    )),
                    Accepting::Open => {}
                }
            }
        }
        None => out.push(warning(
            "capacity_unknown",
            "Capacity not stated; check before referring",
        )),
    }
    for f in &v.link_flags {
        let (code, what) = match f.flag.as_str() {
            "possibly_closed" => ("possibly_closed", "may have closed"),
            "unreachable" => ("link_unreachable", "has not answered for days"),
            _ => ("link_broken", "is broken"),
        };
        let mut message = format!(
            "{} {what}: {}",
            f.url,
            f.evidence.as_deref().unwrap_or("see the link checks")
        );
        if let Some(new) = &f.suggested_url {
            message.push_str(&format!("; it may have moved to {new}"));
        }
        out.push(warning(code, message));
    }
    match v.assured_date {
        None => out.push(warning(
            "not_verified",
            "Never confirmed as accurate by the provider",
        )),
        Some(d) if now.date_naive() - d > settings.verify_stale_after => out.push(warning(
            "not_verified",
            format!(
                "Not confirmed as accurate for {} months (last {})",
                (now.date_naive() - d).num_days() / 30,
                d.format("%-d %B %Y")
            ),
        )),
        Some(_) => {}
    }
    out
}

impl SearchIndex {
    /// Opens the index in `dir`, rebuilding it when it is missing, from another schema,
    /// corrupt, or ahead of the database; then catches up with the change log and starts
    /// the writer task.
    pub async fn open(
        dir: &Path,
        store: Arc<Store>,
        settings: SearchSettings,
    ) -> anyhow::Result<SearchIndex> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let last_change = store.last_change().await?;
        let mut existing = None;
        if let Some(path) = read_current(dir) {
            match open_generation(&path) {
                Ok((generation, Some(p)))
                    if p.schema_version == SCHEMA_VERSION && p.seq <= last_change =>
                {
                    let writer = match live_writer(&generation.index) {
                        Ok(w) => w,
                        Err(tantivy::TantivyError::LockFailure(..)) => anyhow::bail!(
                            "another signpost process is using the index in {}; stop it, or ask it to rebuild with POST /v1/admin/reindex",
                            dir.display()
                        ),
                        Err(e) => return Err(e).context("opening the index writer"),
                    };
                    existing = Some((path, generation, writer, p.seq));
                }
                Ok(_) => tracing::warn!(
                    "index is from another version or ahead of the database; rebuilding"
                ),
                Err(e) => tracing::warn!(error = ?e, "index cannot be opened; rebuilding"),
            }
        }
        let (path, generation, writer, applied) = match existing {
            Some(found) => found,
            None => {
                let started = std::time::Instant::now();
                let (path, generation, writer, seq, count) = build_generation(dir, &store).await?;
                write_current(dir, &path)?;
                tracing::info!(
                    services = count,
                    seconds = started.elapsed().as_secs_f64(),
                    "index built"
                );
                (path, generation, writer, seq)
            }
        };
        remove_other_generations(dir, &path);
        let (applied_tx, _) = watch::channel(applied);
        let (commands_tx, commands_rx) = mpsc::channel(4);
        let entries = store.lexicon_entries().await?;
        let lexicon = if entries.is_empty() {
            Lexicon::built_in()
        } else {
            Arc::new(Lexicon::new(&entries).context("the lexicon's run-time entries")?)
        };
        let shared = Arc::new(Shared {
            live: RwLock::new(Arc::new(generation)),
            lexicon: RwLock::new(lexicon),
            lexicon_entries: std::sync::atomic::AtomicUsize::new(entries.len()),
            gaps: Mutex::new(HashMap::new()),
            applied: applied_tx,
            patching: tokio::sync::Mutex::new(()),
            patched: Mutex::default(),
            wake: Notify::new(),
            commands: commands_tx,
            permits: Semaphore::new(settings.max_concurrent_searches),
            settings,
            sources: RwLock::default(),
        });
        let mut task = WriterTask {
            dir: dir.to_path_buf(),
            store,
            shared: shared.clone(),
            writer: Arc::new(Mutex::new(writer)),
            applied,
        };
        let caught = task.catch_up(false).await?;
        if caught > 0 {
            tracing::info!(services = caught, "index caught up with the database");
        }
        tokio::spawn(task.run(commands_rx));
        Ok(SearchIndex { shared })
    }

    /// The last change-log sequence the index has applied.
    pub fn applied(&self) -> i64 {
        *self.shared.applied.borrow()
    }

    /// Waits until the change `seq` is searchable (read-your-writes).
    pub async fn wait_for(&self, seq: i64) -> anyhow::Result<()> {
        let mut rx = self.shared.applied.subscribe();
        if *rx.borrow() >= seq {
            return Ok(());
        }
        self.shared.wake.notify_one();
        let waited = tokio::time::timeout(READ_YOUR_WRITES_WAIT, rx.wait_for(|a| *a >= seq)).await;
        if waited.is_err() {
            // The write is safely in the database; search will have it shortly.
            tracing::warn!(seq, "write not yet searchable after waiting");
        }
        Ok(())
    }

    /// Makes a quick update of a service (capacity, status, "still accurate") searchable
    /// at once, in the searchers' copy of what the update changes (see
    /// [`segment::SegmentVitals::patched`]), instead of in a new document; the writer
    /// commits the change within a poll interval. A commit costs ~12 ms of CPU whatever
    /// it holds, so partners updating all day no longer slow searches down (the search
    /// benchmark with 20 writes a second). `false` when it cannot: the service is not in
    /// the index yet, or the change needs a new document; then wait for the commit.
    pub async fn patch(&self, service: &crate::domain::Service, seq: i64) -> anyhow::Result<bool> {
        let _patching = self.shared.patching.lock().await;
        let generation = self.generation();
        let f = generation.fields;
        let searcher = generation.reader.searcher();
        let Some(address) = find(&searcher, &f, service.id)? else {
            return Ok(false);
        };
        let segment = searcher.segment_reader(address.segment_ord);
        let vitals = generation.vitals.get(segment)?;
        let current = vitals.stored(address.doc_id, || StoredHit::read(&searcher, address, &f))?;
        if current
            .vitals
            .version
            .is_some_and(|v| v >= service.meta.version)
        {
            // The writer has already committed this change, or a later one.
            return Ok(true);
        }
        let document = schema::document(&f, service, &current.vitals.link_flags);
        let record = segment::Record::of_document(&document, &f);
        let hit = Arc::new(StoredHit::of_document(&document, &f)?);
        let Some(patched) = vitals.patched(address.doc_id, &record, hit, segment.alive_bitset())
        else {
            return Ok(false);
        };
        generation.vitals.replace(segment.segment_id(), patched);
        self.shared
            .patched
            .lock()
            .expect("patched lock")
            .insert(seq, std::time::Instant::now());
        Ok(true)
    }

    /// Rebuilds the index from the database into a new generation and switches to it;
    /// searches keep using the old one meanwhile.
    pub async fn rebuild(&self) -> anyhow::Result<RebuildReport> {
        let (tx, rx) = oneshot::channel();
        self.shared
            .commands
            .send(Command::Rebuild(tx))
            .await
            .map_err(|_| anyhow::anyhow!("the index writer has stopped"))?;
        rx.await.context("the index writer has stopped")?
    }

    /// Stops the writer task and releases the index for another process.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self
            .shared
            .commands
            .send(Command::Shutdown(tx))
            .await
            .is_ok()
        {
            let _ = rx.await;
        }
    }

    /// The warnings a navigator must see for one service, as search shows them; `None`
    /// when the index does not hold it (retired, or not yet indexed).
    pub fn warnings_for(&self, id: uuid::Uuid) -> anyhow::Result<Option<Vec<Warning>>> {
        let generation = self.generation();
        let f = generation.fields;
        let searcher = generation.reader.searcher();
        let Some(address) = find(&searcher, &f, id)? else {
            return Ok(None);
        };
        let stored = generation
            .vitals
            .get(searcher.segment_reader(address.segment_ord))?
            .stored(address.doc_id, || StoredHit::read(&searcher, address, &f))?;
        Ok(Some(warnings(
            &stored.vitals,
            &self.shared.settings,
            &self.sources(),
            Utc::now(),
        )))
    }

    /// Says how the feeds that supply records stand (after each pull and at start).
    pub fn set_sources(&self, sources: HashMap<uuid::Uuid, SourceHealth>) {
        *self.shared.sources.write().expect("sources lock") = Arc::new(sources);
    }

    fn sources(&self) -> Arc<HashMap<uuid::Uuid, SourceHealth>> {
        self.shared.sources.read().expect("sources lock").clone()
    }

    /// Number of documents in the live index.
    pub fn num_docs(&self) -> u64 {
        self.generation().reader.searcher().num_docs()
    }

    fn generation(&self) -> Arc<Generation> {
        self.shared.live.read().expect("index lock").clone()
    }

    /// Runs a search, at most `max_concurrent_searches` at a time, on the calling thread
    /// (an HTTP worker). A search takes well under a millisecond of CPU and does no I/O
    /// beyond the memory-mapped index, so handing it to another thread and back cost
    /// more than it saved: two thread switches per search on two busy cores (the search
    /// benchmark at 100,000 services and 16 clients: ~2,150 req/s with p99 10.8 ms on the
    /// blocking pool, ~3,500 with p99 7.5 ms here). Questions are bounded in length and
    /// words, so no search holds a worker for long.
    pub async fn search(&self, request: SearchRequest) -> anyhow::Result<SearchResponse> {
        let _permit = self
            .shared
            .permits
            .acquire()
            .await
            .context("search closed")?;
        let response = self.search_now(&request, Utc::now())?;
        if let Some(kind) = response.match_kind {
            self.count_gap(&request.q, kind);
        }
        Ok(response)
    }

    /// Writes the counted search gaps to the database (the writer task does this every
    /// second; the gaps report does it before reading).
    pub async fn flush_gaps(&self, store: &Store) -> anyhow::Result<()> {
        let taken: Vec<((String, &'static str), u64)> = {
            let mut gaps = self.shared.gaps.lock().expect("gaps lock");
            gaps.drain().collect()
        };
        if taken.is_empty() {
            return Ok(());
        }
        let day = Utc::now().date_naive();
        if let Err(e) = store.add_search_gaps(day, &taken).await {
            // Put them back for the next try.
            let mut gaps = self.shared.gaps.lock().expect("gaps lock");
            for (key, n) in taken {
                *gaps.entry(key).or_default() += n;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Runs a search on this thread.
    pub fn search_now(
        &self,
        request: &SearchRequest,
        now: DateTime<Utc>,
    ) -> anyhow::Result<SearchResponse> {
        let generation = self.generation();
        let f = generation.fields;
        let searcher = generation.reader.searcher();
        let lexicon = self.lexicon();
        let text = query::text_query(&f, &request.q, &lexicon, |word| {
            searcher
                .doc_freq(&Term::from_field_text(f.plain, word))
                .is_ok_and(|n| n >= 2)
        });
        let settings = &self.shared.settings;
        let mut filter = query::StateFilter::new(&request.filters);
        let risk = text.as_ref().is_some_and(|t| t.understanding.risk_raised());
        if risk && !filter.categories.is_empty() {
            // Crisis services first, whatever category the navigator narrowed to.
            filter
                .categories
                .push(crate::understand::CRISIS.to_string());
        }
        let page = PageCollector {
            limit: request.limit,
            offset: request.offset,
            sort: request.sort,
            fresh_capacity: schema::day_number((now - settings.capacity_stale_after).timestamp()),
            fresh_assured: schema::day_number((now - settings.verify_stale_after).timestamp()),
            filter,
            fields: f,
            vitals: generation.vitals.clone(),
        };
        let run =
            |plan: Option<&query::Plan>| page.search(&searcher, plan).context("running the search");
        let count =
            |plan: Option<&query::Plan>| page.count(&searcher, plan).context("counting matches");
        let mut outcome = Outcome {
            kind: None,
            plan: None,
            ignored: Vec::new(),
            suggestions: Vec::new(),
        };
        let found = match &text {
            None => run(None)?,
            Some(t) => {
                let strict = t.strict();
                let found = run(Some(&strict))?;
                if found.total > 0 {
                    outcome.kind = Some(MatchKind::Full);
                    outcome.plan = Some(strict);
                    found
                } else {
                    fallback(t, &lexicon, &run, &count, &mut outcome)?
                }
            }
        };
        let highlighter = text
            .as_ref()
            .map(|t| Highlighter::new(t.highlight.clone()))
            .unwrap_or_default();
        let mut hits = Vec::with_capacity(found.page.len());
        let sources = self.sources();
        for (score, address) in found.page {
            let segment = searcher.segment_reader(address.segment_ord);
            let stored = generation
                .vitals
                .get(segment)?
                .stored(address.doc_id, || StoredHit::read(&searcher, address, &f))?;
            let mut hit = self.hit(&stored, score, &highlighter, request, &sources, now);
            if request.explain
                && let Some(plan) = &outcome.plan
            {
                hit.explain = Some(page.explain(&searcher, plan, address)?);
            }
            hits.push(hit);
        }
        let facets = Facets {
            category: taxonomy::CATEGORIES
                .iter()
                .zip(found.facets.category)
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| FacetCount {
                    value: c.id,
                    count: n,
                })
                .collect(),
            delivery_mode: DeliveryMode::ALL
                .iter()
                .zip(found.facets.mode)
                .filter(|(_, n)| *n > 0)
                .map(|(m, n)| FacetCount {
                    value: m.as_str(),
                    count: n,
                })
                .collect(),
            status: ServiceStatus::ALL
                .iter()
                .zip(found.facets.status)
                .filter(|(_, n)| *n > 0)
                .map(|(s, n)| FacetCount {
                    value: s.as_str(),
                    count: n,
                })
                .collect(),
        };
        let understood = text.as_ref().map(|t| Understood {
            needs: t
                .understanding
                .needs
                .iter()
                .map(|n| NeedView::of(&n.id, Some(n.confidence), n.because.clone()))
                .collect(),
            languages: t.understanding.languages.clone(),
        });
        let risk = text
            .as_ref()
            .filter(|t| t.understanding.risk_raised())
            .map(|t| RiskBlock {
                because: t.understanding.risk.clone(),
                message: RISK_MESSAGE,
                contacts: settings.crisis_contacts.clone(),
            });
        Ok(SearchResponse {
            total: found.total,
            limit: request.limit,
            offset: request.offset,
            hits,
            facets,
            caller: None,
            match_kind: outcome.kind,
            ignored_words: outcome.ignored,
            suggestions: outcome
                .suggestions
                .iter()
                .map(|id| NeedView::of(id, None, Vec::new()))
                .collect(),
            understood,
            risk,
        })
    }

    /// The settings the index was opened with.
    pub fn settings(&self) -> &SearchSettings {
        &self.shared.settings
    }

    /// The lexicon questions are read with now.
    pub fn lexicon(&self) -> Arc<Lexicon> {
        self.shared.lexicon.read().expect("lexicon lock").clone()
    }

    /// Rebuilds the lexicon with these run-time entries (the shipped files plus them).
    pub fn set_lexicon_entries(&self, entries: &[NewEntry]) -> Result<(), LexiconError> {
        let lexicon = if entries.is_empty() {
            Lexicon::built_in()
        } else {
            Arc::new(Lexicon::new(entries)?)
        };
        *self.shared.lexicon.write().expect("lexicon lock") = lexicon;
        self.shared
            .lexicon_entries
            .store(entries.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Counts a question that found nothing or only partial matches, in memory; the
    /// writer task adds the counts to the database every second. Only the normalised,
    /// stripped question is kept (see `understand::gaps`).
    fn count_gap(&self, q: &str, kind: MatchKind) {
        if kind == MatchKind::Full {
            return;
        }
        if let Some(key) = gaps::normalised(q) {
            *self
                .shared
                .gaps
                .lock()
                .expect("gaps lock")
                .entry((key, kind.as_str()))
                .or_default() += 1;
        }
    }

    fn hit(
        &self,
        stored: &StoredHit,
        score: f32,
        highlighter: &Highlighter,
        request: &SearchRequest,
        sources: &HashMap<uuid::Uuid, SourceHealth>,
        now: DateTime<Utc>,
    ) -> Hit {
        let vitals = &stored.vitals;
        let snippet = highlighter.snippet(&vitals.description);
        let warnings = warnings(vitals, &self.shared.settings, sources, now);
        let source_read_at = vitals
            .source
            .as_ref()
            .and_then(|p| sources.get(&p.source_id))
            .and_then(|h| h.last_success_at);
        let eligibility = request.caller.as_ref().map(|caller| {
            eligibility::assess(
                &stored.coverage,
                vitals.minimum_age,
                vitals.maximum_age,
                vitals.gender,
                caller,
            )
        });
        let origin = match request.sort {
            Sort::Distance(origin) => Some(origin),
            Sort::Relevance => request.origin,
        };
        let distance_km = origin.and_then(|origin| {
            vitals
                .locations
                .iter()
                .filter_map(|l| l.latitude.zip(l.longitude))
                .map(|p| eligibility::distance_km(origin, p))
                .min_by(f64::total_cmp)
                .map(|d| (d * 10.0).round() / 10.0)
        });
        Hit {
            service: stored.summary.clone(),
            score,
            snippet,
            warnings,
            eligibility,
            distance_km,
            source_read_at,
            explain: None,
        }
    }
}

/// How a search with a question ended up matching.
struct Outcome {
    kind: Option<MatchKind>,
    /// The plan whose hits are shown.
    plan: Option<query::Plan>,
    ignored: Vec<String>,
    suggestions: Vec<String>,
}

/// A service in this share of the services a search can see, or more, has a word too
/// common to find anything by alone.
const COMMON_WORD_SHARE: usize = 5;

/// When nothing matches every word or a need: first leave out the words no service has
/// (even misspelt) and need the rest; then any of the rest, leaving out words too common
/// to mean anything alone; then the needs closest to the question's words.
fn fallback(
    t: &query::TextQuery,
    lexicon: &Lexicon,
    run: &dyn Fn(Option<&query::Plan>) -> anyhow::Result<collect::Found>,
    count: &dyn Fn(Option<&query::Plan>) -> anyhow::Result<usize>,
    outcome: &mut Outcome,
) -> anyhow::Result<collect::Found> {
    let n = t.content.len();
    let mut counts = Vec::with_capacity(n);
    for i in 0..n {
        counts.push(count(Some(&t.plan(&[i], true)))?);
    }
    let known: Vec<usize> = (0..n).filter(|&i| counts[i] > 0).collect();
    let word_of = |i: usize| t.content[i].plain.clone();
    let unknown: Vec<String> = (0..n).filter(|&i| counts[i] == 0).map(word_of).collect();
    if known.len() >= 2 && known.len() < n {
        let plan = t.plan(&known, false);
        let found = run(Some(&plan))?;
        if found.total > 0 {
            outcome.kind = Some(MatchKind::Partial);
            outcome.plan = Some(plan);
            outcome.ignored = unknown;
            return Ok(found);
        }
    }
    if !known.is_empty() {
        let visible = count(None)?.max(1);
        let rare: Vec<usize> = known
            .iter()
            .copied()
            .filter(|&i| counts[i] * COMMON_WORD_SHARE <= visible)
            .collect();
        let (keep, mut ignored) = if rare.is_empty() || rare.len() == known.len() {
            (known.clone(), unknown.clone())
        } else {
            let common: Vec<String> = known
                .iter()
                .copied()
                .filter(|i| !rare.contains(i))
                .map(word_of)
                .collect();
            (rare, unknown.iter().cloned().chain(common).collect())
        };
        let plan = t.plan(&keep, true);
        let found = run(Some(&plan))?;
        if found.total > 0 {
            ignored.sort();
            outcome.kind = Some(MatchKind::Partial);
            outcome.plan = Some(plan);
            outcome.ignored = ignored;
            return Ok(found);
        }
    }
    let words: Vec<String> = t.content.iter().map(|w| w.plain.clone()).collect();
    outcome.suggestions = lexicon.closest_needs(&words, 3);
    if !outcome.suggestions.is_empty() {
        let plan = t.needs_only(&outcome.suggestions);
        let found = run(Some(&plan))?;
        if found.total > 0 {
            outcome.kind = Some(MatchKind::Suggested);
            outcome.plan = Some(plan);
            return Ok(found);
        }
    }
    outcome.kind = Some(MatchKind::None);
    run(Some(&query::Plan::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vitals(v: serde_json::Value) -> Vitals {
        serde_json::from_value(v).expect("vitals")
    }

    #[test]
    fn warnings_for_closed_full_and_stale() {
        let settings = SearchSettings::default();
        let now = Utc::now();
        let fresh = now.to_rfc3339();
        let w = warnings(
            &vitals(
                json!({"status": "temporarily_closed", "temporary_closure": {"reason": "summer break", "reopens_on": "2026-09-01"},
                    "capacity": {"accepting": "waitlist", "waiting_weeks": 6, "updated_at": fresh},
                    "assured_date": now.date_naive().to_string()}),
            ),
            &settings,
            &HashMap::new(),
            now,
        );
        let codes: Vec<_> = w.iter().map(|w| w.code).collect();
        assert_eq!(codes, vec!["temporarily_closed", "waiting_list"]);
        assert!(w[1].message.contains("6 weeks"));
        let w = warnings(
            &vitals(
                json!({"status": "active", "capacity": {"accepting": "open", "updated_at": "2020-01-01T00:00:00Z"}, "assured_date": "2020-01-01"}),
            ),
            &settings,
            &HashMap::new(),
            now,
        );
        let codes: Vec<_> = w.iter().map(|w| w.code).collect();
        assert_eq!(codes, vec!["capacity_unknown", "not_verified"]);
    }

    #[test]
    fn accepting_ord_matches_schema() {
        assert_eq!(schema::accepting_ord(Some(Accepting::Open)), 0);
        assert_eq!(schema::accepting_ord(None), 3);
    }
}
