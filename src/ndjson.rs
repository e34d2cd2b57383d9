//! Import and export as NDJSON: one service per line, in the shape `POST /v1/services`
//! accepts and `GET /v1/services/{id}` returns, so export → import round-trips exactly.

use crate::directory::{new_meta, new_organization, stamp_capacity};
use crate::domain::{self, InputError, Organization, OrganizationRef, Service, ServiceInput};
use crate::storage::{ServiceFilter, Store};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use uuid::Uuid;

/// Services written per transaction.
const IMPORT_BATCH: usize = 500;

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Lines imported as services.
    pub imported: usize,
    /// (line number, why it was rejected)
    pub rejected: Vec<(usize, String)>,
}

/// Says why an import line was refused, in a few words.
pub fn describe(e: InputError) -> String {
    match e {
        InputError::NotJson(m) => format!("not JSON: {m}"),
        InputError::Invalid(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Imports records, keeping the ids, versions and timestamps they carry. Valid lines are
/// kept even when others are rejected.
pub struct Importer<'a> {
    store: &'a Store,
    /// Organisations created by this import, by id.
    created: HashMap<Uuid, Organization>,
    pending_orgs: Vec<Organization>,
    pending: Vec<Service>,
    /// What has been imported and rejected so far.
    pub report: ImportReport,
}

impl<'a> Importer<'a> {
    /// An importer writing into `store`.
    pub fn new(store: &'a Store) -> Self {
        Self {
            store,
            created: HashMap::new(),
            pending_orgs: Vec::new(),
            pending: Vec::new(),
            report: ImportReport::default(),
        }
    }

    async fn organization_for(
        &mut self,
        reference: Option<OrganizationRef>,
    ) -> Result<Organization, String> {
        let id = match &reference {
            None => return Err("organization_id: say which organisation runs the service".into()),
            Some(OrganizationRef::Existing(id)) => Some(*id),
            Some(OrganizationRef::Embedded(o)) => o.server.id,
        };
        if let Some(id) = id {
            if let Some(org) = self.created.get(&id) {
                return Ok(org.clone());
            }
            if let Some(org) = self
                .store
                .get_organization(id)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(org);
            }
        }
        match reference {
            Some(OrganizationRef::Embedded(input)) => {
                let org = new_organization(*input, true);
                self.created.insert(org.id, org.clone());
                self.pending_orgs.push(org.clone());
                Ok(org)
            }
            _ => Err(format!(
                "organization_id: there is no organisation {}",
                id.map(|i| i.to_string()).unwrap_or_default()
            )),
        }
    }

    /// Parses and queues one line; returns false when it was rejected.
    pub async fn line(&mut self, number: usize, text: &str) -> anyhow::Result<bool> {
        let parsed = domain::parse_json(text.as_bytes()).and_then(domain::parse_service);
        let input: ServiceInput = match parsed {
            Ok(i) => i,
            Err(e) => {
                self.report.rejected.push((number, describe(e)));
                return Ok(false);
            }
        };
        let organization = match self.organization_for(input.organization).await {
            Ok(o) => o,
            Err(why) => {
                self.report.rejected.push((number, why));
                return Ok(false);
            }
        };
        let mut content = input.content;
        let meta = new_meta(&input.server, true);
        if content
            .capacity
            .as_ref()
            .is_some_and(|c| c.updated_at.is_none())
        {
            stamp_capacity(&mut content, None, meta.last_modified);
        }
        self.pending.push(Service {
            id: input.server.id.unwrap_or_else(Uuid::now_v7),
            organization,
            content,
            meta,
            source: None,
        });
        if self.pending.len() >= IMPORT_BATCH {
            self.flush().await?;
        }
        Ok(true)
    }

    /// Writes what is queued in one transaction.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        if self.pending.is_empty() && self.pending_orgs.is_empty() {
            return Ok(());
        }
        self.store
            .restore(&self.pending_orgs, &self.pending)
            .await
            .map_err(|e| anyhow::anyhow!("storing an import batch: {e}"))?;
        self.report.imported += self.pending.len();
        metrics::counter!("signpost_imported_services_total").increment(self.pending.len() as u64);
        self.pending.clear();
        self.pending_orgs.clear();
        Ok(())
    }
}

/// Imports NDJSON from a reader, showing progress when `progress` is set.
pub async fn import(
    store: &Store,
    reader: impl BufRead,
    total_bytes: Option<u64>,
    progress: bool,
) -> anyhow::Result<ImportReport> {
    let bar = if progress {
        let bar = match total_bytes {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut importer = Importer::new(store);
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", i + 1))?;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        importer.line(i + 1, &line).await?;
        if i % 1000 == 0 {
            bar.set_message(format!(
                "{} imported, {} rejected",
                importer.report.imported + importer.pending.len(),
                importer.report.rejected.len()
            ));
        }
    }
    importer.flush().await?;
    bar.finish_and_clear();
    Ok(importer.report)
}

/// Loads the built-in demo directory.
pub async fn load_demo(store: &Store) -> anyhow::Result<ImportReport> {
    let mut importer = Importer::new(store);
    for (i, svc) in crate::demo::services()?.into_iter().enumerate() {
        importer.line(i + 1, &svc.to_string()).await?;
    }
    importer.flush().await?;
    if let Some((line, why)) = importer.report.rejected.first() {
        anyhow::bail!("demo record {line} is invalid: {why}");
    }
    Ok(importer.report)
}

/// Writes every service as one JSON line, in id order; returns how many.
pub async fn export(store: &Store, out: &mut impl Write) -> anyhow::Result<usize> {
    let mut after = None;
    let mut count = 0;
    loop {
        let batch = store
            .list_services(&ServiceFilter::default(), after, 1000)
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        for s in &batch {
            serde_json::to_writer(&mut *out, s).context("writing a record")?;
            out.write_all(b"\n")?;
        }
        count += batch.len();
    }
    out.flush()?;
    Ok(count)
}
