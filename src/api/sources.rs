//! Other directories' feeds: registering them and pulling them now (administrators).

use super::extract::{Admin, Params, require_json};
use super::problem::ApiError;
use crate::api::AppState;
use crate::directory::sources::SourceInput;
use crate::domain::parse_body;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// `GET /v1/admin/sources`: every source and how its pulls went.
pub async fn list_sources(
    _: Admin,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[])?;
    let sources = state.directory.sources().await?;
    Ok(HttpResponse::Ok().json(json!({ "sources": sources })))
}

/// `POST /v1/admin/sources`: registers a feed; the schedule pulls it.
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

/// `POST /v1/admin/sources/{id}/pull[?full=true]`: pulls one source now and says what it
/// did. The pull finishes even if the caller goes away; 409 while another pull runs.
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
