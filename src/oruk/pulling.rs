//! Reading another directory's feed politely, page by page: one request at a time with a
//! pause between them, `Retry-After` honoured, pages and bodies bounded, and the
//! envelope's counts used only as a hint (a page that comes back empty, says it is the
//! last, or runs past `total_pages` ends the walk).

use crate::links::checker::{install_tls_provider, retry_after};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// How a pull reads a feed; every default is named here.
#[derive(Debug, Clone)]
pub struct PullSettings {
    /// Items asked for per page.
    pub per_page: u32,
    /// Pause between two requests to the source.
    pub pause: Duration,
    /// How long connecting to the source may take.
    pub connect_timeout: Duration,
    /// For one request, body included.
    pub request_timeout: Duration,
    /// A walk stops with an error after this many pages.
    pub max_pages: u32,
    /// A page larger than this is refused.
    pub max_page_bytes: usize,
    /// Further attempts after a 429/503 or a failed connection.
    pub retries: u32,
    /// The longest `Retry-After` waited for; longer fails the pull (tried next time).
    pub max_retry_after: Duration,
    /// Walk every record (and so notice vanished ones) when the last full walk is older.
    pub full_every: chrono::Duration,
    /// Sent with every request: who is reading, and where to complain.
    pub user_agent: String,
}

impl Default for PullSettings {
    fn default() -> Self {
        Self {
            per_page: 500,
            pause: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_pages: 10_000,
            max_page_bytes: 32 * 1024 * 1024,
            retries: 2,
            max_retry_after: Duration::from_secs(120),
            full_every: chrono::Duration::hours(24),
            user_agent: format!(
                "signpost-feed-reader/{} (reads Open Referral UK feeds for NHS Talking Therapies signposting; +https://github.com/signpost-directory/signpost)",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// Why a walk stopped early.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// No answer, or busy (429/503) beyond the retries; carries what happened.
    #[error("{0}")]
    Unreachable(String),
    /// The source answered with an error status.
    #[error("{url} answered {status}")]
    Status {
        /// The URL asked for.
        url: String,
        /// The HTTP status it answered with.
        status: u16,
    },
    /// The answer was not an Open Referral UK page.
    #[error("{url} is not an Open Referral UK page: {why}")]
    Garbage {
        /// The URL asked for.
        url: String,
        /// What was wrong with the answer, e.g. "no 'contents' list".
        why: String,
    },
    /// A page larger than allowed, or more pages than allowed; carries which.
    #[error("{0}")]
    TooLarge(String),
}

/// One page of services read.
pub struct Page {
    /// The page's number, from 1.
    pub number: u32,
    /// The page's services as the source sent them, not yet read.
    pub services: Vec<Value>,
    /// The source says (or its counts suggest) nothing follows.
    pub last: bool,
}

/// Reads pages of one feed's `/services`.
pub struct FeedClient {
    client: reqwest::Client,
    settings: PullSettings,
    base: Url,
    last_request: Option<std::time::Instant>,
    /// Requests made, for the pull's report.
    pub requests: u32,
}

impl FeedClient {
    /// A reader of the feed at `base` (the URL whose `/services` lists its services).
    pub fn new(base: &str, settings: PullSettings) -> anyhow::Result<Self> {
        install_tls_provider();
        let mut base =
            Url::parse(base).map_err(|e| anyhow::anyhow!("the source URL {base:?}: {e}"))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(settings.user_agent.clone())
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()?;
        Ok(Self {
            client,
            settings,
            base,
            last_request: None,
            requests: 0,
        })
    }

    /// The URL of page `number` of `/services`, changed since `after` when given.
    pub fn page_url(&self, number: u32, after: Option<DateTime<Utc>>) -> Url {
        let mut url = self.base.join("services").expect("a relative path joins");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("page", &number.to_string())
                .append_pair("per_page", &self.settings.per_page.to_string())
                .append_pair("full", "true");
            if let Some(after) = after {
                q.append_pair(
                    "modified_after",
                    &after.to_rfc3339_opts(SecondsFormat::Secs, true),
                );
            }
        }
        url
    }

    /// One service, fully nested (for list items that leave out their organisation).
    pub async fn service(&mut self, id: &str) -> Result<Value, PullError> {
        let mut url = self.base.join("services/").expect("a relative path joins");
        url.path_segments_mut()
            .map_err(|_| PullError::Unreachable("the source URL cannot have a path".into()))?
            .pop_if_empty()
            .push(id);
        self.get_json(&url).await
    }

    /// Reads one page; `None` once the walk has ended.
    pub async fn page(
        &mut self,
        number: u32,
        after: Option<DateTime<Utc>>,
    ) -> Result<Option<Page>, PullError> {
        if number > self.settings.max_pages {
            return Err(PullError::TooLarge(format!(
                "the source has more than {} pages of {}",
                self.settings.max_pages, self.settings.per_page
            )));
        }
        let url = self.page_url(number, after);
        let body = self.get_json(&url).await?;
        let garbage = |why: &str| PullError::Garbage {
            url: url.to_string(),
            why: why.to_string(),
        };
        let says_last = body.get("last_page").and_then(Value::as_bool);
        let total_pages = body.get("total_pages").and_then(Value::as_u64);
        let contents = match body {
            Value::Object(mut o) => match o.remove("contents") {
                Some(Value::Array(items)) => items,
                _ => return Err(garbage("no 'contents' list")),
            },
            Value::Array(items) => items,
            _ => return Err(garbage("neither a page nor a list")),
        };
        if contents.is_empty() {
            return Ok(None);
        }
        let last = match (says_last, total_pages) {
            (Some(last), _) => last,
            (None, Some(total)) => u64::from(number) >= total,
            (None, None) => contents.len() < self.settings.per_page as usize,
        };
        Ok(Some(Page {
            number,
            services: contents,
            last,
        }))
    }

    async fn get_json(&mut self, url: &Url) -> Result<Value, PullError> {
        let mut attempt = 0;
        loop {
            if let Some(at) = self.last_request {
                tokio::time::sleep(self.settings.pause.saturating_sub(at.elapsed())).await;
            }
            self.last_request = Some(std::time::Instant::now());
            self.requests += 1;
            let outcome = self.fetch(url).await;
            let wait = match &outcome {
                Err(Fetch::Busy(after)) => *after,
                Err(Fetch::Connection(_)) => None,
                _ => break Self::finish(url, outcome),
            };
            attempt += 1;
            let wait = wait.unwrap_or(Duration::from_secs(1) * 2u32.pow(attempt.min(6)));
            if attempt > self.settings.retries || wait > self.settings.max_retry_after {
                break Self::finish(url, outcome);
            }
            tokio::time::sleep(wait).await;
        }
    }

    fn finish(url: &Url, outcome: Result<Value, Fetch>) -> Result<Value, PullError> {
        outcome.map_err(|e| match e {
            Fetch::Busy(after) => PullError::Unreachable(format!(
                "{url} is busy (429/503){}",
                after.map_or(String::new(), |a| format!(
                    " and asks to wait {} s",
                    a.as_secs()
                ))
            )),
            Fetch::Connection(why) => PullError::Unreachable(format!("{url}: {why}")),
            Fetch::Failed(e) => e,
        })
    }

    async fn fetch(&self, url: &Url) -> Result<Value, Fetch> {
        let mut resp = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| Fetch::Connection(describe(&e)))?;
        let status = resp.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::SERVICE_UNAVAILABLE
        {
            return Err(Fetch::Busy(retry_after(&resp)));
        }
        if !status.is_success() {
            return Err(Fetch::Failed(PullError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            }));
        }
        let limit = self.settings.max_page_bytes;
        if resp.content_length().is_some_and(|n| n as usize > limit) {
            return Err(Fetch::Failed(PullError::TooLarge(format!(
                "{url} is larger than {limit} bytes"
            ))));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| Fetch::Connection(describe(&e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                return Err(Fetch::Failed(PullError::TooLarge(format!(
                    "{url} is larger than {limit} bytes"
                ))));
            }
        }
        serde_json::from_slice(&body).map_err(|e| {
            Fetch::Failed(PullError::Garbage {
                url: url.to_string(),
                why: format!("not JSON ({e})"),
            })
        })
    }
}

enum Fetch {
    /// 429 or 503, with how long it asks to wait.
    Busy(Option<Duration>),
    Connection(String),
    Failed(PullError),
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        let mut s = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            s.push_str(&format!(": {inner}"));
            source = inner.source();
        }
        s
    }
}
