//! `/v1/search`: a navigator's question with the caller's place and filters, by GET
//! parameters or a POST body (which keeps the caller's words out of URLs and logs).

use super::AppState;
use super::extract::{Params, Reader};
use super::problem::ApiError;
use super::{MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET, extract, geo};
use crate::directory::PlaceInput;
use crate::domain::{Accepting, DeliveryMode, ServiceStatus, fields};
use crate::search::query::{Filters, MAX_QUERY_CHARS};
use crate::search::{SearchRequest, Sort};
use actix_web::{HttpResponse, web};

fn parse_each<T>(
    params: &Params,
    name: &str,
    valid: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, ApiError> {
    params
        .all(name)
        .into_iter()
        .map(|v| {
            parse(v).ok_or_else(|| {
                ApiError::parameter(name, format!("'{v}' is not a valid {name}: use {valid}"))
            })
        })
        .collect()
}

/// Reads the search parameters; every bad one is a 400 naming it. The pages read their
/// search form with this too.
pub fn search_request(
    params: &Params,
    capacity_stale_after: chrono::Duration,
) -> Result<(SearchRequest, PlaceInput), ApiError> {
    params.allow_only(&[
        "q",
        "category",
        "delivery_mode",
        "status",
        "accepting",
        "referral",
        "age",
        "gender",
        "language",
        "free",
        "postcode",
        "gp",
        "include_unknown",
        "sort",
        "within_km",
        "limit",
        "offset",
        "explain",
    ])?;
    let q = params.one("q")?.unwrap_or("").to_string();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::parameter(
            "q",
            format!("'q' is too long: at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let categories = params
        .all("category")
        .into_iter()
        .map(|c| {
            fields::CategoryId::parse(c)
                .map(|c| c.as_str().to_string())
                .map_err(|e| ApiError::parameter("category", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let delivery_modes = parse_each(
        params,
        "delivery_mode",
        "in_person, telephone, online or home_visit",
        DeliveryMode::parse,
    )?;
    let mut statuses = parse_each(
        params,
        "status",
        "active, temporarily_closed, inactive or defunct",
        ServiceStatus::parse,
    )?;
    if statuses.is_empty() {
        statuses = vec![ServiceStatus::Active, ServiceStatus::TemporarilyClosed];
    }
    let accepting = match params.one("accepting")? {
        None | Some("any") => None,
        Some("open") => Some(Accepting::Open),
        Some("waitlist") => Some(Accepting::Waitlist),
        Some(v) => {
            return Err(ApiError::parameter(
                "accepting",
                format!("'{v}' is not a valid accepting: use open, waitlist or any"),
            ));
        }
    };
    let self_referral = match params.one("referral")? {
        None | Some("any") => false,
        Some("self") => true,
        Some(v) => {
            return Err(ApiError::parameter(
                "referral",
                format!("'{v}' is not a valid referral: use self (self-referral possible) or any"),
            ));
        }
    };
    let who = geo::caller_input(params)?;
    let include_unknown = params
        .parse::<bool>("include_unknown", "true or false")?
        .unwrap_or(false);
    let by_distance = match params.one("sort")? {
        None | Some("relevance") => false,
        Some("distance") => true,
        Some(v) => {
            return Err(ApiError::parameter(
                "sort",
                format!("'{v}' is not a valid sort: use relevance or distance"),
            ));
        }
    };
    let within_km = match params.parse::<f64>("within_km", "a distance in kilometres")? {
        Some(km) if !(km > 0.0 && km <= 1000.0) => {
            return Err(ApiError::parameter(
                "within_km",
                format!("'within_km' must be more than 0 and at most 1000; got {km}"),
            ));
        }
        other => other,
    };
    if (by_distance || within_km.is_some()) && who.postcode.is_none() {
        return Err(ApiError::parameter(
            "postcode",
            "sorting or limiting by distance needs the caller's 'postcode'",
        ));
    }
    let languages = params
        .all("language")
        .into_iter()
        .map(|l| {
            fields::Language::parse(l)
                .map(|l| l.as_str().to_string())
                .map_err(|e| ApiError::parameter("language", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let free = params.parse::<bool>("free", "true or false")?;
    // Ten: a navigator on a call reads the first few; more are a page away.
    let limit = params.int_in("limit", 1, MAX_SEARCH_LIMIT)?.unwrap_or(10) as usize;
    let offset = params.int_in("offset", 0, MAX_SEARCH_OFFSET)?.unwrap_or(0) as usize;
    let explain = params
        .parse::<bool>("explain", "true or false")?
        .unwrap_or(false);
    let (age, gender) = (who.age, who.gender);
    let request = SearchRequest {
        q,
        filters: Filters {
            categories,
            delivery_modes,
            statuses,
            accepting,
            capacity_fresh_after: (chrono::Utc::now() - capacity_stale_after).timestamp(),
            self_referral,
            age,
            gender,
            languages,
            free,
            eligibility: None,
            within: None,
        },
        limit,
        offset,
        caller: None,
        sort: Sort::Relevance,
        origin: None,
        explain,
    };
    let place = PlaceInput {
        who,
        include_unknown,
        by_distance,
        within_km,
    };
    Ok((request, place))
}

/// Navigator search, the caller's details in the body
///
/// The same search as GET, with the same answer, for clients that must keep the caller's
/// words, postcode and GP out of URLs (and so out of proxies' and browsers' logs). The
/// body is one JSON object with the GET's parameters as fields; repeatable ones as arrays.
#[utoipa::path(post, path = "/v1/search", request_body = inline(SearchParameters), responses(
    (status = 200, description = "A page of hits with facets and total.", body = crate::search::SearchResponse),
    super::doc::Always, super::doc::WithBody,
))]
pub(super) async fn search_posted(
    reader: Reader,
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    extract::require_json(&req, &[])?;
    let params = Params::from_json_body(&body)?;
    search(reader, state, params).await
}

/// Navigator search
///
/// Free text with stemming and typo tolerance, read through the lay-language lexicon
/// into needs (taxonomy categories with a confidence), risk and languages; plus filters
/// (AND across parameters, OR within a repeated one). Results carry warnings. A question
/// that expresses risk puts up to three crisis services first and carries a risk block.
#[utoipa::path(get, path = "/v1/search", params(SearchParameters), responses(
    (status = 200, description = "A page of hits with facets and total.", body = crate::search::SearchResponse),
    super::doc::Always,
))]
pub(super) async fn search(
    _: Reader,
    state: web::Data<AppState>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let (request, place) = search_request(&params, state.search_settings.capacity_stale_after)?;
    let response = state.directory.search(request, place).await?;
    Ok(HttpResponse::Ok().json(response))
}

/// What a search takes, as query parameters (GET) or a JSON body's fields (POST); read
/// by [`search_request`].
#[derive(serde::Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes what `search_request` reads.
struct SearchParameters {
    /// What the caller said, up to 300 characters; any characters are accepted.
    #[param(max_length = 300)]
    #[schema(max_length = 300)]
    q: Option<String>,
    /// Repeatable or comma-separated taxonomy ids.
    #[param(style = Form, explode)]
    category: Option<Vec<fields::CategoryId>>,
    #[param(style = Form, explode)]
    delivery_mode: Option<Vec<DeliveryMode>>,
    /// Default: active and temporarily_closed.
    #[param(style = Form, explode)]
    status: Option<Vec<ServiceStatus>>,
    /// open or waitlist as last stated and not stale; any for no filter.
    accepting: Option<AcceptingFilter>,
    /// self = self-referral possible.
    referral: Option<ReferralFilter>,
    #[param(minimum = 0, maximum = 120)]
    #[schema(minimum = 0, maximum = 120)]
    age: Option<u8>,
    gender: Option<crate::domain::Gender>,
    /// ISO 639 codes; services that list one of them.
    #[param(style = Form, explode)]
    language: Option<Vec<String>>,
    free: Option<bool>,
    /// The caller's postcode: keeps services whose coverage includes them (see
    /// /v1/services/{id}/eligibility).
    postcode: Option<super::doc::Postcode>,
    /// The caller's GP practice (ODS code, e.g. P84004).
    gp: Option<super::doc::GpCode>,
    /// Also keep services whose eligibility cannot be decided, marked unknown.
    #[param(default = false)]
    #[schema(default = false)]
    include_unknown: Option<bool>,
    /// distance needs postcode; services without a location come last,
    /// telephone/online ones before the rest.
    sort: Option<SortParameter>,
    /// Needs postcode. Services delivered by telephone or online are kept whatever the
    /// distance.
    #[param(exclusive_minimum = 0, maximum = 1000)]
    #[schema(exclusive_minimum = 0, maximum = 1000)]
    within_km: Option<f64>,
    #[param(minimum = 1, maximum = 100, default = 10)]
    #[schema(minimum = 1, maximum = 100, default = 10)]
    limit: Option<u8>,
    #[param(minimum = 0, maximum = 1000, default = 0)]
    #[schema(minimum = 0, maximum = 1000, default = 0)]
    offset: Option<u16>,
    /// Show, per hit, which words, needs and boosts scored.
    #[param(default = false)]
    #[schema(default = false)]
    explain: Option<bool>,
}

/// The `accepting` filter's values.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum AcceptingFilter {
    Open,
    Waitlist,
    Any,
}

/// The `referral` filter's values.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum ReferralFilter {
    #[serde(rename = "self")]
    SelfReferral,
    Any,
}

/// How hits are ordered.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum SortParameter {
    Relevance,
    Distance,
}
