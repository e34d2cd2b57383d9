//! The one task that writes the index: it follows the database's change log, commits
//! changes (quick updates, already searchable by a patch, together), rebuilds on request,
//! and does the housekeeping of counted search gaps and other replicas' lexicon entries.

use super::generation::{
    RebuildReport, build_generation, commit, link_flags, read_current, remove_other_generations,
    write_current,
};
use super::{SearchIndex, Shared, folder, schema};
use crate::storage::Store;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tantivy::{IndexWriter, Term};
use tokio::sync::{mpsc, oneshot};

/// Change-log entries applied per commit while catching up.
pub(super) const CATCH_UP_BATCH: u32 = 5000;

pub(super) enum Command {
    Rebuild(oneshot::Sender<anyhow::Result<RebuildReport>>),
    /// Stop the writer and release the index lock.
    Shutdown(oneshot::Sender<()>),
}

pub(super) struct WriterTask {
    pub(super) dir: PathBuf,
    pub(super) store: Arc<Store>,
    pub(super) shared: Arc<Shared>,
    pub(super) writer: Arc<Mutex<IndexWriter>>,
    pub(super) applied: i64,
}

impl WriterTask {
    /// Applies every change after `applied`; returns how many services were re-indexed.
    /// With `may_wait`, changes already searchable by a patch wait for others, up to
    /// [`SearchSettings::commit_patches_within`].
    pub(super) async fn catch_up(&mut self, may_wait: bool) -> anyhow::Result<usize> {
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

    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
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
            built_on_open: None,
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
