//! What an operator can set about search: polling, staleness, concurrency, crisis contacts.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Knobs for search and its warnings.
#[derive(Debug, Clone)]
pub struct SearchSettings {
    /// How often the writer looks for changes made by other replicas.
    pub poll_interval: Duration,
    /// How long quick updates, searchable at once by a patch, may wait to be committed
    /// to the index with others: each commit adds a segment that every search reads
    /// until merged, whatever it holds (see `SearchIndex::patch`).
    pub commit_patches_within: Duration,
    /// Capacity older than this shows as unknown.
    pub capacity_stale_after: chrono::Duration,
    /// Entries not confirmed for longer than this get a warning.
    pub verify_stale_after: chrono::Duration,
    /// Searches running at once; more wait their turn, first come first served. One per
    /// core: searches are CPU-bound, so more at once only slows every one of them down
    /// and lengthens the slowest (the search benchmark at 16 clients: two per core gave
    /// the same throughput with a p99 a quarter higher).
    pub max_concurrent_searches: usize,
    /// What the risk block tells a navigator to read out.
    pub crisis_contacts: Vec<CrisisContact>,
    /// A question must have been counted this many times before the search-gaps report
    /// shows it (k-anonymity: one caller's details never make a line of their own).
    pub gap_min_count: u32,
}

/// A crisis line or service the risk block lists, whatever the directory holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CrisisContact {
    /// Who to call, e.g. "Samaritans".
    pub name: String,
    /// The number to call, as it is read out.
    pub phone: String,
    /// When to use it.
    pub when: String,
}

/// England's crisis contacts: NHS 111 option 2, Samaritans, 999.
pub fn default_crisis_contacts() -> Vec<CrisisContact> {
    let c = |name: &str, phone: &str, when: &str| CrisisContact {
        name: name.into(),
        phone: phone.into(),
        when: when.into(),
    };
    vec![
        c(
            "NHS 111, option 2",
            "111",
            "Urgent mental health help, 24 hours a day: option 2 reaches the local NHS crisis line",
        ),
        c(
            "Samaritans",
            "116 123",
            "Someone to talk to, free, 24 hours a day, every day",
        ),
        c(
            "Emergency services",
            "999",
            "When a life is in danger now: an overdose, serious injury or immediate danger",
        ),
    ]
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            commit_patches_within: Duration::from_secs(10),
            capacity_stale_after: chrono::Duration::days(90),
            verify_stale_after: chrono::Duration::days(183),
            max_concurrent_searches: std::thread::available_parallelism().map_or(2, |n| n.get()),
            crisis_contacts: default_crisis_contacts(),
            gap_min_count: 3,
        }
    }
}
