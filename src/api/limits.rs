//! Rate limits: per API key, and per client address for requests without one (the
//! address behind trusted reverse proxies is read from `X-Forwarded-For`). Over the
//! limit a request gets 429 problem+json with `Retry-After`; nothing behind it runs.

use super::middleware::{Answer, Next};
use super::problem::{PROBLEM_JSON, Problem};
use actix_web::body::EitherBody;
use actix_web::dev::ServiceRequest;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

/// Keys remembered before the limiters forget those idle long enough to be full again.
const FORGET_ABOVE: usize = 100_000;

/// How many requests a minute each caller may make (0 turns a limit off).
#[derive(Debug, Clone, Default)]
pub struct LimitSettings {
    /// For each client address without a key.
    pub per_address_per_minute: u32,
    /// For each API key (or staff session's key).
    pub per_key_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

/// The limiters, shared by every worker.
pub struct RateLimits {
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_key: Option<DefaultKeyedRateLimiter<[u8; 32]>>,
    trusted_proxies: Vec<IpAddr>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimits {
    /// The limiter for these settings, shared by every worker.
    pub fn new(settings: &LimitSettings) -> Arc<Self> {
        Arc::new(RateLimits {
            per_address: limiter(settings.per_address_per_minute),
            per_key: limiter(settings.per_key_per_minute),
            trusted_proxies: settings.trusted_proxies.clone(),
        })
    }

    /// The client's address: the peer, or behind trusted proxies the last address in
    /// `X-Forwarded-For` that is not one of them.
    fn client_address(&self, req: &ServiceRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        forwarded
            .split(',')
            .rev()
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .find(|a| !self.trusted_proxies.contains(a))
            .or(Some(peer))
    }

    /// `Err(seconds to wait)` when this request is over its caller's limit.
    fn check(&self, req: &ServiceRequest) -> Result<(), u64> {
        let path = req.path();
        if matches!(path, "/health" | "/ready") || path.starts_with("/assets/") {
            return Ok(());
        }
        let key = presented_key(req);
        let outcome = match (&key, &self.per_key, &self.per_address) {
            (Some(k), Some(limiter), _) => {
                let d = crate::domain::access::key_digest(k);
                forget_idle(limiter);
                limiter
                    .check_key(&d)
                    .map_err(|n| n.wait_time_from(DefaultClock::default().now()))
            }
            (Some(_), None, _) => Ok(()),
            (None, _, Some(limiter)) => match self.client_address(req) {
                Some(address) => {
                    forget_idle(limiter);
                    limiter
                        .check_key(&address)
                        .map_err(|n| n.wait_time_from(DefaultClock::default().now()))
                }
                None => Ok(()),
            },
            (None, _, None) => Ok(()),
        };
        outcome.map_err(|wait| wait.as_secs().max(1))
    }
}

fn forget_idle<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>) {
    if limiter.len() > FORGET_ABOVE {
        limiter.retain_recent();
    }
}

/// The API key a request carries, if any (its validity is checked later, by the route).
fn presented_key(req: &ServiceRequest) -> Option<String> {
    let h = req.headers();
    h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| h.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
}

/// The middleware: refuses requests over their caller's limit.
pub fn enforce<S: Next<B>, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Answer<EitherBody<B>>> + use<S, B> {
    let verdict = req
        .app_data::<web::Data<RateLimits>>()
        .map_or(Ok(()), |limits| limits.check(&req));
    let call = match verdict {
        Ok(()) => Ok(srv.call(req)),
        Err(wait) => Err((req, wait)),
    };
    async move {
        match call {
            Ok(fut) => Ok(fut.await?.map_into_left_body()),
            Err((req, wait)) => {
                let problem = Problem {
                    kind: "/problems/too-many-requests".into(),
                    title: "Too many requests".into(),
                    status: 429,
                    detail: format!(
                        "this client has made more requests than its limit allows; try again in {wait} s"
                    ),
                    parameter: None,
                    errors: Vec::new(),
                    current_version: None,
                };
                let response = HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)
                    .content_type(PROBLEM_JSON)
                    .insert_header((header::RETRY_AFTER, wait.to_string()))
                    .json(problem);
                Ok(req.into_response(response).map_into_right_body())
            }
        }
    }
}
