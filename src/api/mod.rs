//! The HTTP API: a front door over the directory's use cases. Each handler reads the
//! request (parameters, body, key), calls one directory method and writes its answer;
//! the rules live below.
//!
//! What lives here (this layer may import `directory`, and the types of `domain`, `geo`,
//! `search` and `storage` that the directory's answers are made of; nothing below imports
//! `api`, and only `pages` and `startup` beside or above it do):
//! - this file: the route table ([`ENDPOINTS`]), health, readiness, metrics, taxonomy;
//! - one module per resource: `search`, `services`, `organizations`, `partners` (quick
//!   updates, history, reports), `review`, `keys`, `links`, `geo` (eligibility, practice
//!   lookup), `reminders`, `sources`, `understanding` (search gaps, lexicon), `feed` (the
//!   Open Referral UK feed);
//! - `doc`: the API description made from the handlers' `#[utoipa::path]` and their types;
//! - `extract` (query parameters, keys as extractors, ETags), `problem` (the one error
//!   body), `middleware` and `limits` (request ids and spans, metrics, rate limits),
//!   `state` (what every request shares).

pub mod doc;
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

/// A route: its handler, and the handler's description (`#[utoipa::path]`), which says
/// its method and path.
pub(crate) struct Endpoint {
    methods: fn() -> Vec<utoipa::openapi::HttpMethod>,
    path: fn() -> String,
    route: fn() -> actix_web::Route,
    describe: fn(utoipa::openapi::path::PathsBuilder) -> utoipa::openapi::path::PathsBuilder,
    schemas: fn(&mut doc::Schemas),
}

/// An [`Endpoint`] from a handler with a `#[utoipa::path]` attribute.
macro_rules! endpoint {
    ($module:ident :: $handler:ident) => {
        paste::paste! { endpoint!(@ $module::[<__path_ $handler>], $module::$handler) }
    };
    ($handler:ident) => {
        paste::paste! { endpoint!(@ [<__path_ $handler>], $handler) }
    };
    (@ $doc:path, $handler:path) => {
        Endpoint {
            methods: <$doc as utoipa::Path>::methods,
            path: <$doc as utoipa::Path>::path,
            route: || web::route().to($handler),
            describe: |paths| paths.path_from::<$doc>(),
            schemas: <$doc as utoipa::__dev::SchemaReferences>::schemas,
        }
    };
}

/// Every route, once: the server registers exactly these, a resource answers 405 with an
/// `Allow` header from them, and the API description is made of their descriptions.
const ENDPOINTS: &[Endpoint] = &[
    endpoint!(health),
    endpoint!(ready),
    endpoint!(metrics),
    endpoint!(openapi),
    endpoint!(taxonomy_list),
    endpoint!(search::search),
    endpoint!(search::search_posted),
    endpoint!(geo::find_practices),
    endpoint!(geo::find_practices_posted),
    endpoint!(reindex),
    endpoint!(services::list_services),
    endpoint!(services::create_service),
    endpoint!(services::get_service),
    endpoint!(services::replace_service),
    endpoint!(services::patch_service),
    endpoint!(services::retire_service),
    endpoint!(geo::service_eligibility),
    endpoint!(geo::service_eligibility_posted),
    endpoint!(partners::put_capacity),
    endpoint!(partners::put_status),
    endpoint!(partners::verify),
    endpoint!(partners::history),
    endpoint!(partners::create_report),
    endpoint!(links::service_link_checks),
    endpoint!(links::summary),
    endpoint!(review::review_queue),
    endpoint!(review::resolve_item),
    endpoint!(keys::list_keys),
    endpoint!(keys::create_key),
    endpoint!(keys::revoke_key),
    endpoint!(reminders::list_reminders),
    endpoint!(reminders::run_reminders),
    endpoint!(reminders::get_contacts),
    endpoint!(reminders::put_contacts),
    endpoint!(sources::list_sources),
    endpoint!(sources::add_source),
    endpoint!(sources::pull_source),
    endpoint!(understanding::search_gaps),
    endpoint!(understanding::list_lexicon),
    endpoint!(understanding::add_lexicon),
    endpoint!(organizations::list_organizations),
    endpoint!(organizations::create_organization),
    endpoint!(organizations::get_organization),
    endpoint!(organizations::replace_organization),
    endpoint!(organizations::patch_organization),
    endpoint!(organizations::retire_organization),
];

/// Every route, as (method in lower case, as OpenAPI writes it, path).
pub fn route_list() -> impl Iterator<Item = (String, String)> {
    ENDPOINTS.iter().flat_map(|e| {
        (e.methods)()
            .into_iter()
            .map(move |m| (method_name(&m).to_string(), (e.path)()))
    })
}

fn method_name(method: &utoipa::openapi::HttpMethod) -> &'static str {
    use utoipa::openapi::HttpMethod as M;
    match method {
        M::Get => "get",
        M::Post => "post",
        M::Put => "put",
        M::Delete => "delete",
        M::Options => "options",
        M::Head => "head",
        M::Patch => "patch",
        M::Trace => "trace",
    }
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
    let mut paths: Vec<String> = Vec::new();
    for endpoint in ENDPOINTS {
        let path = (endpoint.path)();
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    for path in paths {
        let resource = ENDPOINTS.iter().filter(|e| (e.path)() == path).fold(
            resource(&path),
            |resource, endpoint| {
                (endpoint.methods)()
                    .iter()
                    .fold(resource, |resource, method| {
                        let method = actix_web::http::Method::from_bytes(
                            method_name(method).to_uppercase().as_bytes(),
                        )
                        .expect("an HTTP method");
                        resource.route((endpoint.route)().method(method))
                    })
            },
        );
        cfg.service(resource);
    }
}

/// A resource that answers 405 to methods it does not serve (not the app's 404), with
/// an `Allow` header naming those it does.
fn resource(path: &str) -> actix_web::Resource {
    let allow = route_list()
        .filter(|(_, p)| p == path)
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

/// Liveness
#[utoipa::path(get, path = "/health", responses((status = 200, description = "The process is up.")))]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// This API's description, as JSON, made once.
static OPENAPI: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    serde_json::to_string(&doc::document()).expect("an OpenAPI document serialises")
});

/// This description, as JSON
///
/// The same document as the repository's openapi.yaml, for clients and tools that read
/// OpenAPI as JSON.
#[utoipa::path(get, path = "/openapi.json", responses(
    (status = 200, description = "The OpenAPI 3.1 document.", body = Object),
))]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI.as_str())
}

/// Readiness (database reachable, risk model trained), with index state
#[utoipa::path(get, path = "/ready", responses(
    (status = 200, description = "Ready: the database answers and searches need not wait for the risk model (trained once at start, under a second); how far the index has caught up.", body = inline(Readiness)),
    (status = 503, response = doc::Unavailable),
))]
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !crate::understand::risk_model::RiskModel::built_in_is_trained() {
        return Err(ApiError::Unavailable(
            "the risk model is still learning (once, at start); searches would wait for it".into(),
        ));
    }
    state
        .directory
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the database does not answer: {e}")))?;
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        database: state.directory.backend_name(),
        index: state.directory.index_state().await?,
    }))
}

/// What `/ready` answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Readiness {
    status: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
    index: crate::directory::records::IndexState,
}

/// Prometheus metrics
///
/// Requests and latency per route pattern, method and status (never a path's values or a
/// query); the index's documents and applied change; process peak memory.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "Prometheus text exposition format.", body = String, content_type = "text/plain"),
))]
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

/// The categories services are filed under
///
/// Open routes take `Reader` too: no key is fine, a bad one is refused (401) rather than
/// silently ignored, so a client with a broken key finds out.
#[utoipa::path(get, path = "/v1/taxonomy", responses(
    (status = 200, description = "Every category, in the order they are listed to users.", body = inline(Taxonomy)),
    doc::Always,
))]
async fn taxonomy_list(_: Reader) -> HttpResponse {
    HttpResponse::Ok().json(Taxonomy {
        items: taxonomy::CATEGORIES,
    })
}

/// What `/v1/taxonomy` answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Taxonomy {
    items: &'static [taxonomy::Category],
}

/// Rebuild the search index from the database; searches keep working meanwhile
#[utoipa::path(post, path = "/v1/admin/reindex", security(("bearer" = []), ("apiKey" = [])), responses(
    (status = 200, description = "The index was rebuilt.", body = crate::search::RebuildReport),
    doc::Always, doc::Restricted,
))]
async fn reindex(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let report = state.directory.rebuild_index().await?;
    Ok(HttpResponse::Ok().json(report))
}
