//! Navigator search: a tantivy index derived from the database, kept in step by one
//! writer task that follows the change log.
//!
//! What lives here (this layer may import `domain`, `geo`, `understand`, `links` and
//! `storage`, never `directory` or `api`):
//! - [`SearchIndex`] (this file): the handle the directory holds: open, search, patch a
//!   quick update in, wait for a write, rebuild, shut down.
//! - `generation`: the index's folders on disk, building one from the database,
//!   committing; `folder`: the tantivy directory that leaves flushing to the OS.
//! - `writer`: the one task that applies the change log and does the housekeeping.
//! - `schema`: fields, documents and the packed per-service state ranking reads.
//! - `query`: a question turned into a plan (words, needs, typos, filters).
//! - `segment`: what searches read of a segment, worked out once per segment
//!   (`SegmentVitals`, kept in a `VitalsCache`); `bits`: their bit sets.
//! - `collect`: running a plan: matching, ranking, facets, the page.
//! - `fallback`: partial matches and suggestions when nothing matches every word.
//! - `hit` and `snippet`: what a hit shows of its stored document.
//! - `warnings`: what a navigator must see before referring.
//! - `response` and `settings`: the request, the answer, the operator's knobs.

mod bits;
mod collect;
mod fallback;
mod folder;
mod generation;
mod hit;
pub mod query;
mod response;
pub mod schema;
mod segment;
mod settings;
mod snippet;
mod stem;
mod warnings;
mod writer;

pub use collect::Sort;
pub use generation::RebuildReport;
pub use hit::SummaryFacts;
pub use response::{
    FacetCount, Facets, Hit, MatchKind, NeedView, RISK_MESSAGE, RiskBlock, SearchRequest,
    SearchResponse, Understood, Warning,
};
pub use settings::{CrisisContact, SearchSettings, default_crisis_contacts};
pub use warnings::warnings;

use crate::domain::{DeliveryMode, ServiceStatus, SourceHealth, taxonomy};
use crate::geo::eligibility;
use crate::storage::Store;
use crate::understand::{Lexicon, LexiconError, NewEntry, gaps};
use anyhow::Context;
use chrono::{DateTime, Utc};
use collect::PageCollector;
use fallback::{Outcome, fallback};
use generation::{
    Generation, build_generation, live_writer, open_generation, read_current,
    remove_other_generations, write_current,
};
use hit::{StoredHit, find};
use schema::SCHEMA_VERSION;
use snippet::Highlighter;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tantivy::Term;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot, watch};
use writer::{Command, WriterTask};

/// How long a write waits to become searchable before answering anyway.
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(15);

struct Shared {
    live: RwLock<Arc<Generation>>,
    /// The lexicon questions are read with, replaced whole when an entry is added.
    lexicon: RwLock<Arc<Lexicon>>,
    /// How many run-time entries the lexicon holds (to notice another replica's).
    lexicon_entries: std::sync::atomic::AtomicUsize,
    /// Questions that found nothing or only partial matches, not yet written.
    gaps: Mutex<HashMap<(String, &'static str), u64>>,
    /// Held while counted gaps are written, so that a report that writes them first
    /// waits for the writer task's write already under way instead of reading before it.
    flushing: tokio::sync::Mutex<()>,
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

/// Handle to the search index; cheap to clone.
#[derive(Clone)]
pub struct SearchIndex {
    shared: Arc<Shared>,
    /// The build `open` made when it found no usable index.
    built_on_open: Option<RebuildReport>,
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
        let mut built_on_open = None;
        let (path, generation, writer, applied) = match existing {
            Some(found) => found,
            None => {
                let started = std::time::Instant::now();
                let (path, generation, writer, seq, count) = build_generation(dir, &store).await?;
                write_current(dir, &path)?;
                let report = RebuildReport {
                    services: count,
                    seconds: started.elapsed().as_secs_f64(),
                    seq,
                };
                tracing::info!(
                    services = report.services,
                    seconds = report.seconds,
                    "index built"
                );
                built_on_open = Some(report);
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
            flushing: tokio::sync::Mutex::new(()),
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
        Ok(SearchIndex {
            shared,
            built_on_open,
        })
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

    /// The build `open` made, when it found no usable index to open.
    pub fn built_on_open(&self) -> Option<&RebuildReport> {
        self.built_on_open.as_ref()
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
        let _flushing = self.shared.flushing.lock().await;
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
            segment_filters: Default::default(),
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
