//! The Open Referral UK 3.0 feed (HSDS-UK): the directory published read-only under
//! `/oruk`, open to anyone (no key; CORS `*`), in the standard's shapes and page envelope,
//! so council sites, Service Finder and social-prescribing tools can read it. A front
//! door beside the JSON routes and the pages: it asks the directory layer
//! (`directory::feed`) and maps records with `oruk::mapping`.

use super::AppState;
use super::extract::{Params, parse_id};
use super::problem::ApiError;
use crate::directory::feed::FeedQuery;
use crate::domain::taxonomy::CATEGORIES;
use crate::geo::Postcode;
use crate::oruk::mapping;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

/// Where the feed lives.
pub const BASE: &str = "/oruk";
/// Items per page unless `per_page` says otherwise.
const DEFAULT_PER_PAGE: i64 = 50;
const MAX_PER_PAGE: i64 = 1000;
/// Services read at a time when the whole feed is streamed.
const STREAM_CHUNK: u32 = 500;

/// Registers the feed's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .wrap(DefaultHeaders::new().add((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")))
            .route("", web::get().to(api_details))
            .route("/", web::get().to(api_details))
            .route("/openapi.json", web::get().to(openapi))
            .route("/services", web::get().to(services))
            .route("/services/{id}", web::get().to(service))
            .route("/taxonomies", web::get().to(taxonomies))
            .route("/taxonomies/{id}", web::get().to(taxonomy))
            .route("/taxonomy_terms", web::get().to(taxonomy_terms))
            .route("/taxonomy_terms/{id}", web::get().to(taxonomy_term))
            .route("/organizations", web::get().to(organizations))
            .route("/organizations/{id}", web::get().to(organization))
            .route("/service_at_locations", web::get().to(service_at_locations))
            .route(
                "/service_at_locations/{id}",
                web::get().to(service_at_location),
            ),
    );
}

/// The feed's own address, as the client reached it.
fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}{BASE}", info.scheme(), info.host())
}

/// `GET /oruk/`: what this API is.
async fn api_details(req: HttpRequest) -> HttpResponse {
    let base = base_url(&req);
    HttpResponse::Ok().json(json!({
        "version": "HSDS-UK-3.0",
        "profile": "https://github.com/OpenReferralUK/uk-profile",
        "openapi_url": format!("{base}/openapi.json"),
        "description": "signpost: local community services for NHS Talking Therapies signposting, published as Open Referral UK 3.0.",
        "publisher": {"name": "signpost"},
    }))
}

/// `GET /oruk/openapi.json`: the feed's routes and parameters.
async fn openapi(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().json(openapi_document(&base_url(&req)))
}

/// A numbered page: `page` from 1, `per_page` items.
struct Paging {
    page: u64,
    per_page: u32,
}

impl Paging {
    fn read(params: &Params) -> Result<Self, ApiError> {
        let page = params.int_in("page", 1, i64::from(u32::MAX))?.unwrap_or(1) as u64;
        let per_page = params
            .int_in("per_page", 1, MAX_PER_PAGE)?
            .unwrap_or(DEFAULT_PER_PAGE) as u32;
        Ok(Paging { page, per_page })
    }

    fn offset(&self) -> u64 {
        (self.page - 1) * u64::from(self.per_page)
    }

    /// The standard's page envelope around `contents`.
    fn envelope(&self, total: u64, contents: Vec<Value>) -> Value {
        let per = u64::from(self.per_page);
        let total_pages = total.div_ceil(per).max(1);
        json!({
            "total_items": total,
            "total_pages": total_pages,
            "page_number": self.page,
            "size": contents.len(),
            "first_page": self.page == 1,
            "last_page": self.page >= total_pages,
            "empty": contents.is_empty(),
            "contents": contents,
        })
    }
}

fn boolean(params: &Params, name: &str) -> Result<bool, ApiError> {
    Ok(params
        .parse::<bool>(name, "true or false")?
        .unwrap_or(false))
}

/// The category named by `taxonomy_term_id` (ours), checked.
fn term_filter(params: &Params) -> Result<Vec<String>, ApiError> {
    match params.one("taxonomy_term_id")? {
        None => Ok(Vec::new()),
        Some(t) => mapping::category_of_term(t)
            .map(|c| vec![c.id.to_string()])
            .ok_or_else(|| {
                ApiError::parameter(
                    "taxonomy_term_id",
                    format!(
                        "'{t}' is not a term of this feed's taxonomy: see {BASE}/taxonomy_terms"
                    ),
                )
            }),
    }
}

/// `taxonomy_id`: ours lists everything; another lists nothing.
fn taxonomy_matches(params: &Params) -> Result<bool, ApiError> {
    Ok(match params.one("taxonomy_id")? {
        None => true,
        Some(t) => {
            let id = parse_id(t)
                .map_err(|_| ApiError::parameter("taxonomy_id", format!("'{t}' is not a UUID")))?;
            id == mapping::taxonomy_id()
        }
    })
}

/// `GET /oruk/services`
async fn services(state: web::Data<AppState>, params: Params) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[
        "search",
        "page",
        "per_page",
        "taxonomy_term_id",
        "taxonomy_id",
        "organization_id",
        "modified_after",
        "minimal",
        "full",
        "postcode",
        "proximity",
        "minimum_age",
        "maximum_age",
        "format",
    ])?;
    let paging = Paging::read(&params)?;
    let full = boolean(&params, "full")?;
    let minimal = boolean(&params, "minimal")?;
    let organization_id = params
        .one("organization_id")?
        .map(|o| {
            parse_id(o)
                .map_err(|_| ApiError::parameter("organization_id", format!("'{o}' is not a UUID")))
        })
        .transpose()?;
    let modified_after = params
        .one("modified_after")?
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
                })
                .map_err(|_| {
                    ApiError::parameter(
                        "modified_after",
                        format!(
                            "'{t}' is not a date-time: use e.g. 2026-11-30T12:00:00Z or 2026-11-30"
                        ),
                    )
                })
        })
        .transpose()?;
    let postcode = params
        .one("postcode")?
        .map(|p| Postcode::parse(p).map_err(|e| ApiError::parameter("postcode", e)))
        .transpose()?;
    let proximity_m = params.parse::<f64>("proximity", "a distance in metres")?;
    if let Some(m) = proximity_m {
        if postcode.is_none() {
            return Err(ApiError::parameter(
                "proximity",
                "'proximity' is measured from a 'postcode': give one",
            ));
        }
        if !(m > 0.0 && m <= 1_000_000.0) {
            return Err(ApiError::parameter(
                "proximity",
                format!("'proximity' must be more than 0 and at most 1000000 metres; got {m}"),
            ));
        }
    }
    let search = params
        .one("search")?
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if search
        .as_ref()
        .is_some_and(|s| s.chars().count() > crate::search::query::MAX_QUERY_CHARS)
    {
        return Err(ApiError::parameter(
            "search",
            format!(
                "'search' is too long: at most {} characters",
                crate::search::query::MAX_QUERY_CHARS
            ),
        ));
    }
    let query = FeedQuery {
        search,
        categories: term_filter(&params)?,
        organization_id,
        modified_after,
        open_from_age: params.int_in("minimum_age", 0, 120)?.map(|a| a as u8),
        open_to_age: params.int_in("maximum_age", 0, 120)?.map(|a| a as u8),
        postcode,
        proximity_m,
        offset: paging.offset(),
        limit: paging.per_page,
    };
    let format = params.one("format")?.unwrap_or("json");
    if !taxonomy_matches(&params)? {
        return Ok(HttpResponse::Ok().json(paging.envelope(0, Vec::new())));
    }
    match format {
        "json" => {}
        "ndjson" => return Ok(stream_all(state, query, full || !minimal)),
        other => {
            return Err(ApiError::parameter(
                "format",
                format!("'{other}' is not a format of this feed: use json or ndjson"),
            ));
        }
    }
    let page = state.directory.feed_services(query).await?;
    let contents = page
        .services
        .iter()
        .map(|s| {
            if minimal {
                json!({"id": s.id, "last_modified": s.meta.last_modified.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})
            } else {
                mapping::service(s, full)
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(paging.envelope(page.total, contents)))
}

/// Every matching service, one JSON object a line, read from the directory a chunk at a
/// time (so memory stays flat however large the directory): in id order, or for words
/// or a place their best matches.
fn stream_all(state: web::Data<AppState>, query: FeedQuery, full: bool) -> HttpResponse {
    /// Where the stream has got to.
    enum At {
        After(Option<uuid::Uuid>),
        Offset(u64),
    }
    let start = if query.by_relevance() {
        At::Offset(0)
    } else {
        At::After(None)
    };
    let stream = futures::stream::unfold(Some(start), move |at| {
        let (state, query) = (state.clone(), query.clone());
        async move {
            let (services, next) = match at? {
                At::After(after) => {
                    let chunk = state
                        .directory
                        .feed_after(&query, after, STREAM_CHUNK)
                        .await;
                    let chunk = chunk
                        .map_err(|e| tracing::error!(error = %e, "streaming the feed"))
                        .ok()?;
                    let next = (chunk.len() == STREAM_CHUNK as usize)
                        .then(|| At::After(chunk.last().map(|s| s.id)));
                    (chunk, next)
                }
                At::Offset(offset) => {
                    let q = FeedQuery {
                        offset,
                        limit: STREAM_CHUNK,
                        ..query
                    };
                    let page = state.directory.feed_services(q).await;
                    let page = page
                        .map_err(|e| tracing::error!(error = %e, "streaming the feed"))
                        .ok()?;
                    let seen = offset + page.services.len() as u64;
                    let next = (!page.services.is_empty() && seen < page.total)
                        .then_some(At::Offset(seen));
                    (page.services, next)
                }
            };
            if services.is_empty() {
                return None;
            }
            let mut body = String::new();
            for s in &services {
                body.push_str(&mapping::service(s, full).to_string());
                body.push('\n');
            }
            Some((Ok::<_, actix_web::Error>(web::Bytes::from(body)), next))
        }
    });
    HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(stream)
}

/// `GET /oruk/services/{id}`: fully nested.
async fn service(
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[])?;
    let id = parse_id(&path)?;
    let s = state.directory.feed_service(id).await?;
    Ok(HttpResponse::Ok().json(mapping::service(&s, true)))
}

/// `GET /oruk/taxonomies`
async fn taxonomies(params: Params) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["page", "per_page", "search"])?;
    let paging = Paging::read(&params)?;
    let all = vec![mapping::taxonomy()];
    Ok(HttpResponse::Ok().json(page_of(&paging, all)))
}

/// `GET /oruk/taxonomies/{id}`
async fn taxonomy(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    if id != mapping::taxonomy_id() {
        return Err(ApiError::NotFound(format!("there is no taxonomy {id}")));
    }
    let mut t = mapping::taxonomy();
    t["taxonomy_terms"] = Value::Array(CATEGORIES.iter().map(mapping::term).collect());
    Ok(HttpResponse::Ok().json(t))
}

/// `GET /oruk/taxonomy_terms`
async fn taxonomy_terms(params: Params) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["page", "per_page", "taxonomy_id", "search"])?;
    let paging = Paging::read(&params)?;
    let words = params.one("search")?.unwrap_or("").to_lowercase();
    let all: Vec<Value> = if taxonomy_matches(&params)? {
        CATEGORIES
            .iter()
            .filter(|c| words.is_empty() || c.name.to_lowercase().contains(&words))
            .map(mapping::term)
            .collect()
    } else {
        Vec::new()
    };
    Ok(HttpResponse::Ok().json(page_of(&paging, all)))
}

/// `GET /oruk/taxonomy_terms/{id}`
async fn taxonomy_term(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let c = mapping::category_of_term(&path)
        .ok_or_else(|| ApiError::NotFound(format!("there is no taxonomy term '{path}'")))?;
    Ok(HttpResponse::Ok().json(mapping::term(c)))
}

/// A page of a list held in memory.
fn page_of(paging: &Paging, all: Vec<Value>) -> Value {
    let total = all.len() as u64;
    let contents = all
        .into_iter()
        .skip(usize::try_from(paging.offset()).unwrap_or(usize::MAX))
        .take(paging.per_page as usize)
        .collect();
    paging.envelope(total, contents)
}

/// `GET /oruk/organizations`
async fn organizations(
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&["page", "per_page", "full_service", "full", "search"])?;
    let paging = Paging::read(&params)?;
    let (orgs, total) = state
        .directory
        .feed_organizations(paging.offset(), paging.per_page)
        .await?;
    let contents = orgs
        .iter()
        .map(|o| mapping::organization(o, None))
        .collect();
    Ok(HttpResponse::Ok().json(paging.envelope(total, contents)))
}

/// `GET /oruk/organizations/{id}`: with the services it runs.
async fn organization(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let (org, services) = state.directory.feed_organization(id).await?;
    Ok(HttpResponse::Ok().json(mapping::organization(&org, Some(&services))))
}

/// Every service at each of its locations, for one page: read through the feed's
/// services in order (the standard makes this list optional; it costs a pass over the
/// directory, so large directories are better read from `/services?full=true`).
async fn located(state: &AppState) -> Result<Vec<(crate::domain::Service, usize)>, ApiError> {
    let mut out = Vec::new();
    let query = FeedQuery::default();
    let mut after = None;
    loop {
        let chunk = state
            .directory
            .feed_after(&query, after, STREAM_CHUNK)
            .await?;
        after = chunk.last().map(|s| s.id);
        let done = chunk.len() < STREAM_CHUNK as usize;
        for s in chunk {
            for i in 0..s.content.locations.len() {
                out.push((s.clone(), i));
            }
        }
        if done {
            return Ok(out);
        }
    }
}

/// `GET /oruk/service_at_locations`
async fn service_at_locations(
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    params.allow_only(&[
        "page",
        "per_page",
        "full",
        "search",
        "taxonomy_term_id",
        "taxonomy_id",
        "organization_id",
        "modified_after",
        "postcode",
        "proximity",
    ])?;
    let paging = Paging::read(&params)?;
    let full = boolean(&params, "full")?;
    let all = located(&state)
        .await?
        .iter()
        .map(|(s, i)| mapping::service_at_location(s, *i, full))
        .collect();
    Ok(HttpResponse::Ok().json(page_of(&paging, all)))
}

/// `GET /oruk/service_at_locations/{id}`
async fn service_at_location(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let found = located(&state).await?.into_iter().find(|(s, i)| {
        mapping::derived_id(&["service_at_location", &s.id.to_string(), &i.to_string()]) == id
    });
    match found {
        Some((s, i)) => Ok(HttpResponse::Ok().json(mapping::service_at_location(&s, i, true))),
        None => Err(ApiError::NotFound(format!(
            "there is no service at location {id}"
        ))),
    }
}

/// The feed's OpenAPI description: its paths and their parameters.
fn openapi_document(base: &str) -> Value {
    let param = |name: &str, kind: &str, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": kind}});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
    let paging = vec![
        param("page", "integer", "Page number, from 1."),
        param(
            "per_page",
            "integer",
            "Items per page (default 50, at most 1000).",
        ),
    ];
    let mut service_params = paging.clone();
    service_params.extend([
        param(
            "search",
            "string",
            "Words, in the caller's own: the best 1,000 matches by relevance.",
        ),
        param(
            "taxonomy_term_id",
            "string",
            "Services with this term (a category).",
        ),
        param(
            "taxonomy_id",
            "string",
            "Services with any term of this taxonomy.",
        ),
        param(
            "organization_id",
            "string",
            "Services this organisation runs.",
        ),
        param(
            "modified_after",
            "string",
            "Services changed after this date-time.",
        ),
        param(
            "minimal",
            "boolean",
            "Just each service's id and last_modified.",
        ),
        param("full", "boolean", "Fully nested services."),
        param("postcode", "string", "Services covering this postcode."),
        param(
            "proximity",
            "number",
            "With postcode: within this many metres.",
        ),
        param(
            "minimum_age",
            "integer",
            "Services open to someone this old or older.",
        ),
        param(
            "maximum_age",
            "integer",
            "Services open to someone this old or younger.",
        ),
        param(
            "format",
            "string",
            "json (default) or ndjson: every matching service, one a line, unpaged.",
        ),
    ]);
    let ok = |what: &str| json!({"200": {"description": what}, "400": {"description": "a parameter is not valid (application/problem+json)"}});
    let one = |what: &str| json!({"200": {"description": what}, "404": {"description": "no such record (application/problem+json)"}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "signpost Open Referral UK feed", "version": "3.0", "description": "HSDS-UK 3.0 read-only feed of signpost's directory."},
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": {"summary": "API details", "responses": ok("api details")}},
            "/services": {"get": {"summary": "Services", "parameters": service_params, "responses": ok("a page of services")}},
            "/services/{id}": {"get": {"summary": "A service, fully nested", "parameters": [id.clone()], "responses": one("a service")}},
            "/taxonomies": {"get": {"summary": "Taxonomies", "parameters": paging.clone(), "responses": ok("a page of taxonomies")}},
            "/taxonomies/{id}": {"get": {"summary": "A taxonomy with its terms", "parameters": [id.clone()], "responses": one("a taxonomy")}},
            "/taxonomy_terms": {"get": {"summary": "Taxonomy terms", "parameters": paging.clone(), "responses": ok("a page of terms")}},
            "/taxonomy_terms/{id}": {"get": {"summary": "A taxonomy term", "parameters": [id.clone()], "responses": one("a term")}},
            "/organizations": {"get": {"summary": "Organisations", "parameters": paging.clone(), "responses": ok("a page of organisations")}},
            "/organizations/{id}": {"get": {"summary": "An organisation with its services", "parameters": [id.clone()], "responses": one("an organisation")}},
            "/service_at_locations": {"get": {"summary": "Services at their locations", "parameters": paging, "responses": ok("a page of services at locations")}},
            "/service_at_locations/{id}": {"get": {"summary": "A service at one location", "parameters": [id], "responses": one("a service at a location")}},
        }
    })
}
