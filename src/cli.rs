//! The command line: serve, migrate, import, export, demo, reindex, geo, keys.

use crate::directory::reminders::ReminderSettings;
use crate::directory::retention::Retention;
use crate::directory::{DirectoryError, KeyInput, LexiconInput, issue_key, store_lexicon_entry};
use crate::domain::access::Principal;
use crate::domain::access::Role;
use crate::domain::fields::Name;
use crate::geo::reference::GeoKind;
use crate::links::checker::{CheckSettings, Checker};
use crate::links::policy::LinkPolicy;
use crate::mail::{Mailer, SmtpSettings};
use crate::oruk::pulling::PullSettings;
use crate::reference_data;
use crate::search::{CrisisContact, SearchIndex, SearchSettings, default_crisis_contacts};
use crate::startup::{
    Application, LinkCheckSettings, ReminderJobSettings, Settings, SourcePullSettings, open_store,
};
use crate::understand::{Lexicon, normalise, understand};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

/// signpost: a directory of local community services for NHS Talking Therapies signposting.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub retention: RetentionArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct StorageArgs {
    /// Database: sqlite:PATH (created on first run) or postgres://user:pass@host/db.
    #[arg(
        long,
        global = true,
        env = "SIGNPOST_DATABASE_URL",
        default_value = "sqlite://data/signpost.db"
    )]
    pub database_url: String,
    /// Folder for the search index (rebuilt from the database when missing).
    #[arg(
        long,
        global = true,
        env = "SIGNPOST_INDEX_DIR",
        default_value = "index"
    )]
    pub index_dir: PathBuf,
}

/// How long history, resolved reports and link checks are kept, for `serve` (which purges
/// every six hours) and `purge`.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Days a change's history (who changed what, when) is kept; 0 keeps it for good.
    #[arg(
        long,
        global = true,
        env = "SIGNPOST_HISTORY_RETENTION_DAYS",
        default_value_t = 0
    )]
    pub history_retention_days: u32,
    /// Days a navigator's report is kept once resolved; 0 keeps it for good.
    #[arg(
        long,
        global = true,
        env = "SIGNPOST_RESOLVED_REPORT_RETENTION_DAYS",
        default_value_t = 730
    )]
    pub resolved_report_retention_days: u32,
    /// Days each link check's evidence is kept (each link's current state stays); 0
    /// keeps it for good.
    #[arg(
        long,
        global = true,
        env = "SIGNPOST_LINK_CHECK_RETENTION_DAYS",
        default_value_t = 365
    )]
    pub link_check_retention_days: u32,
}

impl RetentionArgs {
    pub fn retention(&self) -> Retention {
        Retention {
            history_days: self.history_retention_days,
            resolved_report_days: self.resolved_report_retention_days,
            link_check_days: self.link_check_retention_days,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve(Box<ServeArgs>),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Delete the history, resolved reports and link checks older than the retention
    /// settings now (a running server does this every six hours), and print how many.
    Purge,
    /// Copy a SQLite database into a new file while the server runs (restore: serve with
    /// --database-url pointing at the copy; the index rebuilds itself). PostgreSQL: pg_dump.
    Backup {
        /// The new file.
        file: PathBuf,
    },
    /// Import services from an NDJSON file ("-" for standard input); valid lines are kept.
    Import {
        /// The file to read.
        file: PathBuf,
        /// `ndjson` (signpost's own records) or `oruk` (an Open Referral UK / HSDS 3.0
        /// page, list, single service or NDJSON, from another directory).
        #[arg(long, default_value = "ndjson", value_parser = ["ndjson", "oruk"])]
        format: String,
    },
    /// Write every service as NDJSON to standard output (or --output).
    Export {
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Write the built-in demo directory as NDJSON to standard output.
    Demo,
    /// Rebuild the search index from the database (the server must be stopped; a running
    /// server rebuilds with POST /v1/admin/reindex).
    Reindex,
    /// Reference data for eligibility: GP practices, networks, postcodes.
    #[command(subcommand)]
    Geo(GeoCommand),
    /// API keys: create (the secret is shown once), list, revoke.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Run a link-check cycle now (waits if a server is running one), with a progress
    /// bar and a summary.
    CheckLinks(LinkArgs),
    /// The lexicon that reads callers' words: add an entry, list added entries, or show
    /// how a question is understood.
    #[command(subcommand)]
    Lexicon(LexiconCommand),
    /// Other directories' Open Referral UK feeds: add one, list them, pull now.
    #[command(subcommand)]
    Sources(SourcesCommand),
    /// Reminders to the people who keep entries current.
    #[command(subcommand)]
    Reminders(RemindersCommand),
}

#[derive(Debug, Subcommand)]
pub enum RemindersCommand {
    /// Run a reminder cycle now and print what it did (the server must be stopped; a
    /// running server sends on its schedule).
    Run {
        /// Write the emails as .eml files into this folder instead of sending them.
        #[arg(long)]
        dry_run: Option<PathBuf>,
        #[command(flatten)]
        mail: MailArgs,
    },
}

/// How reminders are sent and what their links point at, for `serve` and `reminders run`.
#[derive(Debug, Args)]
pub struct MailArgs {
    /// The SMTP server reminders go through; without one, none are sent.
    #[arg(long, env = "SIGNPOST_SMTP_HOST")]
    pub smtp_host: Option<String>,
    #[arg(long, env = "SIGNPOST_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    #[arg(
        long,
        env = "SIGNPOST_SMTP_SECURITY",
        value_enum,
        default_value = "starttls"
    )]
    pub smtp_security: crate::mail::SmtpSecurity,
    #[arg(long, env = "SIGNPOST_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    #[arg(long, env = "SIGNPOST_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// Who reminders come from (replies go there).
    #[arg(
        long,
        env = "SIGNPOST_MAIL_FROM",
        default_value = "signpost <signpost@localhost>"
    )]
    pub mail_from: String,
    /// The address people reach this service at, for the links in reminders.
    #[arg(
        long,
        env = "SIGNPOST_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
    /// Days before an organisation may be reminded again.
    #[arg(long, env = "SIGNPOST_REMINDER_INTERVAL_DAYS", default_value_t = 14)]
    pub reminder_interval_days: i64,
    /// Unanswered reminders in a row before the administrators' review queue is asked.
    #[arg(long, env = "SIGNPOST_REMINDER_ESCALATE_AFTER", default_value_t = 3)]
    pub reminder_escalate_after: u32,
    /// Days a link in a reminder works.
    #[arg(long, env = "SIGNPOST_REMINDER_LINK_DAYS", default_value_t = 21)]
    pub reminder_link_days: i64,
}

impl MailArgs {
    pub fn reminder_settings(&self) -> ReminderSettings {
        ReminderSettings {
            min_interval: chrono::Duration::days(self.reminder_interval_days.max(0)),
            escalate_after: self.reminder_escalate_after.max(1),
            link_valid_for: chrono::Duration::days(self.reminder_link_days.max(1)),
            public_url: self.public_url.clone(),
        }
    }

    /// Where reminders go: the folder of a dry run, else the SMTP server; `None` when
    /// neither is given.
    pub fn mailer(&self, dry_run: Option<PathBuf>) -> anyhow::Result<Option<Mailer>> {
        if let Some(dir) = dry_run {
            return Ok(Some(Mailer::folder(dir, &self.mail_from)?));
        }
        let Some(host) = &self.smtp_host else {
            return Ok(None);
        };
        Ok(Some(Mailer::smtp(
            &SmtpSettings {
                host: host.clone(),
                port: self.smtp_port,
                security: self.smtp_security,
                username: self.smtp_username.clone(),
                password: self.smtp_password.clone(),
                timeout: std::time::Duration::from_secs(30),
            },
            &self.mail_from,
        )?))
    }
}

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Register another directory's feed; a server pulls it on its schedule.
    Add {
        /// What navigators will see as the record's origin, e.g. "Bolton Council".
        name: String,
        /// The feed's base URL, whose /services lists its services, e.g.
        /// https://example.org/oruk
        url: String,
    },
    /// The sources and how their pulls went.
    List,
    /// Pull now (the server must be stopped; a running server pulls on its schedule or
    /// with POST /v1/admin/sources/{id}/pull).
    Pull {
        /// Only this source (name or id).
        name: Option<String>,
        /// Read every record (and so notice vanished ones) even if a changes-only pull
        /// is due.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        pull: PullArgs,
    },
}

/// How other directories' feeds are read, for `serve` and `sources pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Services asked for per page.
    #[arg(
        long = "source-per-page",
        env = "SIGNPOST_SOURCE_PER_PAGE",
        default_value_t = 500
    )]
    pub source_per_page: u32,
    /// Milliseconds between two requests to a source.
    #[arg(
        long = "source-pause-ms",
        env = "SIGNPOST_SOURCE_PAUSE_MS",
        default_value_t = 250
    )]
    pub source_pause_ms: u64,
    /// Seconds one request may take.
    #[arg(
        long = "source-timeout-secs",
        env = "SIGNPOST_SOURCE_TIMEOUT_SECS",
        default_value_t = 60
    )]
    pub source_timeout_secs: u64,
    /// Hours between pulls that read every record (and so notice vanished ones); the
    /// pulls between ask only for what changed.
    #[arg(
        long = "source-full-every-hours",
        env = "SIGNPOST_SOURCE_FULL_EVERY_HOURS",
        default_value_t = 24
    )]
    pub source_full_every_hours: i64,
}

impl PullArgs {
    pub fn pull_settings(&self) -> PullSettings {
        PullSettings {
            per_page: self.source_per_page.clamp(1, 1000),
            pause: std::time::Duration::from_millis(self.source_pause_ms),
            request_timeout: std::time::Duration::from_secs(self.source_timeout_secs.max(1)),
            full_every: chrono::Duration::hours(self.source_full_every_hours.max(0)),
            ..PullSettings::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum LexiconCommand {
    /// Add a phrase for a need (a running server uses it within a second).
    Add {
        /// A taxonomy category id, or "risk".
        #[arg(long)]
        need: String,
        /// How sure the phrase alone is of the need, above 0 and at most 1.
        #[arg(long, default_value_t = 1.0)]
        confidence: f32,
        /// The phrase, in the lexicon's format (see src/understand/lexicon/README.md).
        phrase: String,
    },
    /// List the entries added at run time.
    List,
    /// Show the needs, risk and languages a question is understood to express.
    Understand {
        /// The question, as a navigator would type it.
        question: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret (shown this once only).
    Create {
        /// Who or what the key is for, e.g. "Bolton Food Bank volunteers".
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// For partner keys: the organisation whose services the key may edit.
        #[arg(long)]
        organization: Option<uuid::Uuid>,
        /// Days until the key stops working.
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key: it stops working at once.
    Revoke {
        /// The key's id (key_…).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GeoCommand {
    /// Replace one kind of reference data with a file's contents (one transaction).
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        kind: GeoKind,
        /// The file, as NHS ODS / ONS publish it.
        file: PathBuf,
    },
    /// Import every reference file found in a folder laid out like ../shared/data/geo.
    ImportDir {
        /// The folder.
        dir: PathBuf,
    },
    /// List the reference data loaded.
    Status,
}

/// How links are checked, for `serve` and `check-links`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// Every URL is checked at least once in this many days.
    #[arg(
        long = "link-spread-days",
        env = "SIGNPOST_LINK_SPREAD_DAYS",
        default_value_t = 7
    )]
    pub spread_days: u32,
    /// Milliseconds between two requests to the same host.
    #[arg(
        long = "link-host-interval-ms",
        env = "SIGNPOST_LINK_HOST_INTERVAL_MS",
        default_value_t = 2000
    )]
    pub host_interval_ms: u64,
    /// Hosts checked at the same time (each one request at a time).
    #[arg(
        long = "link-hosts-at-once",
        env = "SIGNPOST_LINK_HOSTS_AT_ONCE",
        default_value_t = 32
    )]
    pub hosts_at_once: usize,
    /// Seconds a request may take.
    #[arg(
        long = "link-timeout-secs",
        env = "SIGNPOST_LINK_TIMEOUT_SECS",
        default_value_t = 20
    )]
    pub timeout_secs: u64,
}

impl LinkArgs {
    pub fn check_settings(&self) -> CheckSettings {
        CheckSettings {
            host_interval: std::time::Duration::from_millis(self.host_interval_ms),
            hosts_at_once: self.hosts_at_once,
            request_timeout: std::time::Duration::from_secs(self.timeout_secs.max(1)),
            ..CheckSettings::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "SIGNPOST_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Requests a minute from one client address without an API key (0: no limit).
    #[arg(long, env = "SIGNPOST_RATE_LIMIT_PER_MINUTE", default_value_t = 3000)]
    pub rate_limit_per_minute: u32,
    /// Requests a minute with one API key (0: no limit).
    #[arg(
        long,
        env = "SIGNPOST_KEY_RATE_LIMIT_PER_MINUTE",
        default_value_t = 6000
    )]
    pub key_rate_limit_per_minute: u32,
    /// A reverse proxy whose X-Forwarded-For is believed (repeat for several).
    #[arg(long, env = "SIGNPOST_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Vec<std::net::IpAddr>,
    /// Load the demo directory when the database has no services.
    #[arg(long, env = "SIGNPOST_DEMO")]
    pub demo: bool,
    /// With --demo: load GP practice and postcode reference files from this folder when
    /// none are loaded (see `signpost geo import-dir`).
    #[arg(long, env = "SIGNPOST_GEO_DIR", default_value = "../shared/data/geo")]
    pub geo_dir: PathBuf,
    /// The administrator API key for writes; without one, writes are refused.
    #[arg(long, env = "SIGNPOST_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// HTTP worker threads (0 = one per core).
    #[arg(long, env = "SIGNPOST_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// Days after which capacity counts as unknown.
    #[arg(long, env = "SIGNPOST_CAPACITY_STALE_DAYS", default_value_t = 90)]
    pub capacity_stale_days: i64,
    /// Days after which an entry not confirmed as accurate gets a warning.
    #[arg(long, env = "SIGNPOST_VERIFY_STALE_DAYS", default_value_t = 183)]
    pub verify_stale_days: i64,
    /// When to check service links: cron with seconds, UTC ("off" to disable). Default
    /// 03:00 every day; off with --demo, whose made-up websites are not worth visiting.
    #[arg(long, env = "SIGNPOST_LINK_CHECK_CRON")]
    pub link_check_cron: Option<String>,
    #[command(flatten)]
    pub links: LinkArgs,
    /// When to pull other directories' feeds (see `signpost sources`): cron with
    /// seconds, UTC ("off" to disable). Default every hour at a quarter past.
    #[arg(
        long,
        env = "SIGNPOST_SOURCE_PULL_CRON",
        default_value = "0 15 * * * *"
    )]
    pub source_pull_cron: String,
    #[command(flatten)]
    pub pull: PullArgs,
    /// When reminders go to update contacts: cron with seconds, UTC ("off" to disable).
    /// Default 09:00 on Mondays; never with --demo, and only with --smtp-host.
    #[arg(long, env = "SIGNPOST_REMINDER_CRON", default_value = "0 0 9 * * Mon")]
    pub reminder_cron: String,
    #[command(flatten)]
    pub mail: MailArgs,
    /// Searches run at once (more wait their turn); 0 = one per core.
    #[arg(long, env = "SIGNPOST_MAX_SEARCHES", default_value_t = 0)]
    pub max_searches: usize,
    /// Milliseconds between checks for changes written by other replicas.
    #[arg(long, env = "SIGNPOST_POLL_MS", default_value_t = 1000)]
    pub poll_ms: u64,
    /// A JSON file listing the crisis contacts the risk block reads out, each
    /// {"name", "phone", "when"}; default: NHS 111 option 2, Samaritans 116 123, 999.
    #[arg(long, env = "SIGNPOST_CRISIS_CONTACTS")]
    pub crisis_contacts: Option<PathBuf>,
    /// How many times a question must be asked before the search-gaps report shows it
    /// (at least 2).
    #[arg(long, env = "SIGNPOST_GAP_MIN_COUNT", default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..))]
    pub gap_min_count: u32,
}

/// Reads the crisis contacts file given to `serve`.
fn read_crisis_contacts(path: &std::path::Path) -> anyhow::Result<Vec<CrisisContact>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the crisis contacts {}", path.display()))?;
    let contacts: Vec<CrisisContact> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected a JSON list of {{\"name\", \"phone\", \"when\"}}",
            path.display()
        )
    })?;
    anyhow::ensure!(
        !contacts.is_empty(),
        "{}: list at least one crisis contact",
        path.display()
    );
    Ok(contacts)
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let storage = cli.storage;
    match cli.command {
        Command::Serve(args) => {
            let settings = Settings {
                bind: args.bind,
                database_url: storage.database_url,
                index_dir: storage.index_dir,
                demo: args.demo,
                geo_dir: Some(args.geo_dir),
                admin_key: args.admin_key,
                workers: args.workers,
                reopen_every: std::time::Duration::from_secs(3600),
                retention: cli.retention.retention(),
                limits: crate::api::limits::LimitSettings {
                    per_address_per_minute: args.rate_limit_per_minute,
                    per_key_per_minute: args.key_rate_limit_per_minute,
                    trusted_proxies: args.trusted_proxy,
                },
                link_check: match args.link_check_cron.as_deref() {
                    Some("off") => None,
                    None if args.demo => None,
                    cron => Some(cron.unwrap_or("0 0 3 * * *").to_string()),
                }
                .map(|cron| LinkCheckSettings {
                    cron,
                    spread_days: args.links.spread_days,
                    check: args.links.check_settings(),
                    policy: LinkPolicy::default(),
                }),
                reminders: match args.mail.mailer(None)? {
                    Some(mailer) if !args.demo && args.reminder_cron != "off" => {
                        Some(ReminderJobSettings {
                            cron: args.reminder_cron.clone(),
                            reminders: args.mail.reminder_settings(),
                            mailer: std::sync::Arc::new(mailer),
                        })
                    }
                    _ => None,
                },
                source_pull: (args.source_pull_cron != "off").then(|| SourcePullSettings {
                    cron: args.source_pull_cron.clone(),
                    pull: args.pull.pull_settings(),
                }),
                search: SearchSettings {
                    poll_interval: std::time::Duration::from_millis(args.poll_ms.max(50)),
                    capacity_stale_after: chrono::Duration::days(args.capacity_stale_days),
                    verify_stale_after: chrono::Duration::days(args.verify_stale_days),
                    max_concurrent_searches: match args.max_searches {
                        0 => SearchSettings::default().max_concurrent_searches,
                        n => n,
                    },
                    crisis_contacts: match &args.crisis_contacts {
                        Some(path) => read_crisis_contacts(path)?,
                        None => default_crisis_contacts(),
                    },
                    gap_min_count: args.gap_min_count,
                },
            };
            let app = Application::build(settings.clone()).await?;
            tracing::info!(
                "signpost listening on http://{}:{} (database {}, index {})",
                settings
                    .bind
                    .rsplit_once(':')
                    .map_or("127.0.0.1", |(h, _)| h),
                app.port(),
                app.directory.backend_name(),
                settings.index_dir.display()
            );
            if settings.admin_key.is_none() {
                tracing::warn!("no --admin-key given: the directory is read-only");
            }
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            open_store(&storage.database_url).await?;
            eprintln!("database is up to date");
        }
        Command::Backup { file } => {
            let store = open_store(&storage.database_url).await?;
            store.backup_to(&file).await?;
            eprintln!("backed up into {}", file.display());
        }
        Command::Purge => {
            let store = open_store(&storage.database_url).await?;
            let retention = cli.retention.retention();
            let purged =
                crate::directory::retention::purge(&store, &retention, chrono::Utc::now()).await?;
            println!(
                "purged {} history rows, {} resolved reports, {} link checks",
                purged.history, purged.resolved_reports, purged.link_checks
            );
        }
        Command::Import { file, format } if format == "oruk" => {
            let store = open_store(&storage.database_url).await?;
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin().lock())?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            let done = crate::oruk::reading::import(&store, &text).await?;
            eprintln!(
                "imported {} services; rejected {} records",
                done.report.imported,
                done.report.rejected.len()
            );
            for (n, why) in done.report.rejected.iter().take(100) {
                eprintln!("  record {n}: rejected: {why}");
            }
            for (n, note) in done.notes.iter().take(200) {
                eprintln!("  record {n}: {note}");
            }
            if done.notes.len() > 200 {
                eprintln!("  … and {} more notes", done.notes.len() - 200);
            }
        }
        Command::Import { file, .. } => {
            let store = open_store(&storage.database_url).await?;
            let report = if file.as_os_str() == "-" {
                crate::ndjson::import(&store, std::io::stdin().lock(), None, true).await?
            } else {
                let f = std::fs::File::open(&file)
                    .with_context(|| format!("opening {}", file.display()))?;
                let size = f.metadata().ok().map(|m| m.len());
                crate::ndjson::import(&store, BufReader::new(f), size, true).await?
            };
            eprintln!(
                "imported {} services; rejected {} lines",
                report.imported,
                report.rejected.len()
            );
            for (line, why) in report.rejected.iter().take(100) {
                eprintln!("  line {line}: {why}");
            }
            if report.rejected.len() > 100 {
                eprintln!("  … and {} more", report.rejected.len() - 100);
            }
            eprintln!(
                "a running server makes them searchable within seconds; otherwise at its next start"
            );
            if !report.rejected.is_empty() {
                return Ok(ExitCode::from(2));
            }
        }
        Command::Export { output } => {
            let store = open_store(&storage.database_url).await?;
            let count = match output {
                Some(path) => {
                    let f = std::fs::File::create(&path)
                        .with_context(|| format!("creating {}", path.display()))?;
                    crate::ndjson::export(&store, &mut std::io::BufWriter::new(f)).await?
                }
                None => {
                    crate::ndjson::export(
                        &store,
                        &mut std::io::BufWriter::new(std::io::stdout().lock()),
                    )
                    .await?
                }
            };
            eprintln!("exported {count} services");
        }
        Command::Demo => {
            use std::io::Write;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for s in crate::demo::services() {
                writeln!(out, "{s}")?;
            }
            out.flush()?;
        }
        Command::Reindex => {
            let store = open_store(&storage.database_url).await?;
            let index =
                SearchIndex::open(&storage.index_dir, store, SearchSettings::default()).await?;
            let report = index.rebuild().await?;
            // Flushed and marked as properly stopped, so the next start need not check it.
            index.shutdown().await;
            eprintln!(
                "indexed {} services in {:.1}s (change log at {})",
                report.services, report.seconds, report.seq
            );
        }
        Command::Sources(command) => return sources(command, storage).await,
        Command::Reminders(RemindersCommand::Run { dry_run, mail }) => {
            let Some(mailer) = mail.mailer(dry_run)? else {
                anyhow::bail!(
                    "say where reminders go: --smtp-host (or SIGNPOST_SMTP_HOST), or --dry-run FOLDER"
                );
            };
            let directory = offline_directory(&storage, "it sends on its schedule").await?;
            let holder = format!("cli-{}", std::process::id());
            let report = directory
                .run_reminders(&mailer, &mail.reminder_settings(), &holder)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            directory.close().await;
            let Some(r) = report else {
                anyhow::bail!("another process is sending reminders right now; try again later");
            };
            println!(
                "{} organisations due: {} sent, {} written, {} failed (tried again next run), {} reminded too recently, {} escalated; {} services; {:.1}s",
                r.organizations_due,
                r.sent,
                r.written,
                r.failed,
                r.too_soon,
                r.escalated,
                r.services,
                r.seconds
            );
            if r.failed > 0 {
                return Ok(ExitCode::from(1));
            }
        }
        Command::CheckLinks(args) => {
            let store = open_store(&storage.database_url).await?;
            let checker = std::sync::Arc::new(Checker::new(args.check_settings())?);
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {pos} URLs checked {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            let tick = bar.clone();
            let holder = format!("cli-{}", std::process::id());
            let report = crate::links::run_cycle(
                &store,
                &checker,
                &LinkPolicy::default(),
                args.spread_days,
                &holder,
                move |r| {
                    tick.inc(1);
                    tick.set_message(format!("(last: {} {})", r.finding, r.url));
                },
            )
            .await?;
            bar.finish_and_clear();
            let Some(report) = report else {
                anyhow::bail!("another process is checking links right now; try again later");
            };
            println!("checked {} URLs in {:.1}s", report.urls, report.seconds);
            println!("{:<20} {:>6}", "outcome", "URLs");
            for (k, v) in &report.by_outcome {
                println!("{k:<20} {v:>6}");
            }
            println!("{:<20} {:>6}", "finding", "URLs");
            for (k, v) in &report.by_finding {
                println!("{k:<20} {v:>6}");
            }
            for (url, flag) in &report.flag_changes {
                println!("flag {:<16} {url}", flag.unwrap_or("cleared"));
            }
        }
        Command::Keys(keys) => {
            let store = open_store(&storage.database_url).await?;
            match keys {
                KeysCommand::Create {
                    name,
                    role,
                    organization,
                    expires_days,
                } => {
                    let input = KeyInput {
                        name: Name::parse(&name).map_err(anyhow::Error::msg)?,
                        role,
                        organization_id: organization,
                        expires_in_days: expires_days,
                    };
                    let (key, secret) = issue_key(&store, input).await.map_err(plain)?;
                    eprintln!(
                        "created {} ({}, {}); the secret is shown only now:",
                        key.id,
                        key.role.as_str(),
                        key.name
                    );
                    println!("{secret}");
                }
                KeysCommand::List => {
                    for k in store.list_keys().await? {
                        let state = match k.refusal(chrono::Utc::now()) {
                            Some(why) => why.trim_start_matches("this API key has "),
                            None => "active",
                        };
                        println!(
                            "{}  {:<9} {:<8} {}  {}",
                            k.id,
                            k.role.as_str(),
                            state,
                            k.organization_id.map(|o| o.to_string()).unwrap_or_default(),
                            k.name
                        );
                    }
                }
                KeysCommand::Revoke { id } => {
                    anyhow::ensure!(
                        store.revoke_key(&id, chrono::Utc::now()).await?,
                        "there is no key '{id}'"
                    );
                    eprintln!("revoked {id}");
                }
            }
        }
        Command::Lexicon(command) => run_lexicon(&storage, command).await?,
        Command::Geo(geo) => {
            let store = open_store(&storage.database_url).await?;
            let summaries = match geo {
                GeoCommand::Import { kind, file } => {
                    vec![reference_data::import_file(&store, kind, &file, true).await?]
                }
                GeoCommand::ImportDir { dir } => {
                    reference_data::import_dir(&store, &dir, true).await?
                }
                GeoCommand::Status => {
                    let releases = store.geo_releases().await?;
                    if releases.is_empty() {
                        eprintln!(
                            "no reference data loaded: eligibility by GP and local authority answers 'unknown'"
                        );
                    }
                    for r in releases {
                        println!(
                            "{:<10} {:>9} rows  {}  {}",
                            r.kind, r.rows, r.imported_at, r.source
                        );
                    }
                    Vec::new()
                }
            };
            for s in summaries {
                eprintln!(
                    "{:<10} {:>9} rows from {} ({} passed over){}",
                    s.kind.as_str(),
                    s.written,
                    s.source,
                    s.skipped,
                    s.note.map(|n| format!("; {n}")).unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A directory error as one line for the terminal.
fn plain(e: DirectoryError) -> anyhow::Error {
    match e {
        DirectoryError::Invalid(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn run_lexicon(storage: &StorageArgs, command: LexiconCommand) -> anyhow::Result<()> {
    match command {
        LexiconCommand::Add {
            need,
            confidence,
            phrase,
        } => {
            let store = open_store(&storage.database_url).await?;
            let input = LexiconInput {
                need,
                phrase,
                confidence,
            };
            let entry = store_lexicon_entry(&store, input, &Principal::system("cli"))
                .await
                .map_err(plain)?;
            eprintln!(
                "added {}: \"{}\" means {} (confidence {})",
                entry.id, entry.phrase, entry.need, entry.confidence
            );
        }
        LexiconCommand::List => {
            let store = open_store(&storage.database_url).await?;
            let lexicon = Lexicon::new(&store.lexicon_entries().await?)?;
            eprintln!(
                "{} phrases, {} wordings in the lexicon (the shipped files and the entries below)",
                lexicon.phrase_count(),
                lexicon.wording_count()
            );
            for e in store.stored_lexicon_entries().await? {
                println!(
                    "{}  {:<20} {:.2}  {}  ({} by {})",
                    e.id, e.need, e.confidence, e.phrase, e.created_at, e.created_by
                );
            }
        }
        LexiconCommand::Understand { question } => {
            let store = open_store(&storage.database_url).await?;
            let lexicon = Lexicon::new(&store.lexicon_entries().await?)?;
            let words = normalise(&question);
            let u = understand(&lexicon, &words);
            if !u.risk.is_empty() {
                println!("RISK: {}", u.risk.join("; "));
            }
            let model = crate::understand::risk_model::RiskModel::built_in().score(&words);
            println!(
                "risk model: {:.2} (raises at {:.2}; weighed most: {})",
                model.probability,
                crate::understand::risk_model::THRESHOLD,
                model.words.join(", ")
            );
            for n in &u.needs {
                println!(
                    "{:<22} {:.2}  ({})",
                    n.id,
                    n.confidence,
                    n.because.join("; ")
                );
            }
            for l in &u.languages {
                println!("language {} ({})", l.code, l.words);
            }
            if u.needs.is_empty() && u.risk.is_empty() && u.languages.is_empty() {
                println!("no need understood: search will look for the words themselves");
            }
        }
    }
    Ok(())
}

/// The directory for a command that needs the index as well as the database (the
/// server must be stopped: the index has one writer); `server_does` says what a running
/// server does instead.
async fn offline_directory(
    storage: &StorageArgs,
    server_does: &str,
) -> anyhow::Result<crate::directory::Directory> {
    let store = open_store(&storage.database_url).await?;
    let index = SearchIndex::open(&storage.index_dir, store.clone(), SearchSettings::default())
        .await
        .with_context(|| format!("opening the index (stop the server first: {server_does})"))?;
    Ok(crate::directory::Directory::new(store, index))
}

/// `signpost sources …`.
async fn sources(command: SourcesCommand, storage: StorageArgs) -> anyhow::Result<ExitCode> {
    match command {
        SourcesCommand::Add { name, url } => {
            let store = open_store(&storage.database_url).await?;
            let name = crate::domain::fields::Name::parse(&name)
                .map_err(|e| anyhow::anyhow!("the name: {e}"))?;
            let input = crate::directory::sources::SourceInput { name, url };
            let s = crate::directory::sources::register_source(&store, input)
                .await
                .map_err(|e| match e {
                    crate::directory::DirectoryError::Invalid(fields) => anyhow::anyhow!(
                        "{}",
                        fields
                            .iter()
                            .map(|f| format!("{}: {}", f.field, f.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    other => anyhow::anyhow!("{other}"),
                })?;
            println!(
                "added source {} ({}): {}; a running server pulls it on its schedule",
                s.name, s.id, s.url
            );
        }
        SourcesCommand::List => {
            for s in open_store(&storage.database_url).await?.sources().await? {
                println!(
                    "{}  {:<24} {:<8} {:>7} records  last good pull {}  {}",
                    s.id,
                    s.name,
                    s.state,
                    s.records,
                    s.last_success_at
                        .map_or("never".into(), |t| crate::storage::ts(&t)),
                    s.url
                );
                if let Some(e) = &s.last_error {
                    println!("    last error: {e}");
                }
            }
        }
        SourcesCommand::Pull { name, full, pull } => {
            let directory = offline_directory(&storage, "it pulls on its schedule").await?;
            let holder = format!("cli-{}", std::process::id());
            let reports = directory
                .pull_sources(name.as_deref(), &pull.pull_settings(), &holder, full)
                .await?;
            directory.close().await;
            let Some(reports) = reports else {
                anyhow::bail!("another process is pulling sources right now; try again later");
            };
            let mut failed = false;
            for r in &reports {
                println!(
                    "{}: {} pull, {} pages, {} new, {} changed, {} unchanged, {} vanished, {} possible duplicates, {} rejected, {:.1}s",
                    r.source,
                    if r.full { "full" } else { "changes-only" },
                    r.pages,
                    r.new,
                    r.changed,
                    r.unchanged,
                    r.vanished,
                    r.possible_duplicates,
                    r.rejected.len(),
                    r.seconds
                );
                for (id, why) in r.rejected.iter().take(50) {
                    println!("    rejected {id}: {why}");
                }
                if let Some(e) = &r.error {
                    failed = true;
                    println!("    failed: {e}");
                }
            }
            if failed {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    /// Clap's own consistency checks (unique argument ids, valid defaults) run only when
    /// a command is parsed in a debug build: run them for every command here.
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
