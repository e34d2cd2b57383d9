//! The command line: the arguments here, one module per command (each uses the directory
//! layer, storage, search and `startup`, never the HTTP handlers).

mod geo;
mod keys;
mod lexicon;
mod links;
mod records;
mod reminders;
mod serve;
mod sources;

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
    /// Where the database and the search index are.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// How long history, resolved reports and link checks are kept.
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the database and the index are, for every command that opens them.
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
    /// The retention periods these options give.
    pub fn retention(&self) -> Retention {
        Retention {
            history_days: self.history_retention_days,
            resolved_report_days: self.resolved_report_retention_days,
            link_check_days: self.link_check_retention_days,
        }
    }
}

/// signpost's commands.
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
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Write the built-in demo directory as NDJSON to standard output.
    Demo,
    /// Write the API description (OpenAPI 3.1, made from the handlers and types) as YAML
    /// to standard output: `signpost openapi > openapi.yaml`.
    Openapi,
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

/// `signpost reminders …`: the monthly "is this still right?" emails.
#[derive(Debug, Subcommand)]
pub enum RemindersCommand {
    /// Run a reminder cycle now and print what it did (the server must be stopped; a
    /// running server sends on its schedule).
    Run {
        /// Write the emails as .eml files into this folder instead of sending them.
        #[arg(long)]
        dry_run: Option<PathBuf>,
        /// The SMTP server, the sender and the reminders' timing.
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
    /// The SMTP server's port: 587 for STARTTLS, 465 for TLS.
    #[arg(long, env = "SIGNPOST_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// How the connection to the SMTP server is protected.
    #[arg(
        long,
        env = "SIGNPOST_SMTP_SECURITY",
        value_enum,
        default_value = "starttls"
    )]
    pub smtp_security: crate::mail::SmtpSecurity,
    /// User name for the SMTP server; used only together with --smtp-password.
    #[arg(long, env = "SIGNPOST_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// Password for the SMTP server; used only together with --smtp-username.
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
    /// The reminder settings these options give.
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

/// `signpost sources …`: other directories' feeds read in.
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
        /// How the feeds are read.
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
    /// The feed-reading settings these options give.
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

/// `signpost lexicon …`: what search understands of callers' words.
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

/// `signpost keys …`: API keys for partners and administrators.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret (shown this once only).
    Create {
        /// Who or what the key is for, e.g. "Bolton Food Bank volunteers".
        #[arg(long)]
        name: String,
        /// What the key may do; a partner key needs --organization.
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

/// `signpost geo …`: the NHS and ONS reference data eligibility is answered from.
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
    /// The link-check settings these options give.
    pub fn check_settings(&self) -> CheckSettings {
        CheckSettings {
            host_interval: std::time::Duration::from_millis(self.host_interval_ms),
            hosts_at_once: self.hosts_at_once,
            request_timeout: std::time::Duration::from_secs(self.timeout_secs.max(1)),
            ..CheckSettings::default()
        }
    }
}

/// `signpost serve`: everything the running service is configured with.
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
    /// How links are checked.
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
    /// How other directories' feeds are read.
    #[command(flatten)]
    pub pull: PullArgs,
    /// When reminders go to update contacts: cron with seconds, UTC ("off" to disable).
    /// Default 09:00 on Mondays; never with --demo, and only with --smtp-host.
    #[arg(long, env = "SIGNPOST_REMINDER_CRON", default_value = "0 0 9 * * Mon")]
    pub reminder_cron: String,
    /// How reminders are sent and what their links point at.
    #[command(flatten)]
    pub mail: MailArgs,
    /// Searches run at once (more wait their turn); 0 = one per core.
    #[arg(long, env = "SIGNPOST_MAX_SEARCHES", default_value_t = 0)]
    pub max_searches: usize,
    /// Milliseconds between checks for changes written by other replicas.
    #[arg(long, env = "SIGNPOST_POLL_MS", default_value_t = 1000)]
    pub poll_ms: u64,
    /// Seconds a partner's quick update (capacity, status, still accurate), searchable at
    /// once, may wait to be written into the index with others (fewer, larger commits).
    #[arg(long, env = "SIGNPOST_COMMIT_PATCHES_SECONDS", default_value_t = 10)]
    pub commit_patches_seconds: u64,
    /// A JSON file listing the crisis contacts the risk block reads out, each
    /// {"name", "phone", "when"}; default: NHS 111 option 2, Samaritans 116 123, 999.
    #[arg(long, env = "SIGNPOST_CRISIS_CONTACTS")]
    pub crisis_contacts: Option<PathBuf>,
    /// How many times a question must be asked before the search-gaps report shows it
    /// (at least 2).
    #[arg(long, env = "SIGNPOST_GAP_MIN_COUNT", default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..))]
    pub gap_min_count: u32,
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let storage = cli.storage;
    match cli.command {
        Command::Serve(args) => serve::serve(*args, storage, &cli.retention).await,
        Command::Migrate => records::migrate(&storage).await,
        Command::Backup { file } => records::backup(&storage, &file).await,
        Command::Purge => records::purge(&storage, &cli.retention).await,
        Command::Import { file, format } => records::import(&storage, &file, &format).await,
        Command::Export { output } => records::export(&storage, output).await,
        Command::Demo => records::demo(),
        Command::Openapi => {
            print!("{}", crate::api::doc::yaml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Reindex => records::reindex(&storage).await,
        Command::Sources(command) => sources::sources(command, storage).await,
        Command::Reminders(command) => reminders::reminders(&storage, command).await,
        Command::CheckLinks(args) => links::check_links(&storage, args).await,
        Command::Keys(keys) => keys::keys(&storage, keys).await,
        Command::Lexicon(command) => lexicon::lexicon(&storage, command).await,
        Command::Geo(geo) => geo::geo(&storage, geo).await,
    }
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
