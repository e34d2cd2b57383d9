//! Keeping entries current: quick capacity/status/verify updates, history, navigators'
//! reports, the review queue, and API keys.

use super::extract::{Admin, Editor, Params, Staff, etag, if_match, parse_id, require_json};
use super::problem::ApiError;
use super::services::find_service_for;
use crate::directory::now;
use crate::directory::{KeyInput, issue_key};
use crate::domain::access::{Principal, Role, hash_key};
use crate::domain::fields::Text;
use crate::domain::{Capacity, Service, ServiceStatus, TemporaryClosure, parse_body};
use crate::startup::AppState;
use crate::storage::ServiceFilter;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// Applies a quick update to the service named in the path (honouring `If-Match`) and
/// answers with the service and its new ETag.
async fn quick_edit<F>(
    state: &AppState,
    req: &HttpRequest,
    path: &str,
    actor: &Principal,
    action: &'static str,
    edit: F,
) -> Result<HttpResponse, ApiError>
where
    F: Fn(&Service) -> crate::domain::ServiceContent,
{
    let id = parse_id(path)?;
    let expected = if_match(req)?;
    let service = state
        .directory
        .edit_service(id, expected, actor, action, |s| Ok(edit(s)))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(service.meta.version))
        .json(service))
}

/// `PUT /v1/services/{id}/capacity`: taking referrals, waiting time, places. Nothing else
/// changes; the time is stamped by the server.
pub async fn put_capacity(
    Editor(actor): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let mut capacity: Capacity = parse_body(&body)?;
    // Always the server's time: a partner saying it again today makes it fresh.
    capacity.updated_at = Some(now());
    quick_edit(&state, &req, &path, &actor, "capacity", |s| {
        let mut c = s.content.clone();
        c.capacity = Some(capacity.clone());
        c
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusInput {
    status: ServiceStatus,
    #[serde(default)]
    reason: Option<Text>,
    #[serde(default)]
    reopens_on: Option<NaiveDate>,
}

/// `PUT /v1/services/{id}/status`: e.g. temporarily closed until a date, with a reason.
pub async fn put_status(
    Editor(actor): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let input: StatusInput = parse_body(&body)?;
    let closure = match (input.status, input.reason) {
        (ServiceStatus::TemporarilyClosed, Some(reason)) => Some(TemporaryClosure {
            reason,
            reopens_on: input.reopens_on,
        }),
        (ServiceStatus::TemporarilyClosed, None) => {
            return Err(ApiError::field(
                "reason",
                "say why the service is closed, e.g. \"staff shortage\"; add reopens_on if known",
            ));
        }
        (_, _) if input.reopens_on.is_some() => {
            return Err(ApiError::field(
                "reopens_on",
                "only a temporarily_closed service has a reopening date",
            ));
        }
        _ => None,
    };
    if let Some(date) = closure.as_ref().and_then(|c| c.reopens_on)
        && date <= now().date_naive()
    {
        return Err(ApiError::field(
            "reopens_on",
            format!("{date} is not in the future; to reopen now, set status to active"),
        ));
    }
    quick_edit(&state, &req, &path, &actor, "status", |s| {
        let mut c = s.content.clone();
        c.status = input.status;
        c.temporary_closure = closure.clone();
        c
    })
    .await
}

/// `POST /v1/services/{id}/verify`: "still accurate" — sets `assured_date` to today.
pub async fn verify(
    Editor(actor): Editor,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let today = now().date_naive();
    quick_edit(&state, &req, &path, &actor, "verify", |s| {
        let mut c = s.content.clone();
        c.assured_date = Some(today);
        c
    })
    .await
}

/// `GET /v1/services/{id}/history`: every change with who made it and what it changed.
pub async fn history(
    Staff(who): Staff,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    find_service_for(&state.directory.store, &who, id).await?;
    let entries = state.directory.store.history("service", id).await?;
    Ok(HttpResponse::Ok().json(json!({ "service_id": id, "history": entries })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportInput {
    kind: String,
    #[serde(default)]
    text: Option<Text>,
}

/// `POST /v1/services/{id}/reports`: a problem seen on a call, for the administrators.
pub async fn create_report(
    Staff(who): Staff,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    require_json(&req, &[])?;
    let input: ReportInput = parse_body(&body)?;
    let report = state
        .directory
        .report(
            id,
            &input.kind,
            input.text.map(|t| t.as_str().to_string()),
            &who,
        )
        .await?;
    Ok(HttpResponse::Created().json(report))
}

/// One thing that needs a person.
#[derive(Debug, Serialize)]
pub struct ReviewItem {
    /// Pass to `POST /v1/review-queue/{id}/resolve`.
    pub id: String,
    pub kind: &'static str,
    pub service_id: Uuid,
    pub service_name: String,
    pub organization_id: Uuid,
    pub detail: String,
    pub since: Option<String>,
}

/// The review queue: open reports, entries not verified or with capacity not updated
/// for longer than the configured times. Partners see their own organisation's part.
pub async fn review_queue(
    Staff(who): Staff,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if who.role == Role::Navigator {
        return Err(ApiError::Forbidden(
            "the review queue is for administrators and partners".into(),
        ));
    }
    let items = queue_items(&state, &who).await?;
    Ok(HttpResponse::Ok().json(json!({ "total": items.len(), "items": items })))
}

async fn queue_items(state: &AppState, who: &Principal) -> Result<Vec<ReviewItem>, ApiError> {
    let store = &state.directory.store;
    let settings = &state.search_settings;
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
            let capacity_due = capacity_at.is_none_or(|t| at - t > settings.capacity_stale_after);
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
                    });
                }
            };
            if verify_due {
                push(
                    "not_verified",
                    assured.clone(),
                    format!("not confirmed as accurate since {assured}"),
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
    Ok(items)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveInput {
    note: Text,
}

/// `POST /v1/review-queue/{item}/resolve`: dealt with, and how.
pub async fn resolve_item(
    Staff(who): Staff,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if who.role == Role::Navigator {
        return Err(ApiError::Forbidden(
            "the review queue is for administrators and partners".into(),
        ));
    }
    require_json(&req, &[])?;
    let input: ResolveInput = parse_body(&body)?;
    let item = path.into_inner();
    let open = queue_items(&state, &who).await?;
    let Some(found) = open.iter().find(|i| i.id == item) else {
        return Err(ApiError::NotFound(format!(
            "there is no open review item '{item}' for this key"
        )));
    };
    let store = &state.directory.store;
    let at = now();
    let note = input.note.as_str();
    let done = match found.kind {
        "report" => {
            let id =
                Uuid::parse_str(item.trim_start_matches("report:")).map_err(anyhow::Error::from)?;
            store.resolve_report(id, &who.key_id, note, at).await?
        }
        _ => {
            store
                .resolve_item(&item, found.service_id, &who.key_id, note, at)
                .await?
        }
    };
    if !done {
        return Err(ApiError::Conflict(format!(
            "'{item}' was resolved meanwhile"
        )));
    }
    Ok(HttpResponse::Ok().json(json!({"id": item, "resolved_by": who.key_id, "note": note})))
}

/// `POST /v1/admin/keys`.
pub async fn create_key(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let input: KeyInput = parse_body(&body)?;
    let (key, secret) = issue_key(&state.directory.store, input).await?;
    Ok(HttpResponse::Created().json(json!({
        "key": key,
        "secret": secret,
        "note": "the secret is shown only now: store it safely",
    })))
}

/// `GET /v1/admin/keys`: every key, without secrets.
pub async fn list_keys(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = state.directory.store.list_keys().await?;
    Ok(HttpResponse::Ok().json(json!({ "keys": keys })))
}

/// `DELETE /v1/admin/keys/{id}`: the key stops working at once.
pub async fn revoke_key(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[])?;
    let id = path.into_inner();
    if !state.directory.store.revoke_key(&id, now()).await? {
        return Err(ApiError::NotFound(format!("there is no key '{id}'")));
    }
    Ok(HttpResponse::NoContent().finish())
}
