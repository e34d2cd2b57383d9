//! Middleware every request passes: its id and span, and its metrics. (Rate limits are
//! in `limits.rs`; the access log is actix's `Logger`, set up in `startup`.)

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use std::future::Future;

/// The rest of the application, as a middleware sees it.
pub trait Next<B>:
    Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>
{
}

impl<S, B> Next<B> for S where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>
{
}

/// What a middleware answers with.
pub type Answer<B> = Result<ServiceResponse<B>, actix_web::Error>;

/// The request id header: taken from the client when it is a plausible id, else made.
const REQUEST_ID: &str = "x-request-id";

/// The client's request id if it is short and plain, else a new one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Runs each request in a span carrying its id (so every log line of the request can be
/// followed), and echoes the id in the response.
pub fn with_request_id<S: Next<B>, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Answer<B>> + use<S, B> {
    use tracing::Instrument;
    let id = request_id(&req);
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.path());
    let call = span.in_scope(|| srv.call(req));
    async move {
        let mut res = call.await?;
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&id) {
            res.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static(REQUEST_ID),
                value,
            );
        }
        Ok(res)
    }
    .instrument(span)
}

/// Counts each request and times it, by route pattern (never the path's values or the
/// query), method and status.
pub fn record_request<S: Next<B>, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Answer<B>> + use<S, B> {
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = std::time::Instant::now();
    let call = srv.call(req);
    async move {
        let res = call.await;
        let status = match &res {
            Ok(r) => r.status().as_u16().to_string(),
            Err(e) => e.as_response_error().status_code().as_u16().to_string(),
        };
        metrics::counter!("signpost_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status).increment(1);
        metrics::histogram!("signpost_http_request_duration_seconds", "route" => route, "method" => method)
            .record(started.elapsed().as_secs_f64());
        res
    }
}
