//! What every request shares: the directory and the settings the handlers need.

use crate::directory::Directory;
use crate::search::SearchSettings;
use std::sync::Arc;

/// When reminders go and how.
#[derive(Clone)]
pub struct ReminderJobSettings {
    /// Cron expression with seconds, in UTC.
    pub cron: String,
    /// How often organisations are reminded, when to escalate, and where links point.
    pub reminders: crate::directory::reminders::ReminderSettings,
    /// Where the reminders go: an SMTP server, or a folder for a dry run.
    pub mailer: Arc<crate::mail::Mailer>,
}

impl std::fmt::Debug for ReminderJobSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReminderJobSettings")
            .field("cron", &self.cron)
            .field("reminders", &self.reminders)
            .field("dry_run", &self.mailer.is_dry_run())
            .finish()
    }
}

/// Shared by every request.
pub struct AppState {
    /// The records, their search index, and everything done with them.
    pub directory: Directory,
    /// SHA-256 of `--admin-key`; None when the server was started without one.
    pub admin_key_digest: Option<[u8; 32]>,
    /// When capacity and verification go stale, the crisis contacts, the search-gap threshold.
    pub search_settings: SearchSettings,
    /// How a pull asked for over the API reads a source.
    pub source_pull: crate::oruk::pulling::PullSettings,
    /// Where reminders asked for over the API go; `None`: nowhere configured.
    pub reminders: Option<ReminderJobSettings>,
}
