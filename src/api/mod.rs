//! The HTTP API: routes, extractors, handlers and the one error body.

pub mod extract;
pub mod feed;
pub mod geo;
pub mod keys;
pub mod limits;
pub mod links;
pub mod middleware;
pub mod organizations;
pub mod partners;
pub mod problem;
pub mod reminders;
pub mod review;
pub mod search;
pub mod services;
pub mod sources;
mod state;
pub mod understanding;

pub use search::search_request;
pub use state::{AppState, ReminderJobSettings};

use crate::domain::taxonomy;
use actix_web::middleware::ErrorHandlers;
use actix_web::{HttpResponse, web};
use extract::{Admin, Reader};
use problem::ApiError;
use serde_json::json;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
pub(crate) const MAX_SEARCH_LIMIT: i64 = 100;
pub(crate) const MAX_SEARCH_OFFSET: i64 = 1000;

/// A route: method (lower case, as OpenAPI writes it), full path, and its handler as a
/// route without a method.
type Endpoint = (&'static str, &'static str, fn() -> actix_web::Route);

/// Every route, once: the server registers exactly these, a resource answers 405 with an
/// `Allow` header from them, and `openapi.yaml` must describe exactly these (a test checks
/// both the document and the live server against [`route_list`]).
const ENDPOINTS: &[Endpoint] = &[
    ("get", "/health", || web::route().to(health)),
    ("get", "/ready", || web::route().to(ready)),
    ("get", "/metrics", || web::route().to(metrics)),
    ("get", "/openapi.json", || web::route().to(openapi)),
    ("get", "/v1/taxonomy", || web::route().to(taxonomy_list)),
    ("get", "/v1/search", || web::route().to(search::search)),
    ("post", "/v1/search", || {
        web::route().to(search::search_posted)
    }),
    ("get", "/v1/gp-practices", || {
        web::route().to(geo::find_practices)
    }),
    ("post", "/v1/gp-practices", || {
        web::route().to(geo::find_practices_posted)
    }),
    ("post", "/v1/admin/reindex", || web::route().to(reindex)),
    ("get", "/v1/services", || {
        web::route().to(services::list_services)
    }),
    ("post", "/v1/services", || {
        web::route().to(services::create_service)
    }),
    ("get", "/v1/services/{id}", || {
        web::route().to(services::get_service)
    }),
    ("put", "/v1/services/{id}", || {
        web::route().to(services::replace_service)
    }),
    ("patch", "/v1/services/{id}", || {
        web::route().to(services::patch_service)
    }),
    ("delete", "/v1/services/{id}", || {
        web::route().to(services::retire_service)
    }),
    ("get", "/v1/services/{id}/eligibility", || {
        web::route().to(geo::service_eligibility)
    }),
    ("post", "/v1/services/{id}/eligibility", || {
        web::route().to(geo::service_eligibility_posted)
    }),
    ("put", "/v1/services/{id}/capacity", || {
        web::route().to(partners::put_capacity)
    }),
    ("put", "/v1/services/{id}/status", || {
        web::route().to(partners::put_status)
    }),
    ("post", "/v1/services/{id}/verify", || {
        web::route().to(partners::verify)
    }),
    ("get", "/v1/services/{id}/history", || {
        web::route().to(partners::history)
    }),
    ("post", "/v1/services/{id}/reports", || {
        web::route().to(partners::create_report)
    }),
    ("get", "/v1/services/{id}/link-checks", || {
        web::route().to(links::service_link_checks)
    }),
    ("get", "/v1/admin/link-checks", || {
        web::route().to(links::summary)
    }),
    ("get", "/v1/review-queue", || {
        web::route().to(review::review_queue)
    }),
    ("post", "/v1/review-queue/{item}/resolve", || {
        web::route().to(review::resolve_item)
    }),
    ("get", "/v1/admin/keys", || web::route().to(keys::list_keys)),
    ("post", "/v1/admin/keys", || {
        web::route().to(keys::create_key)
    }),
    ("delete", "/v1/admin/keys/{id}", || {
        web::route().to(keys::revoke_key)
    }),
    ("get", "/v1/admin/reminders", || {
        web::route().to(reminders::list_reminders)
    }),
    ("post", "/v1/admin/reminders/run", || {
        web::route().to(reminders::run_reminders)
    }),
    ("get", "/v1/organizations/{id}/update-contacts", || {
        web::route().to(reminders::get_contacts)
    }),
    ("put", "/v1/organizations/{id}/update-contacts", || {
        web::route().to(reminders::put_contacts)
    }),
    ("get", "/v1/admin/sources", || {
        web::route().to(sources::list_sources)
    }),
    ("post", "/v1/admin/sources", || {
        web::route().to(sources::add_source)
    }),
    ("post", "/v1/admin/sources/{id}/pull", || {
        web::route().to(sources::pull_source)
    }),
    ("get", "/v1/admin/search-gaps", || {
        web::route().to(understanding::search_gaps)
    }),
    ("get", "/v1/admin/lexicon", || {
        web::route().to(understanding::list_lexicon)
    }),
    ("post", "/v1/admin/lexicon", || {
        web::route().to(understanding::add_lexicon)
    }),
    ("get", "/v1/organizations", || {
        web::route().to(organizations::list_organizations)
    }),
    ("post", "/v1/organizations", || {
        web::route().to(organizations::create_organization)
    }),
    ("get", "/v1/organizations/{id}", || {
        web::route().to(organizations::get_organization)
    }),
    ("put", "/v1/organizations/{id}", || {
        web::route().to(organizations::replace_organization)
    }),
    ("patch", "/v1/organizations/{id}", || {
        web::route().to(organizations::patch_organization)
    }),
    ("delete", "/v1/organizations/{id}", || {
        web::route().to(organizations::retire_organization)
    }),
];

/// Every route, as (method, path).
pub fn route_list() -> impl Iterator<Item = (&'static str, &'static str)> {
    ENDPOINTS.iter().map(|(method, path, _)| (*method, *path))
}

/// Runs a long administrative job to its end even if the caller hangs up, and
/// answers 409 when another replica or request holds its lease (`None`).
async fn run_to_end<T, F>(what: &str, busy: &str, job: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<Option<T>, crate::directory::DirectoryError>>
        + Send
        + 'static,
{
    use crate::directory::DirectoryError;
    tokio::spawn(job)
        .await
        .map_err(|e| DirectoryError::Unexpected(anyhow::anyhow!("{what} stopped: {e}")))??
        .ok_or_else(|| DirectoryError::Busy(busy.into()).into())
}

/// A lease holder's name for a job started by a request.
fn request_holder() -> String {
    format!("api-{}-{}", std::process::id(), uuid::Uuid::now_v7())
}

/// Registers every route: `/v1`, health, readiness, metrics and the API description.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY_BYTES));
    let mut paths: Vec<&str> = Vec::new();
    for (_, path, _) in ENDPOINTS {
        if !paths.contains(path) {
            paths.push(path);
        }
    }
    for path in paths {
        let resource = ENDPOINTS.iter().filter(|(_, p, _)| *p == path).fold(
            resource(path),
            |resource, (method, _, handler)| {
                let method = actix_web::http::Method::from_bytes(method.to_uppercase().as_bytes())
                    .expect("a method of ENDPOINTS");
                resource.route(handler().method(method))
            },
        );
        cfg.service(resource);
    }
}

/// A resource that answers 405 to methods it does not serve (not the app's 404), with
/// an `Allow` header naming those it does.
fn resource(path: &'static str) -> actix_web::Resource {
    let allow = route_list()
        .filter(|(_, p)| *p == path)
        .map(|(m, _)| m.to_uppercase())
        .collect::<Vec<_>>()
        .join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            HttpResponse::MethodNotAllowed()
                .insert_header((actix_web::http::header::ALLOW, allow))
                .finish()
        }
    }))
}

/// Turns framework errors (unknown route, wrong method, oversized body) into problems.
pub fn error_handlers<B: actix_web::body::MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(problem::problem_for_framework_errors)
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// This API's description (`openapi.yaml`, built in), as JSON, read once.
static OPENAPI: std::sync::LazyLock<Result<serde_json::Value, String>> =
    std::sync::LazyLock::new(|| {
        serde_yaml_ng::from_str(include_str!("../../openapi.yaml")).map_err(|e| e.to_string())
    });

async fn openapi() -> Result<HttpResponse, ApiError> {
    let doc = OPENAPI
        .as_ref()
        .map_err(|e| anyhow::anyhow!("the built-in openapi.yaml does not read: {e}"))?;
    Ok(HttpResponse::Ok().json(doc))
}

async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .directory
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the database does not answer: {e}")))?;
    Ok(HttpResponse::Ok().json(json!({
        "status": "ready",
        "database": state.directory.backend_name(),
        "index": state.directory.index_state().await?,
    })))
}

/// `GET /metrics`: Prometheus text: requests and latency per route, method and status;
/// the index's documents and applied change; process memory.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    if let Ok(index) = state.directory.index_state().await {
        ::metrics::gauge!("signpost_index_documents").set(index.documents as f64);
        ::metrics::gauge!("signpost_index_applied_sequence").set(index.applied_seq as f64);
        ::metrics::gauge!("signpost_index_lag_changes").set(index.lag_changes as f64);
        ::metrics::gauge!("signpost_index_lag_seconds").set(index.lag_seconds);
    }
    ::metrics::gauge!("signpost_process_peak_memory_bytes")
        .set(crate::telemetry::peak_rss_mib("self") * 1024.0 * 1024.0);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::telemetry::metrics().render())
}

/// Open routes take `Reader` too: no key is fine, a bad one is refused (401) rather than
/// silently ignored, so a client with a broken key finds out.
async fn taxonomy_list(_: Reader) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "items": taxonomy::CATEGORIES }))
}

async fn reindex(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let report = state.directory.rebuild_index().await?;
    Ok(HttpResponse::Ok().json(report))
}
