//! A search as asked for and its answer: hits, facets, how it matched, what was understood,
//! and the risk block.

use super::collect::{Explanation, Sort};
use super::query::Filters;
use super::settings::CrisisContact;
use crate::domain::taxonomy;
use crate::geo::eligibility::{Answer, Caller};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

/// A search as the API asks for it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// The question as typed; empty to list services by the filters alone.
    pub q: String,
    /// What a service must be to be kept.
    pub filters: Filters,
    /// Hits per page (the API allows 1 to 100, 10 by default).
    pub limit: usize,
    /// Hits to skip, for later pages.
    pub offset: usize,
    /// Who the services are for: each hit is assessed against them.
    pub caller: Option<Caller>,
    /// By relevance (the default) or nearest first.
    pub sort: Sort,
    /// Where the caller is: each hit gets its distance from here, whatever the sort.
    pub origin: Option<(f64, f64)>,
    /// Show, per hit, which words, needs and boosts scored.
    pub explain: bool,
}

/// Something a navigator must see before referring.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Warning {
    /// temporarily_closed, inactive, defunct, not_accepting, waiting_list,
    /// capacity_unknown, not_verified, possibly_closed, link_unreachable, link_broken,
    /// source_vanished or source_out_of_date.
    pub code: &'static str,
    /// What it means for this service, in words a navigator can read out.
    pub message: String,
}

/// One result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Hit {
    /// The service without staff-only and bulky fields (contacts, coverage,
    /// opening_hours, keywords, referral.instructions); organization is {id, name}.
    #[schema(value_type = Object)]
    pub service: Box<RawValue>,
    /// Relevance scaled by the service's state; comparable only within one search.
    pub score: f32,
    /// Up to 180 characters of the description, the question's words in `<b>`, HTML-escaped.
    pub snippet: String,
    /// What a navigator must see before referring, e.g. that it is temporarily closed.
    pub warnings: Vec<Warning>,
    /// Whether the service can see the caller, when the search said who they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<Answer>,
    /// Kilometres from the caller to the service's nearest location with coordinates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// For a record read from another directory's feed (see `service.source`): when
    /// that feed was last read to the end, so how fresh this copy is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_read_at: Option<DateTime<Utc>>,
    /// Why it matched and scored as it did (with `explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explanation>,
}

/// Counts of matching services by value.
#[derive(Debug, Serialize, Default, utoipa::ToSchema)]
pub struct Facets {
    /// Matching services by taxonomy category.
    pub category: Vec<FacetCount>,
    /// Matching services by delivery mode.
    pub delivery_mode: Vec<FacetCount>,
    /// Matching services by status.
    pub status: Vec<FacetCount>,
}

/// How many matching services have one value.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FacetCount {
    /// The value as the API names it, e.g. `debt` or `online`.
    pub value: &'static str,
    /// How many matching services have it.
    pub count: u64,
}

/// A page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// Services matching in all, across every page.
    pub total: usize,
    /// Hits per page, as asked.
    pub limit: usize,
    /// Hits skipped before this page.
    pub offset: usize,
    /// This page's services, best (or nearest) first.
    pub hits: Vec<Hit>,
    /// Counts of the matching services by category, delivery mode and status.
    pub facets: Facets,
    /// What was understood of the caller, when the search said who they are (as
    /// `/v1/services/{id}/eligibility` shows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub caller: Option<serde_json::Value>,
    /// How the hits match the question (absent when there was no question).
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_kind: Option<MatchKind>,
    /// Words of the question no hit could be found with (with `match` `partial`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_words: Vec<String>,
    /// The needs closest to a question that matched nothing (with `match` `suggested`
    /// or `none`): "Did you mean…".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<NeedView>,
    /// What the question was understood to be about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub understood: Option<Understood>,
    /// Present when the question expresses risk to life or of serious harm: crisis
    /// services come first, and these are the contacts to read out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskBlock>,
}

/// How the hits of a search match its question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Every word of the question, or a need it expresses.
    Full,
    /// Some words of the question were left out (`ignored_words`), or no service has all
    /// of them and hits have some.
    Partial,
    /// Nothing matched; the hits are services for the closest needs (`suggestions`).
    Suggested,
    /// Nothing matched at all.
    None,
}

impl MatchKind {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Full => "full",
            MatchKind::Partial => "partial",
            MatchKind::Suggested => "suggested",
            MatchKind::None => "none",
        }
    }
}

/// A need, as a response names it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NeedView {
    /// The taxonomy category id.
    pub id: String,
    /// The category's name, as shown to people.
    pub name: String,
    /// How sure the lexicon is (absent for suggestions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// The question's words that expressed it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub because: Vec<String>,
}

impl NeedView {
    pub(super) fn of(id: &str, confidence: Option<f32>, because: Vec<String>) -> Self {
        Self {
            id: id.to_string(),
            name: taxonomy::find(id).map_or(id, |c| c.name).to_string(),
            confidence: confidence.map(|c| (c * 100.0).round() / 100.0),
            because,
        }
    }
}

/// What a question was understood to be about.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Understood {
    /// Most confident first.
    pub needs: Vec<NeedView>,
    /// Languages named in the question.
    pub languages: Vec<crate::understand::LanguageMention>,
}

/// The risk block: why it was raised and what to read out.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RiskBlock {
    /// The question's words that expressed risk.
    pub because: Vec<String>,
    /// What the navigator is asked to do.
    pub message: &'static str,
    /// The crisis contacts to read out.
    pub contacts: Vec<CrisisContact>,
}

/// What the risk block says.
pub const RISK_MESSAGE: &str = "This question may express a risk to life or of serious harm. Follow your risk procedure now: crisis services are listed first, and these contacts can help straight away.";
