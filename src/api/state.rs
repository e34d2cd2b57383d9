//! What every request shares: the directory and the settings the handlers need.

use crate::directory::Directory;
use crate::search::SearchSettings;
use std::sync::Arc;

/// When reminders go and how.
#[derive(Clone)]
pub struct ReminderJobSettings {
    /// Cron expression with seconds, in UTC.
    pub cron: String,
    pub reminders: crate::directory::reminders::ReminderSettings,
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
    pub directory: Directory,
    pub admin_key_digest: Option<[u8; 32]>,
    pub search_settings: SearchSettings,
    /// How a pull asked for over the API reads a source.
    pub source_pull: crate::oruk::pulling::PullSettings,
    /// Where reminders asked for over the API go; `None`: nowhere configured.
    pub reminders: Option<ReminderJobSettings>,
}
