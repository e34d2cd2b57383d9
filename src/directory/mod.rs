//! The directory layer: every use case the front doors (API, pages, feed, command line)
//! need, as methods of [`Directory`] taking and returning domain types or
//! [`DirectoryError`]. The store and the index are private to it, so a policy (who may
//! see what, when capacity is stale, read-your-writes) is written once, here.
//!
//! What lives here (this layer may import `storage`, `search`, `links`, `mail`,
//! `understand`, `domain` and `geo`; never `api`, `pages`, `cli` or `startup`):
//! - this file: writes: input becomes records, versions and stamps are kept, the write is
//!   stored and waited for until search has it; keys and lexicon entries;
//! - `finding` (search with a caller, eligibility, a service's page), `keeping` (quick
//!   updates: capacity, status, still accurate), `records` (reads, history, link checks,
//!   index state), `review` (the review queue's rules), `admin` (link summaries),
//!   `reminders`, `retention`, `sources` (other directories' feeds), `feed` (this
//!   directory as an Open Referral UK feed).

use crate::domain::access::{ApiKey, Principal, Role, generate_key, hash_key};
use crate::domain::fields::Name;
use crate::domain::{
    FieldError, InputError, Organization, OrganizationInput, OrganizationRef, RecordMeta, Service,
    ServiceContent, ServiceInput, ServiceStatus,
};
use crate::search::SearchIndex;
use crate::storage::ServiceFilter;
use crate::storage::access::{Audit, diff};
use crate::storage::understanding::{Gap, StoredEntry};
use crate::storage::{Store, StoreError};
use crate::understand::lexicon::check_entry;
use crate::understand::{LexiconError, NewEntry};
use chrono::{DateTime, SubsecRound, Utc};
use std::sync::Arc;
use uuid::Uuid;

pub mod admin;
pub mod feed;
pub mod finding;
pub mod keeping;
pub mod records;
pub mod reminders;
pub mod retention;
pub mod review;
pub mod sources;

pub use finding::{CallerInput, CallerView, EligibilityView, PlaceInput, ServiceDetail};

/// How many times an edit without `If-Match` is re-applied when another writer got in first.
const MAX_EDIT_ATTEMPTS: u32 = 40;

/// Edits that change only what a search reads besides the text (capacity, status,
/// "still accurate"), so that they can be searchable without a new index document.
const QUICK_UPDATES: &[&str] = &["capacity", "status", "verify"];

/// Why the directory refused or could not make a change; the API turns each into its
/// HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// No such record (404); the message says which.
    #[error("{0}")]
    NotFound(String),
    /// The caller's role or organisation may not do this (403); the message says why.
    #[error("{0}")]
    Forbidden(String),
    /// The key presented is not one that may be used.
    #[error("{0}")]
    Unauthorized(String),
    /// `If-Match` named an older version than `current`.
    #[error("the record has changed since you read it: the current version is {current}")]
    Stale {
        /// The record's version now.
        current: i64,
    },
    /// Others kept changing the record; nothing was written.
    #[error("{0}")]
    Busy(String),
    /// Fields of the input are not valid, each named with what would be valid (422).
    #[error("some fields are not valid")]
    Invalid(Vec<FieldError>),
    /// A question the directory cannot answer as asked (a query parameter, not a body).
    #[error("{detail}")]
    BadQuery {
        /// The query parameter at fault.
        name: String,
        /// What is wrong with it and what would be valid.
        detail: String,
    },
    /// Anything else, such as a database failure (503 if the database is away, else 500).
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl DirectoryError {
    /// One invalid field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        DirectoryError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<StoreError> for DirectoryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DirectoryError::NotFound("no record with this id".into()),
            StoreError::VersionMismatch { current } => DirectoryError::Stale { current },
            StoreError::AlreadyExists => {
                DirectoryError::field("id", "a record with this id already exists")
            }
            StoreError::Unexpected(e) => DirectoryError::Unexpected(e),
        }
    }
}

impl From<InputError> for DirectoryError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::NotJson(m) => DirectoryError::field("body", m),
            InputError::Invalid(errors) => DirectoryError::Invalid(errors),
        }
    }
}

/// A short random pause before re-applying an edit, growing with each attempt, so
/// writers racing for one record spread out instead of colliding again.
async fn back_off(attempt: u32) {
    let ceiling = 2 + u64::from(attempt.min(10)) * 3;
    let ms = rand::random_range(1..=ceiling);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// Now, at the precision the database keeps.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

impl Directory {
    /// Who a presented key belongs to; a key that is malformed, unknown, revoked or
    /// expired is refused, never treated as anonymous. `admin_digest` is the bootstrap
    /// administrator key's digest, when one was given.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn authenticate(
        &self,
        key: &str,
        admin_digest: Option<[u8; 32]>,
    ) -> Result<Principal, DirectoryError> {
        use subtle::ConstantTimeEq;
        if let Some(expected) = admin_digest
            && bool::from(crate::domain::access::key_digest(key).ct_eq(&expected))
        {
            return Ok(Principal::system("admin-key"));
        }
        if !crate::domain::access::well_formed(key) {
            return Err(DirectoryError::Unauthorized(
                "this is not a signpost API key: keys start with 'sp_' and 64 hex digits".into(),
            ));
        }
        let found = self
            .store
            .key_by_hash(&hash_key(key))
            .await?
            .ok_or_else(|| DirectoryError::Unauthorized("the API key is not valid".into()))?;
        if let Some(why) = found.refusal(Utc::now()) {
            return Err(DirectoryError::Unauthorized(why.into()));
        }
        Ok(Principal {
            key_id: found.id,
            role: found.role,
            organization_id: found.organization_id,
        })
    }
}

/// The longest a key may be made to last: ten years.
pub const MAX_KEY_DAYS: u32 = 3650;

/// What a navigator can report about a service.
pub const REPORT_KINDS: &[&str] = &[
    "closed",
    "wrong_phone",
    "not_taking_referrals",
    "wrong_details",
    "other",
];

impl Directory {
    /// Files a problem seen on a call for the administrators (and the service's partner).
    #[tracing::instrument(name = "directory.report", skip_all, fields(service = %id))]
    pub async fn report(
        &self,
        id: Uuid,
        kind: &str,
        text: Option<String>,
        who: &Principal,
    ) -> Result<crate::storage::access::Report, DirectoryError> {
        if !REPORT_KINDS.contains(&kind) {
            return Err(DirectoryError::field(
                "kind",
                format!("use one of: {}", REPORT_KINDS.join(", ")),
            ));
        }
        let text = match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => Some(
                crate::domain::fields::Text::parse(t)
                    .map_err(|e| DirectoryError::field("text", e))?
                    .as_str()
                    .to_string(),
            ),
            None => None,
        };
        if kind == "other" && text.is_none() {
            return Err(DirectoryError::field("text", "say what is wrong"));
        }
        self.service(id).await?;
        let report = crate::storage::access::Report {
            id: Uuid::now_v7(),
            service_id: id,
            kind: kind.to_string(),
            text,
            reporter: who.key_id.clone(),
            created_at: crate::storage::ts(&now()),
            resolved_at: None,
            resolved_by: None,
            resolution: None,
        };
        self.store.insert_report(&report).await?;
        Ok(report)
    }
}

/// The directory: storage plus the search index that follows it.
#[derive(Clone)]
pub struct Directory {
    store: Arc<Store>,
    index: SearchIndex,
    /// The application's runtime, where writes run (see [`Directory::write_searchable`]).
    writes: tokio::runtime::Handle,
}

/// Record metadata for a new record: the given server fields when `keep` (an import of an export), else fresh ones.
pub fn new_meta(server: &crate::domain::ServerFields, keep: bool) -> RecordMeta {
    let at = now();
    RecordMeta {
        version: server.version.filter(|_| keep).unwrap_or(1),
        created_at: server.created_at.filter(|_| keep).unwrap_or(at),
        last_modified: server.last_modified.filter(|_| keep).unwrap_or(at),
    }
}

/// An organisation from what a client sent (its server fields kept only for an import).
pub fn new_organization(input: OrganizationInput, keep_server_fields: bool) -> Organization {
    Organization {
        id: input.server.id.unwrap_or_else(Uuid::now_v7),
        meta: new_meta(&input.server, keep_server_fields),
        retired: keep_server_fields && input.retired.unwrap_or(false),
        content: input.content,
    }
}

/// Stamps capacity with the time it changed; an unchanged capacity keeps its stamp.
pub fn stamp_capacity(
    content: &mut ServiceContent,
    before: Option<&ServiceContent>,
    at: DateTime<Utc>,
) {
    let Some(cap) = content.capacity.as_mut() else {
        return;
    };
    let previous = before.and_then(|b| b.capacity.as_ref());
    cap.updated_at = match previous {
        Some(p) if p.same_as(cap) => p.updated_at.or(Some(at)),
        _ => Some(at),
    };
}

/// A record's editable content as JSON, for the audit trail's field-level diff.
fn content_json<T: serde::Serialize>(content: &T) -> serde_json::Value {
    serde_json::to_value(content).unwrap_or(serde_json::Value::Null)
}

fn forbidden_for(actor: &Principal) -> DirectoryError {
    DirectoryError::Forbidden(match actor.role {
        crate::domain::access::Role::Navigator => {
            "navigator keys can read and report, not edit".to_string()
        }
        _ => "this key may only change its own organisation's services".to_string(),
    })
}

impl Directory {
    /// The directory over these records and their index; writes will run on the
    /// runtime this is called on.
    pub fn new(store: Arc<Store>, index: SearchIndex) -> Self {
        Self {
            store,
            index,
            writes: tokio::runtime::Handle::current(),
        }
    }

    async fn searchable(&self, seq: Option<i64>) -> Result<(), DirectoryError> {
        if let Some(seq) = seq {
            self.index.wait_for(seq).await?;
        }
        Ok(())
    }

    /// Whether a quick update is searchable already, patched into the index without
    /// waiting for its next commit (see `SearchIndex::patch`).
    async fn patched(&self, service: &Service, seq: i64) -> bool {
        match self.index.patch(service, seq).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = ?e, "could not patch a quick update into the index; waiting for the commit");
                false
            }
        }
    }

    /// Runs a write use case on the application's runtime rather than on the HTTP
    /// worker that asked. A write is several statements, and each answer from the
    /// database wakes the task waiting for it: on a worker busy answering searches
    /// every wake waits its turn behind them (at 16 search clients and 20 writes a
    /// second, writes took ~700 ms at the median), while the application's threads are
    /// idle. The write also finishes if the client goes away meanwhile.
    async fn away_from_searches<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T, DirectoryError>> + Send + 'static,
    ) -> Result<T, DirectoryError> {
        match self.writes.spawn(work).await {
            Ok(done) => done,
            Err(e) => Err(DirectoryError::Unexpected(anyhow::anyhow!(
                "a write stopped before it finished: {e}"
            ))),
        }
    }

    /// Finds the organisation a new service belongs to, or prepares the embedded one.
    async fn resolve_organization(
        &self,
        reference: Option<OrganizationRef>,
        keep_server_fields: bool,
    ) -> Result<(Organization, bool), DirectoryError> {
        match reference {
            None => Err(DirectoryError::field(
                "organization_id",
                "say which organisation runs the service: organization_id, or an organization object",
            )),
            Some(OrganizationRef::Existing(id)) => match self.store.get_organization(id).await? {
                Some(org) if org.retired => Err(DirectoryError::field(
                    "organization_id",
                    "this organisation is retired; services cannot be added to it",
                )),
                Some(org) => Ok((org, false)),
                None => Err(DirectoryError::field(
                    "organization_id",
                    format!("there is no organisation {id}; create it with POST /v1/organizations"),
                )),
            },
            Some(OrganizationRef::Embedded(input)) => {
                if let Some(id) = input.server.id
                    && let Some(org) = self.store.get_organization(id).await?
                {
                    return Ok((org, false));
                }
                Ok((new_organization(*input, keep_server_fields), true))
            }
        }
    }

    /// Creates a service from API input.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_service(
        &self,
        input: ServiceInput,
        actor: &Principal,
    ) -> Result<Service, DirectoryError> {
        let (this, actor) = (self.clone(), actor.clone());
        self.away_from_searches(async move { this.create_service_here(input, &actor).await })
            .await
    }

    async fn create_service_here(
        &self,
        input: ServiceInput,
        actor: &Principal,
    ) -> Result<Service, DirectoryError> {
        let (organization, is_new) = self.resolve_organization(input.organization, false).await?;
        if is_new && actor.role != crate::domain::access::Role::Admin {
            return Err(DirectoryError::Forbidden(
                "only an administrator can create an organisation; give your organisation's organization_id".into(),
            ));
        }
        if !actor.may_edit(organization.id) {
            return Err(forbidden_for(actor));
        }
        let mut content = input.content;
        let meta = new_meta(&input.server, false);
        stamp_capacity(&mut content, None, meta.last_modified);
        let service = Service {
            id: input.server.id.unwrap_or_else(Uuid::now_v7),
            organization,
            content,
            meta,
            source: None,
        };
        let new_org = is_new.then(|| service.organization.clone());
        let audit = Audit {
            actor: actor.clone(),
            action: "create",
            changes: diff(&serde_json::Value::Null, &content_json(&service.content)),
        };
        let seq = self
            .store
            .insert_service(&service, new_org.as_ref(), &audit)
            .await?;
        self.searchable(Some(seq)).await?;
        Ok(service)
    }

    /// Changes a service with `edit`, checking `If-Match` when given; without it the
    /// edit is re-applied to the newest version, so no accepted write is lost.
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn edit_service<F>(
        &self,
        id: Uuid,
        if_match: Option<i64>,
        actor: &Principal,
        action: &'static str,
        edit: F,
    ) -> Result<Service, DirectoryError>
    where
        F: Fn(&Service) -> Result<ServiceContent, DirectoryError> + Send + Sync + 'static,
    {
        let (this, actor) = (self.clone(), actor.clone());
        self.away_from_searches(async move {
            this.edit_service_here(id, if_match, &actor, action, edit)
                .await
        })
        .await
    }

    async fn edit_service_here<F>(
        &self,
        id: Uuid,
        if_match: Option<i64>,
        actor: &Principal,
        action: &'static str,
        edit: F,
    ) -> Result<Service, DirectoryError>
    where
        F: Fn(&Service) -> Result<ServiceContent, DirectoryError>,
    {
        for attempt in 0..MAX_EDIT_ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let current = self
                .store
                .get_service(id)
                .await?
                .ok_or_else(|| DirectoryError::NotFound(format!("there is no service {id}")))?;
            if !actor.may_edit(current.organization.id) {
                return Err(forbidden_for(actor));
            }
            if let Some(source) = &current.source
                && !(action == "retire" && actor.role == crate::domain::access::Role::Admin)
            {
                return Err(DirectoryError::Forbidden(format!(
                    "this service is read from the directory '{}' (its id there: {}); it changes when that directory changes it, and only an administrator may retire it here",
                    source.name, source.record_id
                )));
            }
            if let Some(expected) = if_match
                && expected != current.meta.version
            {
                return Err(DirectoryError::Stale {
                    current: current.meta.version,
                });
            }
            let mut content = edit(&current)?;
            let problems = content.problems();
            if !problems.is_empty() {
                return Err(DirectoryError::Invalid(problems));
            }
            let at = now();
            // A capacity update stamps its own time: restating the same capacity is a
            // confirmation and refreshes it. Any other edit keeps an unchanged stamp.
            if action != "capacity" {
                stamp_capacity(&mut content, Some(&current.content), at);
            }
            let next = Service {
                content,
                meta: RecordMeta {
                    version: current.meta.version + 1,
                    created_at: current.meta.created_at,
                    last_modified: at,
                },
                ..current.clone()
            };
            let audit = Audit {
                actor: actor.clone(),
                action,
                changes: diff(
                    &content_json(&current.content),
                    &content_json(&next.content),
                ),
            };
            match self
                .store
                .update_service(&next, current.meta.version, &audit)
                .await
            {
                Ok(seq) => {
                    if !(QUICK_UPDATES.contains(&action) && self.patched(&next, seq).await) {
                        self.searchable(Some(seq)).await?;
                    }
                    return Ok(next);
                }
                Err(StoreError::VersionMismatch { current }) if if_match.is_some() => {
                    return Err(DirectoryError::Stale { current });
                }
                Err(StoreError::VersionMismatch { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Busy(
            "the service is being changed by others right now; read it again and retry".into(),
        ))
    }

    /// Retires a service: it stays on record as `defunct` and drops out of search.
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn retire_service(
        &self,
        id: Uuid,
        if_match: Option<i64>,
        actor: &Principal,
    ) -> Result<Service, DirectoryError> {
        self.edit_service(id, if_match, actor, "retire", move |s| {
            let mut c = s.content.clone();
            c.status = ServiceStatus::Defunct;
            c.temporary_closure = None;
            Ok(c)
        })
        .await
    }

    /// Creates an organisation (administrators only) and records who did it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_organization(
        &self,
        input: OrganizationInput,
        actor: &Principal,
    ) -> Result<Organization, DirectoryError> {
        let org = new_organization(input, false);
        let audit = Audit {
            actor: actor.clone(),
            action: "create",
            changes: diff(&serde_json::Value::Null, &content_json(&org.content)),
        };
        self.store.insert_organization(&org, &audit).await?;
        Ok(org)
    }

    /// Changes an organisation; `retire` also retires its running services.
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn edit_organization<F>(
        &self,
        id: Uuid,
        if_match: Option<i64>,
        retire: bool,
        actor: &Principal,
        edit: F,
    ) -> Result<Organization, DirectoryError>
    where
        F: Fn(&Organization) -> Result<crate::domain::OrganizationContent, DirectoryError>
            + Send
            + Sync
            + 'static,
    {
        let (this, actor) = (self.clone(), actor.clone());
        self.away_from_searches(async move {
            this.edit_organization_here(id, if_match, retire, &actor, edit)
                .await
        })
        .await
    }

    async fn edit_organization_here<F>(
        &self,
        id: Uuid,
        if_match: Option<i64>,
        retire: bool,
        actor: &Principal,
        edit: F,
    ) -> Result<Organization, DirectoryError>
    where
        F: Fn(&Organization) -> Result<crate::domain::OrganizationContent, DirectoryError>,
    {
        for attempt in 0..MAX_EDIT_ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let current = self.store.get_organization(id).await?.ok_or_else(|| {
                DirectoryError::NotFound(format!("there is no organisation {id}"))
            })?;
            if let Some(expected) = if_match
                && expected != current.meta.version
            {
                return Err(DirectoryError::Stale {
                    current: current.meta.version,
                });
            }
            let next = Organization {
                content: edit(&current)?,
                retired: current.retired || retire,
                meta: RecordMeta {
                    version: current.meta.version + 1,
                    created_at: current.meta.created_at,
                    last_modified: now(),
                },
                id,
            };
            let audit = Audit {
                actor: actor.clone(),
                action: if retire { "retire" } else { "update" },
                changes: diff(
                    &content_json(&current.content),
                    &content_json(&next.content),
                ),
            };
            match self
                .store
                .update_organization(&next, current.meta.version, retire, &audit)
                .await
            {
                Ok(seq) => {
                    self.searchable(seq).await?;
                    return Ok(next);
                }
                Err(StoreError::VersionMismatch { current }) if if_match.is_some() => {
                    return Err(DirectoryError::Stale { current });
                }
                Err(StoreError::VersionMismatch { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Busy(
            "the organisation is being changed by others right now; read it again and retry".into(),
        ))
    }

    /// Reopens temporarily closed services whose reopening date has come; returns how many.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reopen_due(&self) -> anyhow::Result<usize> {
        let today = now().date_naive();
        let system = Principal::system("scheduler");
        let mut reopened = 0;
        let mut after = None;
        let filter = ServiceFilter {
            statuses: vec![ServiceStatus::TemporarilyClosed],
            ..ServiceFilter::default()
        };
        loop {
            let page = self.store.list_services(&filter, after, 500).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.id);
            for s in page {
                let due = s
                    .content
                    .temporary_closure
                    .as_ref()
                    .and_then(|c| c.reopens_on)
                    .is_some_and(|d| d <= today);
                if !due {
                    continue;
                }
                let result = self
                    .edit_service(s.id, None, &system, "reopen", move |current| {
                        let mut c = current.content.clone();
                        if c.status == ServiceStatus::TemporarilyClosed {
                            c.status = ServiceStatus::Active;
                            c.temporary_closure = None;
                        }
                        Ok(c)
                    })
                    .await;
                match result {
                    Ok(_) => reopened += 1,
                    Err(e) => tracing::warn!(service = %s.id, error = %e, "could not reopen"),
                }
            }
        }
        Ok(reopened)
    }
}

/// What an administrator gives to issue an API key.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// A label for the key, e.g. who will hold it; one line, at most 200 characters.
    pub name: Name,
    /// What the key may do; `partner` needs `organization_id`.
    pub role: Role,
    /// An existing organisation, for a partner key only.
    #[serde(default)]
    pub organization_id: Option<Uuid>,
    /// Days until the key stops working.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// Creates a key; returns it with its secret, which is shown this once only.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn issue_key(store: &Store, input: KeyInput) -> Result<(ApiKey, String), DirectoryError> {
    match (input.role, input.organization_id) {
        (Role::Partner, None) => {
            return Err(DirectoryError::field(
                "organization_id",
                "a partner key belongs to one organisation: give its id",
            ));
        }
        (Role::Partner, Some(org)) => {
            if store.get_organization(org).await?.is_none() {
                return Err(DirectoryError::field(
                    "organization_id",
                    format!("there is no organisation {org}"),
                ));
            }
        }
        (_, Some(_)) => {
            return Err(DirectoryError::field(
                "organization_id",
                "only partner keys belong to an organisation",
            ));
        }
        (_, None) => {}
    }
    if let Some(days) = input.expires_in_days
        && !(1..=MAX_KEY_DAYS).contains(&days)
    {
        return Err(DirectoryError::field(
            "expires_in_days",
            format!("from 1 to {MAX_KEY_DAYS} days (ten years); got {days}"),
        ));
    }
    let (id, secret) = generate_key();
    let created_at = now();
    let key = ApiKey {
        id,
        name: input.name.as_str().to_string(),
        role: input.role,
        organization_id: input.organization_id,
        created_at,
        expires_at: input
            .expires_in_days
            .map(|d| created_at + chrono::Duration::days(i64::from(d))),
        revoked_at: None,
    };
    store.insert_key(&key, &hash_key(&secret)).await?;
    Ok((key, secret))
}

/// What an administrator sends to add a lexicon entry.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LexiconInput {
    /// A taxonomy category id, or `risk`.
    pub need: String,
    /// A line in the lexicon's format (see `src/understand/lexicon/README.md`).
    #[schema(max_length = 300)]
    pub phrase: String,
    /// How sure the phrase alone is of the need; 1 when not given.
    #[serde(default = "full_confidence")]
    #[schema(exclusive_minimum = 0, maximum = 1)]
    pub confidence: f32,
}

fn full_confidence() -> f32 {
    1.0
}

/// Checks a lexicon entry and stores it with its audit row; a running server picks it
/// up within a second (see [`Directory::add_lexicon_entry`] for one that is running here).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn store_lexicon_entry(
    store: &Store,
    input: LexiconInput,
    by: &Principal,
) -> Result<StoredEntry, DirectoryError> {
    let entry = NewEntry {
        need: input.need.trim().to_string(),
        phrase: input.phrase.trim().to_string(),
        confidence: input.confidence,
    };
    check_entry(&entry).map_err(|e| match e {
        LexiconError::UnknownNeed(_) => DirectoryError::field("need", e.to_string()),
        LexiconError::BadConfidence => DirectoryError::field("confidence", e.to_string()),
        LexiconError::BadPhrase(_) => DirectoryError::field("phrase", e.to_string()),
    })?;
    let audit = Audit {
        actor: by.clone(),
        action: "create",
        changes: diff(&serde_json::Value::Null, &serde_json::json!(entry)),
    };
    Ok(store.add_lexicon_entry(&entry, &audit, now()).await?)
}

impl Directory {
    /// Adds a lexicon entry: checked, stored with its audit row, and in effect for the
    /// next search on this replica (on others within their next poll, a second).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_lexicon_entry(
        &self,
        input: LexiconInput,
        by: &Principal,
    ) -> Result<StoredEntry, DirectoryError> {
        let stored = store_lexicon_entry(&self.store, input, by).await?;
        let entries = self.store.lexicon_entries().await?;
        // Building the lexicon takes about half a second of CPU: not on an HTTP worker.
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || index.set_lexicon_entries(&entries))
            .await
            .map_err(|e| DirectoryError::Unexpected(anyhow::anyhow!(e)))?
            .map_err(|e| DirectoryError::Unexpected(anyhow::anyhow!(e)))?;
        Ok(stored)
    }

    /// The lexicon entries administrators added, oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lexicon_entries(&self) -> Result<Vec<StoredEntry>, DirectoryError> {
        Ok(self.store.stored_lexicon_entries().await?)
    }

    /// Questions that found nothing or only partial matches on the last `days` days,
    /// each counted at least the configured minimum of times (never fewer).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn search_gaps(&self, days: u32) -> Result<Vec<Gap>, DirectoryError> {
        self.index.flush_gaps(&self.store).await?;
        let since = now().date_naive() - chrono::Duration::days(i64::from(days) - 1);
        let min = i64::from(self.index.settings().gap_min_count);
        Ok(self.store.search_gaps(since, min, 500).await?)
    }
}
