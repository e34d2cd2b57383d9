//! Visiting a URL politely and saying what was found: redirects hop by hop, at most one
//! request at a time per host with an interval between them, `Retry-After` honoured, a
//! bounded retry for transient failures only, and only the start of a page read.

use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use url::Url;

/// How the checker behaves; every default is named here.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    /// How long connecting to a host may take.
    pub connect_timeout: Duration,
    /// For one request, headers and the start of the body.
    pub request_timeout: Duration,
    /// Redirects followed before giving up with `too_many_redirects`.
    pub max_redirects: usize,
    /// Says who we are and where to complain.
    pub user_agent: String,
    /// Only this much of a page is read.
    pub max_body_bytes: usize,
    /// Pause between two requests to the same host.
    pub host_interval: Duration,
    /// Extra attempts after a transient failure.
    pub max_retries: u32,
    /// First pause before a retry; doubled each time.
    pub retry_backoff: Duration,
    /// The longest `Retry-After` waited for; longer counts as transient.
    pub max_retry_after: Duration,
    /// Hosts checked at the same time (each host one request at a time).
    pub hosts_at_once: usize,
}

impl Default for CheckSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(20),
            max_redirects: 8,
            user_agent: format!(
                "signpost-linkcheck/{} (checks that community services listed for NHS Talking Therapies signposting still exist; +https://github.com/signpost-directory/signpost)",
                env!("CARGO_PKG_VERSION")
            ),
            max_body_bytes: 64 * 1024,
            host_interval: Duration::from_secs(2),
            max_retries: 2,
            retry_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(120),
            hosts_at_once: 32,
        }
    }
}

/// What a check found, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The page is there and nothing suggests it has closed.
    Ok,
    /// Works, but lives somewhere else now: see `suggested_url`.
    Moved,
    /// Gone: 404/410, no such domain, refused, bad certificate, parked, soft 404,
    /// closure wording.
    Hard,
    /// May work later: timeouts, 5xx, 429, temporary DNS failure.
    Transient,
    /// Cannot tell: 401/403, bot walls, redirect loops.
    Unverifiable,
}

impl Outcome {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Moved => "moved",
            Outcome::Hard => "hard",
            Outcome::Transient => "transient",
            Outcome::Unverifiable => "unverifiable",
        }
    }
}

/// One redirect followed: where it pointed and with what status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    /// The URL that answered with the redirect.
    pub url: String,
    /// Its HTTP status, e.g. 301 or 302.
    pub status: u16,
}

/// One URL's check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The URL as checked.
    pub url: String,
    /// What the check found, broadly.
    pub outcome: Outcome,
    /// The finding in one word: `ok`, `not_found`, `gone`, `no_such_domain`, `refused`,
    /// `certificate`, `parked`, `soft_404`, `closure_wording`, `timeout`, `server_error`,
    /// `rate_limited`, `dns_temporary`, `auth_required`, `forbidden`, `bot_challenge`,
    /// `redirect_loop`, `too_many_redirects`, `moved_permanently`, `moved_domain`,
    /// `moved_home`, `bad_url`, `connection`.
    pub finding: &'static str,
    /// The last HTTP status received; None when no answer came (DNS, connection, timeout).
    pub status: Option<u16>,
    /// Every redirect followed, in order.
    pub hops: Vec<Hop>,
    /// Where the check ended, after redirects; None for a bad URL or a non-existent domain.
    pub final_url: Option<String>,
    /// The new address of a moved page; None otherwise.
    pub suggested_url: Option<String>,
    /// What was seen, in words, e.g. "404 Not Found".
    pub detail: String,
    /// Attempts made, retries included; 0 for a URL that is not http(s).
    pub attempts: u32,
    /// How long the last attempt took, in milliseconds.
    pub elapsed_ms: u64,
}

/// One request at a time per host, with a pause between requests.
#[derive(Default)]
pub struct HostGate {
    hosts: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
}

impl HostGate {
    fn slot(&self, host: &str) -> Arc<tokio::sync::Mutex<Option<Instant>>> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.entry(host.to_string()).or_default().clone()
    }
}

/// The host key politeness applies to: name (or address) and port.
pub fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// Chooses the process's TLS implementation (ring), which every HTTP client built with
/// reqwest here needs; calling it again does nothing.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The checker: a client without automatic redirects, and the per-host gate.
pub struct Checker {
    client: reqwest::Client,
    settings: CheckSettings,
    gate: HostGate,
}

/// Why a request failed before any response.
fn failure(err: &reqwest::Error) -> (Outcome, &'static str, String) {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    let lower = text.to_lowercase();
    let found = if err.is_timeout() || lower.contains("timed out") {
        (Outcome::Transient, "timeout")
    } else if lower.contains("certificate") || lower.contains("invalid peer") {
        (Outcome::Hard, "certificate")
    } else if lower.contains("connection refused") {
        (Outcome::Hard, "refused")
    } else if lower.contains("name or service not known")
        || lower.contains("no address associated")
        || lower.contains("nxdomain")
    {
        (Outcome::Hard, "no_such_domain")
    } else if lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve") {
        (Outcome::Transient, "dns_temporary")
    } else {
        (Outcome::Transient, "connection")
    };
    (found.0, found.1, text)
}

const PARKED: &[&str] = &[
    "this domain is for sale",
    "this domain may be for sale",
    "buy this domain",
    "domain is parked",
    "parked free",
    "parkingcrew",
    "sedoparking",
    "hugedomains",
    "domain has expired",
];

const CLOSURE: &[&str] = &[
    "this service has closed",
    "service has now closed",
    "has closed permanently",
    "permanently closed",
    "no longer running",
    "no longer operating",
    "ceased operating",
    "ceased trading",
    "we have now closed",
    "this project has ended",
    "service has ended",
    "is no longer available",
];

const SOFT_404: &[&str] = &[
    "page not found",
    "404 not found",
    "error 404",
    "could not be found",
    "cannot be found",
    "page doesn't exist",
    "page does not exist",
    "no longer exists",
];

const BOT_WALL: &[&str] = &[
    "just a moment...",
    "cf-chl",
    "checking your browser",
    "are you a robot",
    "captcha",
    "attention required! | cloudflare",
];

fn contains_any(text: &str, needles: &[&str]) -> Option<String> {
    needles
        .iter()
        .find(|n| text.contains(*n))
        .map(|n| format!("the page says \"{n}\""))
}

/// What the start of a 2xx page says about the service.
pub fn classify_page(body: &str) -> Option<(Outcome, &'static str, String)> {
    let text = body.to_lowercase();
    if let Some(d) = contains_any(&text, PARKED) {
        return Some((Outcome::Hard, "parked", d));
    }
    if let Some(d) = contains_any(&text, CLOSURE) {
        return Some((Outcome::Hard, "closure_wording", d));
    }
    if let Some(d) = contains_any(&text, BOT_WALL) {
        return Some((Outcome::Unverifiable, "bot_challenge", d));
    }
    // A "not found" page served with 200: look where a page names itself.
    let head: String = text.chars().take(2000).collect();
    if let Some(d) = contains_any(&head, SOFT_404) {
        return Some((Outcome::Hard, "soft_404", d));
    }
    None
}

/// Whether a redirect chain means the page lives elsewhere now.
fn moved(original: &Url, hops: &[Hop], final_url: &Url) -> Option<&'static str> {
    let same_place = |a: &Url, b: &Url| {
        a.host_str() == b.host_str()
            && a.path().trim_end_matches('/') == b.path().trim_end_matches('/')
            && a.query() == b.query()
    };
    if hops.is_empty() || same_place(original, final_url) {
        // No redirect, or only http→https / a trailing slash: nothing to change.
        return None;
    }
    let strip_www = |h: Option<&str>| h.unwrap_or("").trim_start_matches("www.").to_string();
    if strip_www(original.host_str()) != strip_www(final_url.host_str()) {
        return Some("moved_domain");
    }
    if !original.path().trim_end_matches('/').is_empty() && final_url.path() == "/" {
        return Some("moved_home");
    }
    if hops.iter().any(|h| h.status == 301 || h.status == 308) {
        return Some("moved_permanently");
    }
    None
}

pub(crate) fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

impl Checker {
    /// A checker with its HTTP client built for these settings.
    pub fn new(settings: CheckSettings) -> anyhow::Result<Self> {
        install_tls_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(settings.user_agent.clone())
            .pool_max_idle_per_host(1)
            .build()?;
        Ok(Self {
            client,
            settings,
            gate: HostGate::default(),
        })
    }

    /// One GET through the host gate: waits its turn and the interval, reads at most
    /// `max_body_bytes`.
    async fn fetch(
        &self,
        url: &Url,
    ) -> Result<(reqwest::StatusCode, Option<Url>, Option<Duration>, String), reqwest::Error> {
        let slot = self.gate.slot(&host_key(url));
        let mut last = slot.lock().await;
        if let Some(at) = *last {
            let wait = self.settings.host_interval.saturating_sub(at.elapsed());
            tokio::time::sleep(wait).await;
        }
        let result = async {
            let mut resp = self.client.get(url.clone()).send().await?;
            let status = resp.status();
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok());
            let after = retry_after(&resp);
            let mut body = Vec::new();
            if status.is_success() {
                while body.len() < self.settings.max_body_bytes {
                    match resp.chunk().await? {
                        Some(c) => body.extend_from_slice(&c),
                        None => break,
                    }
                }
            }
            body.truncate(self.settings.max_body_bytes);
            Ok((
                status,
                location,
                after,
                String::from_utf8_lossy(&body).into_owned(),
            ))
        }
        .await;
        *last = Some(Instant::now());
        result
    }

    /// Follows one URL's redirects and classifies where it ends.
    async fn attempt(&self, original: &Url) -> (CheckResult, Option<Duration>) {
        let started = Instant::now();
        let mut hops = Vec::new();
        let mut seen = HashSet::new();
        let mut current = original.clone();
        let done = |outcome, finding, status, hops: Vec<Hop>, final_url: Option<&Url>, detail| {
            CheckResult {
                url: original.to_string(),
                outcome,
                finding,
                status,
                hops,
                final_url: final_url.map(|u| u.to_string()),
                suggested_url: None,
                detail,
                attempts: 1,
                elapsed_ms: started.elapsed().as_millis() as u64,
            }
        };
        loop {
            seen.insert(current.to_string());
            let (status, location, after, body) = match self.fetch(&current).await {
                Ok(r) => r,
                Err(e) => {
                    let (outcome, finding, detail) = failure(&e);
                    return (
                        done(outcome, finding, None, hops, Some(&current), detail),
                        None,
                    );
                }
            };
            let code = status.as_u16();
            if status.is_redirection() {
                let Some(next) = location else {
                    return (
                        done(
                            Outcome::Unverifiable,
                            "redirect_loop",
                            Some(code),
                            hops,
                            Some(&current),
                            format!("{code} without a usable Location header"),
                        ),
                        None,
                    );
                };
                hops.push(Hop {
                    url: current.to_string(),
                    status: code,
                });
                if seen.contains(next.as_str()) {
                    return (
                        done(
                            Outcome::Unverifiable,
                            "redirect_loop",
                            Some(code),
                            hops,
                            Some(&next),
                            format!("redirects back to {next}"),
                        ),
                        None,
                    );
                }
                if hops.len() >= self.settings.max_redirects {
                    return (
                        done(
                            Outcome::Unverifiable,
                            "too_many_redirects",
                            Some(code),
                            hops,
                            Some(&next),
                            format!("more than {} redirects", self.settings.max_redirects),
                        ),
                        None,
                    );
                }
                current = next;
                continue;
            }
            let (outcome, finding, detail) = match code {
                200..=299 => match classify_page(&body) {
                    Some(found) => found,
                    None => match moved(original, &hops, &current) {
                        Some(m) => (Outcome::Moved, m, format!("now at {current}")),
                        None => (Outcome::Ok, "ok", format!("{code}")),
                    },
                },
                404 => (Outcome::Hard, "not_found", "404 Not Found".into()),
                410 => (Outcome::Hard, "gone", "410 Gone".into()),
                401 => (
                    Outcome::Unverifiable,
                    "auth_required",
                    "401: needs a login".into(),
                ),
                403 => (
                    Outcome::Unverifiable,
                    "forbidden",
                    "403: the site refuses checkers".into(),
                ),
                429 => (
                    Outcome::Transient,
                    "rate_limited",
                    "429 Too Many Requests".into(),
                ),
                500..=599 => (
                    Outcome::Transient,
                    "server_error",
                    format!("{code} server error"),
                ),
                _ => (
                    Outcome::Unverifiable,
                    "unexpected_status",
                    format!("{code}"),
                ),
            };
            let mut result = done(outcome, finding, Some(code), hops, Some(&current), detail);
            if outcome == Outcome::Moved {
                result.suggested_url = result.final_url.clone();
            }
            return (result, after.filter(|_| code == 429));
        }
    }

    /// Checks one URL, retrying transient failures with growing pauses (or as long as
    /// `Retry-After` asks, within `max_retry_after`).
    pub async fn check(&self, url: &str) -> CheckResult {
        let parsed = match Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
            _ => {
                return CheckResult {
                    url: url.to_string(),
                    outcome: Outcome::Hard,
                    finding: "bad_url",
                    status: None,
                    hops: Vec::new(),
                    final_url: None,
                    suggested_url: None,
                    detail: "not an http(s) URL".into(),
                    attempts: 0,
                    elapsed_ms: 0,
                };
            }
        };
        // RFC 6761: names under .invalid never resolve.
        if parsed
            .host_str()
            .is_some_and(|h| h.trim_end_matches('.').ends_with(".invalid"))
        {
            return CheckResult {
                url: url.to_string(),
                outcome: Outcome::Hard,
                finding: "no_such_domain",
                status: None,
                hops: Vec::new(),
                final_url: None,
                suggested_url: None,
                detail: format!("{} does not exist", parsed.host_str().unwrap_or("")),
                attempts: 1,
                elapsed_ms: 0,
            };
        }
        let mut attempts = 0;
        let mut pause = self.settings.retry_backoff;
        loop {
            attempts += 1;
            let (mut result, retry_after) = self.attempt(&parsed).await;
            result.attempts = attempts;
            if result.outcome != Outcome::Transient || attempts > self.settings.max_retries {
                return result;
            }
            let wait = match retry_after {
                Some(w) if w > self.settings.max_retry_after => {
                    result.detail = format!(
                        "{}; asked to come back after {}s",
                        result.detail,
                        w.as_secs()
                    );
                    return result;
                }
                Some(w) => w,
                None => pause,
            };
            tokio::time::sleep(wait).await;
            pause *= 2;
        }
    }

    /// Checks every URL once (duplicates are checked once), hosts in parallel, each host
    /// one request at a time. `each` sees every result as it comes.
    pub async fn check_all(
        self: &Arc<Self>,
        urls: Vec<String>,
        each: impl Fn(&CheckResult) + Send + Sync + 'static,
    ) -> Vec<CheckResult> {
        let mut by_host: HashMap<String, Vec<String>> = HashMap::new();
        let mut seen = HashSet::new();
        for u in urls {
            if !seen.insert(u.clone()) {
                continue;
            }
            let key = Url::parse(&u).map(|p| host_key(&p)).unwrap_or_default();
            by_host.entry(key).or_default().push(u);
        }
        let limit = Arc::new(Semaphore::new(self.settings.hosts_at_once.max(1)));
        let each = Arc::new(each);
        let tasks: Vec<_> = by_host
            .into_values()
            .map(|urls| {
                let this = self.clone();
                let limit = limit.clone();
                let each = each.clone();
                tokio::spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    let mut out = Vec::with_capacity(urls.len());
                    for u in urls {
                        let r = this.check(&u).await;
                        each(&r);
                        out.push(r);
                    }
                    out
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap_or_default());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_that_say_they_are_gone() {
        assert_eq!(
            classify_page("<h1>This domain is for sale!</h1>").map(|c| c.1),
            Some("parked")
        );
        assert_eq!(
            classify_page("<p>Sadly this service has closed.</p>").map(|c| c.1),
            Some("closure_wording")
        );
        assert_eq!(
            classify_page("<title>Page not found</title>").map(|c| c.1),
            Some("soft_404")
        );
        assert_eq!(
            classify_page("<title>Just a moment...</title>").map(|c| c.1),
            Some("bot_challenge")
        );
        assert_eq!(classify_page("<h1>Welcome to the food bank</h1>"), None);
    }

    #[test]
    fn what_counts_as_moved() {
        let u = |s: &str| Url::parse(s).unwrap();
        let hop = |s: u16| {
            vec![Hop {
                url: "x".into(),
                status: s,
            }]
        };
        assert_eq!(
            moved(&u("http://a.org/x"), &hop(301), &u("https://a.org/x")),
            None
        );
        assert_eq!(
            moved(&u("https://a.org/x"), &hop(302), &u("https://a.org/x/")),
            None
        );
        assert_eq!(
            moved(&u("https://a.org/x"), &hop(302), &u("https://b.org/x")),
            Some("moved_domain")
        );
        assert_eq!(
            moved(
                &u("https://a.org/services/x"),
                &hop(302),
                &u("https://a.org/")
            ),
            Some("moved_home")
        );
        assert_eq!(
            moved(&u("https://a.org/x"), &hop(301), &u("https://a.org/y")),
            Some("moved_permanently")
        );
        assert_eq!(
            moved(&u("https://a.org/x"), &hop(302), &u("https://a.org/y")),
            None
        );
    }
}
