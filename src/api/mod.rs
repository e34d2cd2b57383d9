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

/// Every route, as (method, path); `openapi.yaml` must describe exactly these (a test
/// checks both the document and the live server against this list).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/v1/taxonomy"),
    ("get", "/v1/search"),
    ("post", "/v1/search"),
    ("get", "/v1/gp-practices"),
    ("post", "/v1/gp-practices"),
    ("post", "/v1/admin/reindex"),
    ("get", "/v1/services"),
    ("post", "/v1/services"),
    ("get", "/v1/services/{id}"),
    ("put", "/v1/services/{id}"),
    ("patch", "/v1/services/{id}"),
    ("delete", "/v1/services/{id}"),
    ("get", "/v1/services/{id}/eligibility"),
    ("post", "/v1/services/{id}/eligibility"),
    ("put", "/v1/services/{id}/capacity"),
    ("put", "/v1/services/{id}/status"),
    ("post", "/v1/services/{id}/verify"),
    ("get", "/v1/services/{id}/history"),
    ("post", "/v1/services/{id}/reports"),
    ("get", "/v1/services/{id}/link-checks"),
    ("get", "/v1/admin/link-checks"),
    ("get", "/v1/review-queue"),
    ("post", "/v1/review-queue/{item}/resolve"),
    ("get", "/v1/admin/keys"),
    ("post", "/v1/admin/keys"),
    ("delete", "/v1/admin/keys/{id}"),
    ("get", "/v1/admin/reminders"),
    ("post", "/v1/admin/reminders/run"),
    ("get", "/v1/organizations/{id}/update-contacts"),
    ("put", "/v1/organizations/{id}/update-contacts"),
    ("get", "/v1/admin/sources"),
    ("post", "/v1/admin/sources"),
    ("post", "/v1/admin/sources/{id}/pull"),
    ("get", "/v1/admin/search-gaps"),
    ("get", "/v1/admin/lexicon"),
    ("post", "/v1/admin/lexicon"),
    ("get", "/v1/organizations"),
    ("post", "/v1/organizations"),
    ("get", "/v1/organizations/{id}"),
    ("put", "/v1/organizations/{id}"),
    ("patch", "/v1/organizations/{id}"),
    ("delete", "/v1/organizations/{id}"),
];

/// Registers every route.
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

/// Registers every `/v1` route, health, readiness and metrics.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .service(resource("/health").route(web::get().to(health)))
        .service(resource("/ready").route(web::get().to(ready)))
        .service(resource("/metrics").route(web::get().to(metrics)))
        .service(resource("/openapi.json").route(web::get().to(openapi)))
        .service(
            web::scope("/v1")
                .service(resource("/taxonomy").route(web::get().to(taxonomy_list)))
                .service(
                    resource("/search")
                        .route(web::get().to(search::search))
                        .route(web::post().to(search::search_posted)),
                )
                .service(
                    resource("/gp-practices")
                        .route(web::get().to(geo::find_practices))
                        .route(web::post().to(geo::find_practices_posted)),
                )
                .service(resource("/admin/reindex").route(web::post().to(reindex)))
                .service(
                    resource("/services")
                        .route(web::get().to(services::list_services))
                        .route(web::post().to(services::create_service)),
                )
                .service(
                    resource("/services/{id}")
                        .route(web::get().to(services::get_service))
                        .route(web::put().to(services::replace_service))
                        .route(web::patch().to(services::patch_service))
                        .route(web::delete().to(services::retire_service)),
                )
                .service(
                    resource("/services/{id}/eligibility")
                        .route(web::get().to(geo::service_eligibility))
                        .route(web::post().to(geo::service_eligibility_posted)),
                )
                .service(
                    resource("/services/{id}/capacity")
                        .route(web::put().to(partners::put_capacity)),
                )
                .service(
                    resource("/services/{id}/status").route(web::put().to(partners::put_status)),
                )
                .service(resource("/services/{id}/verify").route(web::post().to(partners::verify)))
                .service(resource("/services/{id}/history").route(web::get().to(partners::history)))
                .service(
                    resource("/services/{id}/reports")
                        .route(web::post().to(partners::create_report)),
                )
                .service(
                    resource("/services/{id}/link-checks")
                        .route(web::get().to(links::service_link_checks)),
                )
                .service(resource("/admin/link-checks").route(web::get().to(links::summary)))
                .service(resource("/review-queue").route(web::get().to(review::review_queue)))
                .service(
                    resource("/review-queue/{item}/resolve")
                        .route(web::post().to(review::resolve_item)),
                )
                .service(
                    resource("/admin/keys")
                        .route(web::get().to(keys::list_keys))
                        .route(web::post().to(keys::create_key)),
                )
                .service(resource("/admin/keys/{id}").route(web::delete().to(keys::revoke_key)))
                .service(
                    resource("/admin/reminders").route(web::get().to(reminders::list_reminders)),
                )
                .service(
                    resource("/admin/reminders/run")
                        .route(web::post().to(reminders::run_reminders)),
                )
                .service(
                    resource("/organizations/{id}/update-contacts")
                        .route(web::get().to(reminders::get_contacts))
                        .route(web::put().to(reminders::put_contacts)),
                )
                .service(
                    resource("/admin/sources")
                        .route(web::get().to(sources::list_sources))
                        .route(web::post().to(sources::add_source)),
                )
                .service(
                    resource("/admin/sources/{id}/pull")
                        .route(web::post().to(sources::pull_source)),
                )
                .service(
                    resource("/admin/search-gaps").route(web::get().to(understanding::search_gaps)),
                )
                .service(
                    resource("/admin/lexicon")
                        .route(web::get().to(understanding::list_lexicon))
                        .route(web::post().to(understanding::add_lexicon)),
                )
                .service(
                    resource("/organizations")
                        .route(web::get().to(organizations::list_organizations))
                        .route(web::post().to(organizations::create_organization)),
                )
                .service(
                    resource("/organizations/{id}")
                        .route(web::get().to(organizations::get_organization))
                        .route(web::put().to(organizations::replace_organization))
                        .route(web::patch().to(organizations::patch_organization))
                        .route(web::delete().to(organizations::retire_organization)),
                ),
        );
}

/// A resource that answers 405 to methods it does not serve (not the app's 404), with
/// an `Allow` header naming those it does (from `ROUTES`).
fn resource(path: &str) -> actix_web::Resource {
    // Paths outside the /v1 scope are listed as they are; those inside without it.
    let full = if ROUTES.iter().any(|(_, p)| *p == path) {
        path.to_string()
    } else {
        format!("/v1{path}")
    };
    let allow = ROUTES
        .iter()
        .filter(|(_, p)| *p == full)
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
