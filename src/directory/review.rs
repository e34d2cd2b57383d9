//! The review queue: what needs a person (navigators' reports, entries not confirmed or
//! with stale capacity, link flags), and resolving it.

use super::{Directory, DirectoryError, now};
use crate::domain::ServiceStatus;
use crate::domain::access::{Principal, Role, hash_key};
use crate::storage::ServiceFilter;
use serde::Serialize;
use uuid::Uuid;

/// One thing that needs a person.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewItem {
    /// Pass to `POST /v1/review-queue/{id}/resolve`.
    pub id: String,
    /// report, not_verified, capacity_stale, link_flag, source_vanished,
    /// possible_duplicate or reminders_unanswered.
    pub kind: &'static str,
    /// The service it is about (for `reminders_unanswered`, the first one asked about).
    pub service_id: Uuid,
    /// That service's name.
    pub service_name: String,
    /// The organisation that runs the service.
    pub organization_id: Uuid,
    /// What needs doing, in words.
    pub detail: String,
    /// When it began: a day (`YYYY-MM-DD`) or an RFC 3339 time; null for never.
    pub since: Option<String>,
    /// For a report: its kind alone (what a reminder may repeat; never who reported).
    #[serde(skip)]
    pub report_kind: Option<String>,
}

impl Directory {
    /// The review queue: open reports, entries not verified or with capacity not updated
    /// for longer than the configured times, link flags. Partners see their own
    /// organisation's part; navigators none.
    #[tracing::instrument(name = "directory.review_queue", skip_all)]
    pub async fn review_queue(&self, who: &Principal) -> Result<Vec<ReviewItem>, DirectoryError> {
        if who.role == Role::Navigator {
            return Err(DirectoryError::Forbidden(
                "the review queue is for administrators and partners".into(),
            ));
        }
        self.queue_items(who).await
    }

    pub(super) async fn queue_items(
        &self,
        who: &Principal,
    ) -> Result<Vec<ReviewItem>, DirectoryError> {
        let store = &self.store;
        let settings = self.index.settings();
        let at = now();
        let resolved = store.resolved_items().await?;
        let mine = |org: Uuid| who.role == Role::Admin || who.may_edit(org);
        let mut items = Vec::new();
        for report in store.open_reports().await? {
            let Some(s) = store.get_service(report.service_id).await? else {
                continue;
            };
            if !mine(s.organization.id) {
                continue;
            }
            items.push(ReviewItem {
                id: format!("report:{}", report.id),
                kind: "report",
                service_id: s.id,
                service_name: s.content.name.as_str().to_string(),
                organization_id: s.organization.id,
                detail: match &report.text {
                    Some(t) => format!("{} ({}): {t}", report.kind, report.reporter),
                    None => format!("{} ({})", report.kind, report.reporter),
                },
                since: Some(report.created_at),
                report_kind: Some(report.kind.clone()),
            });
        }
        let filter = ServiceFilter {
            statuses: vec![ServiceStatus::Active, ServiceStatus::TemporarilyClosed],
            organization_id: match who.role {
                Role::Admin => None,
                _ => who.organization_id,
            },
            ..ServiceFilter::default()
        };
        let mut after = None;
        loop {
            let page = store.list_services(&filter, after, 1000).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.id);
            let page_urls: Vec<String> = page
                .iter()
                .flat_map(|s| crate::links::service_urls(s).into_iter().map(|(_, u)| u))
                .collect();
            let flags = store.link_flags(&page_urls).await?;
            for s in page {
                let c = &s.content;
                // An item is named by what it is about, so resolving it lasts until that
                // changes: a new verification or capacity update starts afresh.
                let assured = c
                    .assured_date
                    .map_or("never".to_string(), |d| d.to_string());
                let verify_due = c
                    .assured_date
                    .is_none_or(|d| at.date_naive() - d > settings.verify_stale_after);
                let capacity_at = c.capacity.as_ref().and_then(|cap| cap.updated_at);
                let capacity_due =
                    capacity_at.is_none_or(|t| at - t > settings.capacity_stale_after);
                let mut push = |kind: &'static str, marker: String, detail: String, since| {
                    let id = format!("{kind}:{}:{marker}", s.id);
                    if !resolved.contains(&id) {
                        items.push(ReviewItem {
                            id,
                            kind,
                            service_id: s.id,
                            service_name: c.name.as_str().to_string(),
                            organization_id: s.organization.id,
                            detail,
                            since,
                            report_kind: None,
                        });
                    }
                };
                if let Some(p) = &s.source
                    && let Some(gone) = p.vanished_at
                {
                    let when = crate::storage::ts(&gone);
                    push(
                        "source_vanished",
                        when.clone(),
                        format!(
                            "no longer listed by the source '{}' (its id there: {}) since {when}: find out whether it has closed, then retire it or resolve this",
                            p.name, p.record_id
                        ),
                        Some(when.clone()),
                    );
                }
                if verify_due {
                    push(
                        "not_verified",
                        assured.clone(),
                        match c.assured_date {
                            Some(d) => format!("not confirmed as accurate since {d}"),
                            None => "never confirmed as accurate".to_string(),
                        },
                        c.assured_date.map(|d| d.to_string()),
                    );
                }
                for (kind, url) in crate::links::service_urls(&s) {
                    let Some(state) = flags.get(&url) else {
                        continue;
                    };
                    let Some(flag) = state.flag else { continue };
                    // The URL goes into the item id as a digest: ids travel in paths.
                    let digest = &hash_key(&url)[..12];
                    push(
                        "link_flag",
                        format!("{}-{digest}", flag.as_str()),
                        format!(
                            "{} {kind} link {url}: {}",
                            flag.as_str(),
                            state.evidence.as_deref().unwrap_or("")
                        ),
                        state.last_hard_day.map(|d| d.to_string()),
                    );
                }
                if capacity_due {
                    let when = capacity_at.map(|t| crate::storage::ts(&t));
                    push(
                        "capacity_stale",
                        when.clone().unwrap_or_else(|| "never".into()),
                        format!(
                            "capacity not updated since {}",
                            when.as_deref().unwrap_or("never")
                        ),
                        when,
                    );
                }
            }
        }
        self.duplicate_items(who, &resolved, &mut items).await?;
        if who.role == Role::Admin {
            for r in self.store.escalated_reminders().await? {
                let id = format!("reminders_unanswered:{}", r.id);
                let Some(first) = r.services.first() else {
                    continue;
                };
                if resolved.contains(&id) {
                    continue;
                }
                items.push(ReviewItem {
                    id,
                    kind: "reminders_unanswered",
                    service_id: first.service_id,
                    service_name: first.name.clone(),
                    organization_id: r.organization_id,
                    detail: format!(
                        "reminders to {} have gone unanswered (the latest on {}) about: {}; contact the organisation another way",
                        r.recipients.join(", "),
                        r.created_at.format("%-d %B %Y"),
                        r.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                    since: Some(crate::storage::ts(&r.created_at)),
                    report_kind: None,
                });
            }
        }
        Ok(items)
    }

    /// Likely duplicates raised by pulls, unresolved, that this caller may see.
    async fn duplicate_items(
        &self,
        who: &Principal,
        resolved: &std::collections::HashSet<String>,
        items: &mut Vec<ReviewItem>,
    ) -> Result<(), DirectoryError> {
        for (a, b, why, found) in self.store.possible_duplicates().await? {
            let id = format!("possible_duplicate:{a}:{b}");
            if resolved.contains(&id) {
                continue;
            }
            let mut both = self.store.get_services(&[a, b]).await?;
            both.sort_by_key(|s| s.id != a);
            let [first, other] = &both[..] else { continue };
            let mine = |s: &crate::domain::Service| {
                who.role == Role::Admin || who.may_edit(s.organization.id)
            };
            if !mine(first) && !mine(other) {
                continue;
            }
            let origin = |s: &crate::domain::Service| match &s.source {
                Some(p) => format!("from the source '{}'", p.name),
                None => "kept here".to_string(),
            };
            items.push(ReviewItem {
                id,
                kind: "possible_duplicate",
                service_id: first.id,
                service_name: first.content.name.as_str().to_string(),
                organization_id: first.organization.id,
                detail: format!(
                    "'{}' ({}) may be the same service as '{}' ({}, {}): {why}; if so, retire one",
                    first.content.name.as_str(),
                    origin(first),
                    other.content.name.as_str(),
                    other.id,
                    origin(other),
                ),
                since: Some(found),
                report_kind: None,
            });
        }
        Ok(())
    }
}

impl Directory {
    /// Marks an open item dealt with, with a note saying how.
    #[tracing::instrument(name = "directory.resolve", skip_all, fields(item = %item))]
    pub async fn resolve(
        &self,
        item: &str,
        note: &str,
        who: &Principal,
    ) -> Result<(), DirectoryError> {
        let open = self.review_queue(who).await?;
        let Some(found) = open.iter().find(|i| i.id == item) else {
            return Err(DirectoryError::NotFound(format!(
                "there is no open review item '{item}' for this key"
            )));
        };
        let at = now();
        let done = match found.kind {
            "report" => {
                let id = Uuid::parse_str(item.trim_start_matches("report:"))
                    .map_err(anyhow::Error::from)?;
                self.store.resolve_report(id, &who.key_id, note, at).await?
            }
            _ => {
                self.store
                    .resolve_item(item, found.service_id, &who.key_id, note, at)
                    .await?
            }
        };
        if !done {
            return Err(DirectoryError::Busy(format!(
                "'{item}' was resolved meanwhile"
            )));
        }
        Ok(())
    }
}

/// Services a partner keeps, each with what needs their attention.
#[derive(Debug)]
pub struct Attention {
    /// The service as stored, staff-only fields included.
    pub service: crate::domain::Service,
    /// What search shows a navigator about it (closed, capacity unknown, link broken…).
    pub warnings: Vec<crate::search::Warning>,
    /// Open review items about it.
    pub items: Vec<ReviewItem>,
}

/// Services shown at once on a partner's list.
pub const ATTENTION_LIMIT: u32 = 500;

impl Directory {
    /// The services this key keeps (a partner: its organisation's; an administrator:
    /// all, up to `ATTENTION_LIMIT`), those needing most attention first.
    #[tracing::instrument(name = "directory.attention", skip_all)]
    pub async fn attention(&self, who: &Principal) -> Result<Vec<Attention>, DirectoryError> {
        let filter = ServiceFilter {
            statuses: vec![
                ServiceStatus::Active,
                ServiceStatus::TemporarilyClosed,
                ServiceStatus::Inactive,
            ],
            organization_id: match who.role {
                Role::Admin => None,
                Role::Partner => who.organization_id,
                Role::Navigator => {
                    return Err(DirectoryError::Forbidden(
                        "navigator keys can read and report, not keep entries".into(),
                    ));
                }
            },
            ..ServiceFilter::default()
        };
        let services = self
            .store
            .list_services(&filter, None, ATTENTION_LIMIT)
            .await?;
        let mut items = self.queue_items(who).await?;
        let mut out = Vec::with_capacity(services.len());
        for service in services {
            let mine: Vec<ReviewItem> = items
                .extract_if(.., |i| i.service_id == service.id)
                .collect();
            out.push(Attention {
                warnings: self.index.warnings_for(service.id)?.unwrap_or_default(),
                items: mine,
                service,
            });
        }
        out.sort_by_key(|a| {
            (
                std::cmp::Reverse(a.items.len() + a.warnings.len()),
                a.service.content.name.as_str().to_lowercase(),
            )
        });
        Ok(out)
    }
}

impl Directory {
    /// One service this key keeps, with what needs attention.
    #[tracing::instrument(level = "debug", skip_all, fields(%id))]
    pub async fn attention_for(
        &self,
        who: &Principal,
        id: Uuid,
    ) -> Result<Attention, DirectoryError> {
        let service = self.service(id).await?;
        if !who.may_edit(service.organization.id) {
            return Err(DirectoryError::Forbidden(
                "this key may only keep its own organisation's services".into(),
            ));
        }
        let items = self
            .queue_items(who)
            .await?
            .into_iter()
            .filter(|i| i.service_id == id)
            .collect();
        Ok(Attention {
            warnings: self.index.warnings_for(id)?.unwrap_or_default(),
            items,
            service,
        })
    }
}
