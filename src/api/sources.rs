//! Other directories' feeds: registering them and pulling them now (administrators).

use super::extract::{Admin, Params, require_json};
use super::problem::ApiError;
use crate::api::AppState;
use crate::directory::sources::SourceInput;
use crate::domain::parse_body;
use actix_web::{HttpRequest, HttpResponse, web};

/// Other directories' feeds that signpost reads, and how their pulls went
#[utoipa::path(get, path = "/v1/admin/sources", security(("bearer" = []), ("apiKey" = [])), responses(
    (status = 200, description = "Every source, by name.", body = Sources),
    super::doc::Always, super::doc::Restricted,
))]
pub async fn list_sources(
    _: Admin,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[])?;
    let sources = state.directory.sources().await?;
    Ok(HttpResponse::Ok().json(Sources { sources }))
}

/// Every source.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Sources {
    sources: Vec<crate::storage::sources::Source>,
}

/// Register another directory's Open Referral UK 3.0 feed; the schedule pulls it
#[utoipa::path(post, path = "/v1/admin/sources", security(("bearer" = []), ("apiKey" = [])), request_body = SourceInput, responses(
    (status = 201, description = "Registered.", body = crate::storage::sources::Source),
    super::doc::Always, super::doc::Restricted, super::doc::WithBody, super::doc::Contended,
))]
pub async fn add_source(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_json(&req, &[])?;
    let input: SourceInput = parse_body(&body)?;
    let source = state.directory.add_source(input).await?;
    Ok(HttpResponse::Created().json(source))
}

/// Pull one source now (by id or name) and say what the pull did
///
/// One request at a time to the source; records changed since the last good pull, or
/// every record (and so the vanished ones) when a full pull is due or full=true. A failed
/// pull is reported in the body (error) and on the source; what it wrote before failing
/// stays. The pull finishes even if the caller goes away; 409 while another pull runs.
#[utoipa::path(post, path = "/v1/admin/sources/{id}/pull", security(("bearer" = []), ("apiKey" = [])), params(
    ("id" = String, Path, description = "The source's id or name."),
    ("full" = Option<bool>, Query, description = "Read every record (default false)."),
), responses(
    (status = 200, description = "What the pull did.", body = crate::directory::sources::PullReport),
    super::doc::Always, super::doc::Restricted, super::doc::OneRecord, super::doc::Contended,
))]
pub async fn pull_source(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["full"])?;
    let full = params
        .parse::<bool>("full", "true or false")?
        .unwrap_or(false);
    let id = path.into_inner();
    let directory = state.directory.clone();
    let settings = state.source_pull.clone();
    let holder = super::request_holder();
    let report = super::run_to_end(
        "the pull",
        "a pull is running already (here or in another replica); try again when it ends",
        async move {
            let pulled = directory
                .pull_sources(Some(&id), &settings, &holder, full)
                .await?;
            Ok(pulled.and_then(|mut r| r.pop()))
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(report))
}
