//! Builds the application: storage, index, demo data and the HTTP server, bound first so
//! tests can ask for port 0 and read the port back.

use crate::api;
pub use crate::api::{AppState, ReminderJobSettings};
use crate::directory::Directory;
use crate::search::{SearchIndex, SearchSettings};
use crate::storage::Store;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything `serve` needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address and port to listen on, e.g. `127.0.0.1:8080`; port 0 picks a free port.
    pub bind: String,
    /// `sqlite:PATH` (created on first run) or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// Folder of the search index, rebuilt from the database when missing.
    pub index_dir: PathBuf,
    /// Load the demo directory when the database has no services.
    pub demo: bool,
    /// With `demo`: a folder of reference files to load when none are loaded yet.
    pub geo_dir: Option<PathBuf>,
    /// Also accepted as an administrator's key (`admin-key`); None or empty for no such key.
    pub admin_key: Option<String>,
    /// How search polls, commits, ranks and warns, and the crisis contacts it reads out.
    pub search: SearchSettings,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// How often temporarily closed services whose reopening date has come are reopened.
    pub reopen_every: std::time::Duration,
    /// Scheduled link checking; `None` turns it off.
    pub link_check: Option<LinkCheckSettings>,
    /// Scheduled reminders to update contacts; `None` (no mail server, or the demo)
    /// sends nothing.
    pub reminders: Option<ReminderJobSettings>,
    /// Scheduled pulls of other directories' feeds; `None` turns them off.
    pub source_pull: Option<SourcePullSettings>,
    /// Requests a minute per caller; zeros turn them off.
    pub limits: crate::api::limits::LimitSettings,
    /// How long history, resolved reports and link checks are kept (purged every six hours).
    pub retention: crate::directory::retention::Retention,
}

/// When and how links are checked.
#[derive(Debug, Clone)]
pub struct LinkCheckSettings {
    /// Cron expression with seconds, in UTC, e.g. `0 0 3 * * *` for 03:00 every day.
    pub cron: String,
    /// Every URL is checked at least once in this many days.
    pub spread_days: u32,
    /// How each URL is visited: timeouts, redirects, pauses between requests to a host.
    pub check: crate::links::checker::CheckSettings,
    /// When a run of failures becomes a flag.
    pub policy: crate::links::policy::LinkPolicy,
}

/// When and how other directories' feeds are pulled.
#[derive(Debug, Clone)]
pub struct SourcePullSettings {
    /// Cron expression with seconds, in UTC, e.g. `0 15 * * * *` for every hour at :15.
    pub cron: String,
    /// How a feed is read: page size, pauses, timeouts, when a full pull is due.
    pub pull: crate::oruk::pulling::PullSettings,
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    /// The directory the server answers from, for callers that want it directly.
    pub directory: Directory,
    sweeper: tokio::task::AbortHandle,
    scheduler: Option<tokio_cron_scheduler::JobScheduler>,
    /// Becomes true once the application has stopped in order.
    stopped: tokio::sync::watch::Sender<bool>,
}

/// A job on a cron schedule that never runs twice at once in this process (a turn
/// that comes while the last is still running is skipped).
fn alone_on_schedule<F, Fut>(
    cron: &str,
    what: &'static str,
    run: F,
) -> anyhow::Result<tokio_cron_scheduler::Job>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let running = Arc::new(tokio::sync::Mutex::new(()));
    let run = Arc::new(run);
    tokio_cron_scheduler::Job::new_async(cron, move |_, _| {
        let (running, run) = (running.clone(), run.clone());
        Box::pin(async move {
            let Ok(_alone) = running.try_lock() else {
                tracing::info!(job = what, "still running; skipping this turn");
                return;
            };
            run().await;
        })
    })
    .with_context(|| {
        format!("'{cron}' is not a cron expression for the {what} (six fields, seconds first)")
    })
}

/// The link-check job: a cycle only in the replica that holds the lease.
fn link_check_job(
    directory: Directory,
    settings: LinkCheckSettings,
    holder: String,
) -> anyhow::Result<tokio_cron_scheduler::Job> {
    let checker = Arc::new(crate::links::checker::Checker::new(settings.check.clone())?);
    let cron = settings.cron.clone();
    alone_on_schedule(&cron, "link check", move || {
        let (directory, checker, settings, holder) = (
            directory.clone(),
            checker.clone(),
            settings.clone(),
            holder.clone(),
        );
        async move {
            let report = directory
                .check_links(&checker, &settings.policy, settings.spread_days, &holder)
                .await;
            match report {
                Ok(Some(r)) => tracing::info!(
                    urls = r.urls,
                    seconds = r.seconds,
                    flags_changed = r.flag_changes.len(),
                    "link check cycle done"
                ),
                Ok(None) => tracing::info!("another replica is checking links"),
                Err(e) => tracing::warn!(error = %e, "link check cycle failed"),
            }
        }
    })
}

/// The source-pull job: every source pulled, only in the replica that holds the lease.
fn source_pull_job(
    directory: Directory,
    settings: SourcePullSettings,
    holder: String,
) -> anyhow::Result<tokio_cron_scheduler::Job> {
    let cron = settings.cron.clone();
    alone_on_schedule(&cron, "source pull", move || {
        let (directory, settings, holder) = (directory.clone(), settings.clone(), holder.clone());
        async move {
            match directory
                .pull_sources(None, &settings.pull, &holder, false)
                .await
            {
                Ok(Some(reports)) => tracing::info!(sources = reports.len(), "source pulls done"),
                Ok(None) => tracing::info!("another replica is pulling sources"),
                Err(e) => tracing::warn!(error = %e, "source pulls failed"),
            }
        }
    })
}

/// The reminder job: a cycle only in the replica that holds the lease.
fn reminder_job(
    directory: Directory,
    settings: ReminderJobSettings,
    holder: String,
) -> anyhow::Result<tokio_cron_scheduler::Job> {
    let cron = settings.cron.clone();
    alone_on_schedule(&cron, "reminders", move || {
        let (directory, settings, holder) = (directory.clone(), settings.clone(), holder.clone());
        async move {
            match directory
                .run_reminders(&settings.mailer, &settings.reminders, &holder)
                .await
            {
                Ok(Some(r)) => tracing::info!(
                    sent = r.sent,
                    failed = r.failed,
                    escalated = r.escalated,
                    seconds = r.seconds,
                    "reminders done"
                ),
                Ok(None) => tracing::info!("another replica is sending reminders"),
                Err(e) => tracing::warn!(error = %e, "reminders failed"),
            }
        }
    })
}

/// Starts the scheduled jobs that are configured; `None` when none is.
async fn schedule(
    directory: &Directory,
    settings: &Settings,
) -> anyhow::Result<Option<tokio_cron_scheduler::JobScheduler>> {
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7());
    let mut jobs = Vec::new();
    if let Some(l) = &settings.link_check {
        jobs.push(link_check_job(
            directory.clone(),
            l.clone(),
            holder.clone(),
        )?);
    }
    if let Some(p) = &settings.source_pull {
        jobs.push(source_pull_job(
            directory.clone(),
            p.clone(),
            holder.clone(),
        )?);
    }
    if let Some(r) = &settings.reminders {
        jobs.push(reminder_job(directory.clone(), r.clone(), holder)?);
    }
    if jobs.is_empty() {
        return Ok(None);
    }
    let scheduler = tokio_cron_scheduler::JobScheduler::new().await?;
    for job in jobs {
        scheduler.add(job).await?;
    }
    scheduler.start().await?;
    Ok(Some(scheduler))
}

/// Reopens temporarily closed services on their date, and rereads how sources stand:
/// at start, then every `every`.
async fn reopen_loop(state: web::Data<AppState>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every.max(std::time::Duration::from_millis(50)));
    loop {
        tick.tick().await;
        match state.directory.reopen_due().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(services = n, "reopened services whose closure has ended"),
            Err(e) => tracing::warn!(error = %e, "checking for services to reopen failed"),
        }
        // Another replica's pulls change how sources stand.
        if let Err(e) = state.directory.refresh_source_health().await {
            tracing::warn!(error = %e, "could not read the sources' state");
        }
    }
}

/// Forgets what the retention settings no longer keep: at start, then every six hours.
async fn purge_loop(state: web::Data<AppState>, retention: crate::directory::retention::Retention) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(6 * 3600));
    loop {
        tick.tick().await;
        if let Err(e) = state.directory.purge_old(&retention).await {
            tracing::warn!(error = %e, "purging old history, reports and link checks failed");
        }
    }
}

/// Opens the database and applies migrations.
pub async fn open_store(database_url: &str) -> anyhow::Result<Arc<Store>> {
    let store = Store::connect(database_url).await?;
    store.migrate().await?;
    Ok(Arc::new(store))
}

/// Loads reference data for the demo from `dir` unless some is loaded already; without
/// files there, the demo's built-in Greater Manchester slice.
async fn load_demo_geo(store: &Store, dir: Option<&std::path::Path>) -> anyhow::Result<()> {
    if !store.geo_releases().await?.is_empty() {
        return Ok(());
    }
    let slice;
    let dir = match dir.filter(|d| !crate::reference_data::files_in(d).is_empty()) {
        Some(d) => d,
        None => {
            slice = crate::demo::geo_slice()?;
            tracing::info!("loading the demo's built-in Greater Manchester reference data");
            slice.path()
        }
    };
    for s in crate::reference_data::import_dir(store, dir, false).await? {
        tracing::info!(kind = s.kind.as_str(), rows = s.written, source = %s.source, "loaded reference data");
    }
    Ok(())
}

impl Application {
    /// Opens the database and the index, and binds the server, ready to run.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        // The risk model learns in the background while the rest starts; `/ready` says
        // 503 until it has, and a search that comes first waits for it.
        std::thread::spawn(crate::understand::risk_model::RiskModel::built_in);
        let store = open_store(&settings.database_url).await?;
        if settings.demo && store.count_services().await? == 0 {
            let report = crate::ndjson::load_demo(&store).await?;
            tracing::info!(services = report.imported, "loaded the demo directory");
        }
        if settings.demo {
            load_demo_geo(&store, settings.geo_dir.as_deref()).await?;
        }
        let index =
            SearchIndex::open(&settings.index_dir, store.clone(), settings.search.clone()).await?;
        let directory = Directory::new(store, index);
        let state = web::Data::new(AppState {
            directory: directory.clone(),
            admin_key_digest: settings
                .admin_key
                .as_deref()
                .filter(|k| !k.is_empty())
                .map(crate::domain::access::key_digest),
            search_settings: settings.search.clone(),
            source_pull: settings
                .source_pull
                .as_ref()
                .map(|p| p.pull.clone())
                .unwrap_or_default(),
            reminders: settings.reminders.clone(),
        });
        // Housekeeping, stopped with the application: reopening services whose closure
        // has ended, and draining the metrics' histogram samples (they wait in the
        // recorder until drained, scraped or not).
        let sweeper = tokio::spawn({
            let state = state.clone();
            let reopen_every = settings.reopen_every;
            let retention = settings.retention;
            async move {
                tokio::join!(
                    reopen_loop(state.clone(), reopen_every),
                    purge_loop(state, retention),
                    crate::telemetry::metrics_upkeep()
                );
            }
        });
        if let Err(e) = directory.refresh_source_health().await {
            tracing::warn!(error = %e, "could not read the sources' state");
        }
        let scheduler = schedule(&directory, &settings).await?;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding to {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let sessions = web::Data::new(crate::pages::session::Sessions::default());
        // The metrics recorder is installed before the first request is counted.
        crate::telemetry::metrics();
        let limits = web::Data::from(crate::api::limits::RateLimits::new(&settings.limits));
        let mut server = HttpServer::new(move || {
            // Called on each HTTP worker's own thread as it starts.
            yield_to_writes();
            App::new()
                .wrap(api::error_handlers())
                .wrap_fn(crate::api::limits::enforce)
                .wrap_fn(api::middleware::with_request_id)
                .wrap_fn(api::middleware::record_request)
                .wrap(tracing_actix())
                .app_data(state.clone())
                .app_data(sessions.clone())
                .app_data(limits.clone())
                .configure(api::routes)
                .configure(crate::pages::routes)
                .configure(crate::api::feed::routes)
                .default_service(web::to(not_found))
        })
        // Slow clients: a request's head must arrive within 10 s (else 408), an idle
        // kept-alive connection closes after 30 s.
        .client_request_timeout(std::time::Duration::from_secs(10))
        .client_disconnect_timeout(std::time::Duration::from_secs(2))
        .keep_alive(std::time::Duration::from_secs(30))
        .listen(listener)?;
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        Ok(Application {
            port,
            server: server.run(),
            directory,
            sweeper: sweeper.abort_handle(),
            scheduler,
            stopped: tokio::sync::watch::Sender::new(false),
        })
    }

    /// The port the server listens on (useful when it was bound to port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Something that stops this application from elsewhere.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            server: self.server.handle(),
            stopped: self.stopped.subscribe(),
        }
    }

    /// Serves until stopped: by a [`Stopper`], or by SIGTERM or SIGINT (Ctrl-C). Then,
    /// in order: no new connections, requests under way answered (up to 30 s), the
    /// scheduled jobs and housekeeping stopped, the index writer finished and its files
    /// flushed and marked as properly stopped, the database pool closed.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        tracing::info!("stopping");
        self.sweeper.abort();
        if let Some(mut s) = self.scheduler {
            let _ = s.shutdown().await;
        }
        self.directory.close().await;
        self.stopped.send_replace(true);
        tracing::info!("stopped");
        served
    }
}

/// Stops a running application from elsewhere, as SIGTERM would.
pub struct Stopper {
    server: actix_web::dev::ServerHandle,
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl Stopper {
    /// Stops the application and waits until it has stopped in order (see
    /// [`Application::run_until_stopped`]).
    pub async fn stop(mut self) {
        self.server.stop(true).await;
        let _ = self.stopped.wait_for(|stopped| *stopped).await;
    }
}

fn tracing_actix() -> actix_web::middleware::Logger {
    // The route, never the path or the query string: a search, an eligibility check or a
    // practice lookup carries the caller's words, postcode and GP practice there, and a
    // path no route matches (a guessed `/v1/gp-practices/P84004`) may carry them too.
    actix_web::middleware::Logger::new("%{method}xi %{route}xi %s %b %Dms id=%{x-request-id}o")
        .custom_request_replace("method", |req| req.method().to_string())
        .custom_request_replace("route", |req| {
            req.match_pattern()
                .unwrap_or_else(|| "(no such route)".to_string())
        })
        .exclude("/health")
}

async fn not_found() -> actix_web::HttpResponse {
    actix_web::HttpResponse::NotFound().finish()
}

/// How much lower an HTTP worker's scheduling priority is than the rest of the server's
/// threads (Linux `nice` steps).
const HTTP_WORKER_NICENESS: libc::c_int = 5;

/// Lowers the calling thread's scheduling priority a little, so that the threads that
/// apply a partner's update (the database's, the index writer's) run as soon as they
/// wake instead of waiting behind searches. Searches are many and short, a write is a
/// chain of a dozen hand-overs between threads: on two cores busy with 16 search clients
/// and 20 updates a second, an update's median went from 35 to 25 ms and its 99th
/// percentile from 77–125 to 46–70 ms, with search throughput unchanged. When the
/// cores are not contended, priority changes nothing.
fn yield_to_writes() {
    thread_local! {
        static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    // The app factory may run more than once on a thread; lower its priority once.
    if LOWERED.replace(true) {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority only read their arguments; with PRIO_PROCESS and a
    // thread id, Linux applies the priority to that one thread.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        if libc::setpriority(libc::PRIO_PROCESS, tid, now + HTTP_WORKER_NICENESS) != 0 {
            tracing::debug!("could not lower the HTTP worker's priority");
        }
    }
}
