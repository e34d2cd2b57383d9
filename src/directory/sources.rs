//! Other directories' feeds as sources: registering them, pulling their services in with
//! their provenance, noticing records that vanish and likely duplicates, and telling
//! search how each source stands.

use super::{Directory, DirectoryError, now, stamp_capacity};
use crate::domain::access::Principal;
use crate::domain::fields::Name;
use crate::domain::{Organization, RecordMeta, Service, ServiceInput, ServiceStatus, SourceHealth};
use crate::oruk::mapping::derived_id;
use crate::oruk::pulling::{FeedClient, PullSettings};
use crate::oruk::reading;
use crate::storage::ServiceFilter;
use crate::storage::access::{Audit, diff};
use crate::storage::sources::{PullEnd, Source, SourcedPage, SourcedWrite};
use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The lease that lets one replica pull at a time.
pub const LEASE: &str = "source-pull";

/// A pull asks for records changed since its last good pull began, less this margin
/// for clocks that disagree.
const CLOCK_MARGIN_MINUTES: i64 = 10;

/// What an administrator gives to register another directory's feed.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    /// What navigators see as the records' origin, e.g. "Bolton Council"; unique.
    pub name: Name,
    /// The feed's base URL (http or https), e.g. https://example.org/oruk: the one
    /// whose `/services` lists its services.
    #[schema(format = Uri)]
    pub url: String,
}

/// What one pull of one source did.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct PullReport {
    /// The source's name.
    pub source: String,
    /// Every record read (`false`: only those changed since the last pull).
    pub full: bool,
    /// Pages of the source's `/services` read.
    pub pages: u32,
    /// HTTP requests made, retries and single-record fetches included.
    pub requests: u32,
    /// Records seen for the first time, now added.
    pub new: usize,
    /// Records whose content or organisation changed, now updated.
    pub changed: usize,
    /// Records the same as the copy here.
    pub unchanged: usize,
    /// Records a full pull no longer found: marked for review, never deleted.
    pub vanished: usize,
    /// Likely duplicates of new records sent to the review queue.
    pub possible_duplicates: usize,
    /// (the record's id there, why it could not be read)
    #[schema(value_type = Vec<Vec<String>>)]
    pub rejected: Vec<(String, String)>,
    /// (the record's id there, what was left out or inferred), at most 200.
    #[schema(value_type = Vec<Vec<String>>)]
    pub notes: Vec<(String, String)>,
    /// How long the pull took, in seconds.
    pub seconds: f64,
    /// Why the pull stopped; what it wrote before stays, the last good copy with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Registers another directory's Open Referral UK feed (no index needed: the command
/// line adds sources beside a running server).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn register_source(
    store: &crate::storage::Store,
    input: SourceInput,
) -> Result<Source, DirectoryError> {
    let url = url::Url::parse(input.url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            DirectoryError::field(
                "url",
                "the feed's base URL, http:// or https://, e.g. https://example.org/oruk (its /services lists the services)",
            )
        })?;
    let source = Source {
        id: Uuid::now_v7(),
        name: input.name.as_str().to_string(),
        url: url.to_string().trim_end_matches('/').to_string(),
        added_at: now(),
        state: "new".into(),
        last_attempt_at: None,
        last_success_at: None,
        last_full_at: None,
        next_modified_after: None,
        last_error: None,
        last_report: None,
        records: 0,
    };
    store.add_source(&source).await.map_err(|e| match e {
        crate::storage::StoreError::AlreadyExists => DirectoryError::field(
            "name",
            format!("there is already a source called '{}'", source.name),
        ),
        other => other.into(),
    })?;
    Ok(source)
}

impl Directory {
    /// Every registered source and how its pulls went.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sources(&self) -> Result<Vec<Source>, DirectoryError> {
        Ok(self.store.sources().await?)
    }

    /// Registers another directory's Open Referral UK feed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_source(&self, input: SourceInput) -> Result<Source, DirectoryError> {
        register_source(&self.store, input).await
    }

    /// Tells search how each source stands (after pulls, and now and then for the pulls
    /// other replicas make).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn refresh_source_health(&self) -> anyhow::Result<()> {
        let health = self
            .store
            .sources()
            .await?
            .into_iter()
            .map(|s| {
                let failing = (s.state == "failing").then(|| {
                    s.last_error
                        .clone()
                        .unwrap_or_else(|| "the last pull failed".into())
                });
                (
                    s.id,
                    SourceHealth {
                        name: s.name,
                        last_success_at: s.last_success_at,
                        failing,
                    },
                )
            })
            .collect();
        self.index.set_sources(health);
        Ok(())
    }

    /// Pulls every source (`only`: the one with this id or name) if this holder gets the
    /// lease; `None` while another replica is pulling. `full` reads every record even
    /// when a changes-only pull would be due.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn pull_sources(
        &self,
        only: Option<&str>,
        settings: &PullSettings,
        holder: &str,
        full: bool,
    ) -> Result<Option<Vec<PullReport>>, DirectoryError> {
        let sources: Vec<Source> = self
            .store
            .sources()
            .await?
            .into_iter()
            .filter(|s| only.is_none_or(|o| s.id.to_string() == o || s.name == o))
            .collect();
        if let Some(o) = only
            && sources.is_empty()
        {
            return Err(DirectoryError::NotFound(format!(
                "there is no source '{o}'"
            )));
        }
        let started = Utc::now();
        if !self
            .store
            .take_lease(LEASE, holder, started, started + chrono::Duration::hours(6))
            .await?
        {
            return Ok(None);
        }
        let mut reports = Vec::new();
        for source in &sources {
            let report = self.pull(source, settings, full).await;
            let outcome = if report.error.is_some() {
                "failed"
            } else {
                "ok"
            };
            metrics::counter!("signpost_source_pulls_total", "outcome" => outcome).increment(1);
            for (change, n) in [
                ("new", report.new),
                ("changed", report.changed),
                ("unchanged", report.unchanged),
                ("vanished", report.vanished),
                ("rejected", report.rejected.len()),
            ] {
                metrics::counter!("signpost_source_records_total", "change" => change)
                    .increment(n as u64);
            }
            reports.push(report);
        }
        self.store.release_lease(LEASE, holder).await?;
        self.refresh_source_health().await?;
        Ok(Some(reports))
    }

    /// One pull of one source; whatever happens is recorded on the source.
    async fn pull(&self, source: &Source, settings: &PullSettings, full: bool) -> PullReport {
        let clock = std::time::Instant::now();
        let started = now();
        let full = full
            || source.next_modified_after.is_none()
            || source
                .last_full_at
                .is_none_or(|t| started - t > settings.full_every);
        let mut report = PullReport {
            source: source.name.clone(),
            full,
            ..PullReport::default()
        };
        let outcome = match self.store.start_pull(source.id, started).await {
            Ok(()) => self.walk(source, settings, full, &mut report).await,
            Err(e) => Err(e),
        };
        report.seconds = clock.elapsed().as_secs_f64();
        let error = outcome.err().map(|e| format!("{e:#}"));
        report.error = error.clone();
        let end = PullEnd {
            at: now(),
            error: error.as_deref(),
            next_modified_after: Some(started - chrono::Duration::minutes(CLOCK_MARGIN_MINUTES)),
            full,
            report: &serde_json::to_value(&report).unwrap_or(Value::Null),
        };
        if let Err(e) = self.store.finish_pull(source.id, &end).await {
            tracing::warn!(source = %source.name, error = %e, "could not record a pull");
        }
        match &report.error {
            None => tracing::info!(
                source = %source.name, full, new = report.new, changed = report.changed,
                vanished = report.vanished, rejected = report.rejected.len(),
                seconds = report.seconds, "source pulled"
            ),
            Some(e) => tracing::warn!(source = %source.name, error = %e, "source pull failed"),
        }
        report
    }

    async fn walk(
        &self,
        source: &Source,
        settings: &PullSettings,
        full: bool,
        report: &mut PullReport,
    ) -> anyhow::Result<()> {
        let started = now();
        let after = if full {
            None
        } else {
            source.next_modified_after
        };
        let mut client = FeedClient::new(&source.url, settings.clone())?;
        let lexicon = self.index.lexicon();
        let actor = Principal::system(&format!("source:{}", source.name));
        let mut read = HashSet::new();
        let mut organizations: HashMap<Uuid, Organization> = HashMap::new();
        let mut new_services = Vec::new();
        let mut last_seq = None;
        let mut number = 1;
        while let Some(page) = client.page(number, after).await? {
            report.pages += 1;
            let mut items = Vec::new();
            let mut unread = 0;
            for mut item in page.services {
                let Some(record_id) = reading::record_id(&item) else {
                    report
                        .rejected
                        .push((String::new(), "a record with no 'id'".into()));
                    continue;
                };
                if !read.insert(record_id.clone()) {
                    continue;
                }
                unread += 1;
                if item.get("organization").is_none_or(|o| !o.is_object()) {
                    item = client.service(&record_id).await?;
                }
                match reading::convert(&item, &lexicon) {
                    Ok(c) => {
                        let room = 200usize.saturating_sub(report.notes.len());
                        report.notes.extend(
                            c.notes
                                .into_iter()
                                .take(room)
                                .map(|n| (record_id.clone(), n)),
                        );
                        items.push((record_id, c.record));
                    }
                    Err(why) => report.rejected.push((record_id, why)),
                }
            }
            if unread == 0 {
                anyhow::bail!(
                    "page {} repeats records already read: the source seems to ignore page numbers",
                    page.number
                );
            }
            let seq = self
                .write_page(
                    source,
                    items,
                    &actor,
                    &mut organizations,
                    &mut new_services,
                    report,
                )
                .await?;
            last_seq = last_seq.max(seq);
            if page.last {
                break;
            }
            number += 1;
        }
        report.requests = client.requests;
        if full {
            let (gone, seq) = self.store.mark_vanished(source.id, started, now()).await?;
            report.vanished = gone.len();
            last_seq = last_seq.max(seq);
        }
        report.possible_duplicates = self.find_duplicates(source.id, &new_services).await?;
        self.searchable(last_seq).await?;
        Ok(())
    }

    /// Writes one page's records: new and changed ones with their provenance, unchanged
    /// ones only marked seen. Returns the last change sequence.
    async fn write_page(
        &self,
        source: &Source,
        items: Vec<(String, Value)>,
        actor: &Principal,
        organizations: &mut HashMap<Uuid, Organization>,
        new_services: &mut Vec<Uuid>,
        report: &mut PullReport,
    ) -> anyhow::Result<Option<i64>> {
        let at = now();
        let mut parsed: Vec<(String, ServiceInput)> = Vec::new();
        for (record_id, record) in items {
            match crate::domain::parse_service(record) {
                Ok(input) => parsed.push((record_id, input)),
                Err(e) => report
                    .rejected
                    .push((record_id, crate::ndjson::describe(e))),
            }
        }
        let sid = source.id.to_string();
        let ids: Vec<Uuid> = parsed
            .iter()
            .map(|(r, _)| derived_id(&["source", &sid, r]))
            .collect();
        let mut existing: HashMap<Uuid, Service> = self
            .store
            .get_services(&ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let mut services = Vec::new();
        let mut org_writes: Vec<(Organization, Option<i64>)> = Vec::new();
        let mut seen = Vec::new();
        let mut touched = Vec::new();
        for ((record_id, input), id) in parsed.into_iter().zip(ids) {
            let Some(crate::domain::OrganizationRef::Embedded(org_input)) = input.organization
            else {
                report
                    .rejected
                    .push((record_id, "no organisation to be read".into()));
                continue;
            };
            let org_key = org_input.server.id.map_or_else(
                || org_input.content.name.as_str().to_string(),
                |i| i.to_string(),
            );
            let org_id = derived_id(&["source", &sid, "organization", &org_key]);
            let known = match organizations.get(&org_id) {
                Some(o) => Some(o.clone()),
                None => self.store.get_organization(org_id).await?,
            };
            let org = match known {
                Some(o) if o.content == org_input.content => o,
                Some(o) => {
                    let next = Organization {
                        content: org_input.content,
                        meta: RecordMeta {
                            version: o.meta.version + 1,
                            created_at: o.meta.created_at,
                            last_modified: at,
                        },
                        ..o.clone()
                    };
                    org_writes.push((next.clone(), Some(o.meta.version)));
                    next
                }
                None => {
                    let org = Organization {
                        id: org_id,
                        content: org_input.content,
                        retired: false,
                        meta: RecordMeta {
                            version: 1,
                            created_at: at,
                            last_modified: at,
                        },
                    };
                    org_writes.push((org.clone(), None));
                    org
                }
            };
            organizations.insert(org.id, org.clone());
            let before = existing.remove(&id);
            let mut content = input.content;
            // A record retired here stays retired, whatever its source says.
            if before
                .as_ref()
                .is_some_and(|b| b.content.status == ServiceStatus::Defunct)
            {
                content.status = ServiceStatus::Defunct;
            }
            // The source's own stamp stands; without one, a restated capacity keeps ours.
            if content
                .capacity
                .as_ref()
                .is_some_and(|c| c.updated_at.is_none())
            {
                stamp_capacity(&mut content, before.as_ref().map(|b| &b.content), at);
            }
            match before {
                Some(b) if b.content == content && b.organization == org => {
                    report.unchanged += 1;
                    if b.source.as_ref().is_some_and(|p| p.vanished_at.is_some()) {
                        touched.push(b.id);
                    }
                    seen.push(record_id);
                }
                before => {
                    let changes = diff(
                        &before.as_ref().map_or(Value::Null, |b| json!(b.content)),
                        &json!(content),
                    );
                    let meta = match &before {
                        Some(b) => RecordMeta {
                            version: b.meta.version + 1,
                            created_at: b.meta.created_at,
                            last_modified: at,
                        },
                        None => RecordMeta {
                            version: 1,
                            created_at: at,
                            last_modified: at,
                        },
                    };
                    if before.is_some() {
                        report.changed += 1;
                    } else {
                        report.new += 1;
                        new_services.push(id);
                    }
                    services.push(SourcedWrite {
                        record_id,
                        service: Service {
                            id,
                            organization: org,
                            content,
                            meta,
                            source: None,
                        },
                        expected: before.map(|b| b.meta.version),
                        audit: Audit {
                            actor: actor.clone(),
                            action: "source_pull",
                            changes,
                        },
                    });
                }
            }
        }
        let page = SourcedPage {
            organizations: org_writes
                .into_iter()
                .map(|(org, expected)| {
                    let audit = Audit {
                        actor: actor.clone(),
                        action: "source_pull",
                        changes: Vec::new(),
                    };
                    (org, expected, audit)
                })
                .collect(),
            services,
            seen,
            touched,
            at,
        };
        Ok(self.store.write_sourced(source.id, &page).await?)
    }

    /// Sends likely duplicates of `new` records to the review queue: another record (kept
    /// here or from another source) at the same postcode with a similar name, or with the
    /// same name from an organisation of the same name. Returns how many pairs.
    async fn find_duplicates(&self, source_id: Uuid, new: &[Uuid]) -> anyhow::Result<usize> {
        if new.is_empty() {
            return Ok(0);
        }
        let new: HashSet<Uuid> = new.iter().copied().collect();
        let mut by_postcode: HashMap<String, Vec<Brief>> = HashMap::new();
        let mut by_name: HashMap<(String, String), Vec<Brief>> = HashMap::new();
        let mut fresh = Vec::new();
        let filter = ServiceFilter {
            excluded_statuses: vec![ServiceStatus::Defunct],
            ..ServiceFilter::default()
        };
        let mut after = None;
        loop {
            let page = self.store.list_services(&filter, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for s in page {
                let brief = Brief::of(&s, source_id);
                if new.contains(&s.id) {
                    fresh.push(brief.clone());
                }
                if let Some(pc) = &brief.postcode {
                    by_postcode
                        .entry(pc.clone())
                        .or_default()
                        .push(brief.clone());
                }
                by_name
                    .entry((brief.org.clone(), brief.name.clone()))
                    .or_default()
                    .push(brief);
            }
        }
        let mut pairs = Vec::new();
        for b in &fresh {
            let mut found: HashMap<Uuid, String> = HashMap::new();
            for other in by_postcode
                .get(b.postcode.as_deref().unwrap_or(""))
                .into_iter()
                .flatten()
            {
                if other.id != b.id && !other.same_source && similar(&b.words, &other.words) {
                    found.insert(
                        other.id,
                        format!(
                            "same postcode {}, similar name",
                            b.postcode.as_deref().unwrap_or("")
                        ),
                    );
                }
            }
            for other in by_name
                .get(&(b.org.clone(), b.name.clone()))
                .into_iter()
                .flatten()
            {
                if other.id != b.id && !other.same_source {
                    found.entry(other.id).or_insert_with(|| {
                        "same name, from an organisation of the same name".into()
                    });
                }
            }
            pairs.extend(found.into_iter().map(|(o, why)| (b.id, o, why)));
        }
        self.store.add_possible_duplicates(&pairs, now()).await?;
        Ok(pairs.len())
    }
}

/// What duplicate finding compares of a service.
#[derive(Clone)]
struct Brief {
    id: Uuid,
    name: String,
    words: HashSet<String>,
    org: String,
    postcode: Option<String>,
    /// From the source being pulled (its own records are not compared with each other).
    same_source: bool,
}

impl Brief {
    fn of(s: &Service, source_id: Uuid) -> Self {
        let name = s.content.name.as_str().to_lowercase();
        Brief {
            id: s.id,
            words: name
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| {
                    w.len() > 2 && !matches!(*w, "the" | "and" | "for" | "service" | "services")
                })
                .map(str::to_string)
                .collect(),
            name,
            org: s.organization.content.name.as_str().to_lowercase(),
            postcode: s
                .content
                .locations
                .iter()
                .find_map(|l| l.postal_code.as_ref())
                .map(|p| p.as_str().replace(' ', "").to_uppercase()),
            same_source: s.source.as_ref().is_some_and(|p| p.source_id == source_id),
        }
    }
}

/// Names share at least half their words (the shorter name's).
fn similar(a: &HashSet<String>, b: &HashSet<String>) -> bool {
    let smaller = a.len().min(b.len());
    smaller > 0 && a.intersection(b).count() * 2 >= smaller
}
