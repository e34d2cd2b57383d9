//! The index schema, its version, and how a service becomes an index document.

use crate::domain::coverage::Coverage;
use crate::domain::{Accepting, DeliveryMode, Service, ServiceStatus, taxonomy};
use crate::geo::eligibility::{rule_kind, rule_token};
use serde_json::Value;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{Index, TantivyDocument};

/// Bumped whenever the schema or the way documents are built changes: an index of
/// another version is rebuilt at startup.
pub const SCHEMA_VERSION: u32 = 4;

/// English words, lower-cased, folded to ASCII and stemmed.
pub const STEMMED: &str = "signpost_stemmed";
/// The same without stemming, for typo-tolerant matching of what people type.
pub const PLAIN: &str = "signpost_plain";

/// Fast field: bit `i` set when the service is in `taxonomy::CATEGORIES[i]`.
pub const CATEGORY_MASK: &str = "category_mask";
/// Fast field: a packed [`State`].
pub const STATE: &str = "state";
/// Fast fields: where the service is, from its first location with coordinates.
pub const LATITUDE: &str = "latitude";
pub const LONGITUDE: &str = "longitude";

/// Delivery modes that reach people wherever they are, so distance does not exclude them.
pub const REMOTE_MODES: u64 =
    1 << DeliveryMode::Telephone as u64 | 1 << DeliveryMode::Online as u64;

const _: () = assert!(taxonomy::CATEGORIES.len() <= 64 && DeliveryMode::ALL.len() <= 8);

/// What ranking and facets need to know of a match, packed into one fast-field value
/// so that each match costs one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    /// Position in `ServiceStatus::ALL`.
    pub status: u64,
    /// See [`accepting_ord`].
    pub accepting: u64,
    /// Bit `i` set for `DeliveryMode::ALL[i]`.
    pub modes: u64,
    /// Days since 1970-01-01 plus one when capacity was last updated; 0 for never.
    pub capacity_day: u64,
    /// Days since 1970-01-01 plus one of the assured date; 0 for never.
    pub assured_day: u64,
    /// A link check has flagged one of its URLs.
    pub link_flagged: bool,
}

const DAY_BITS: u32 = 24;
const DAY_MASK: u64 = (1 << DAY_BITS) - 1;

impl State {
    pub fn pack(self) -> u64 {
        (self.status & 0b111)
            | (self.accepting & 0b111) << 3
            | (self.modes & 0xff) << 6
            | (self.capacity_day & DAY_MASK) << 14
            | (self.assured_day & DAY_MASK) << (14 + DAY_BITS)
            | u64::from(self.link_flagged) << (14 + 2 * DAY_BITS)
    }

    pub fn unpack(v: u64) -> Self {
        Self {
            status: v & 0b111,
            accepting: (v >> 3) & 0b111,
            modes: (v >> 6) & 0xff,
            capacity_day: (v >> 14) & DAY_MASK,
            assured_day: (v >> (14 + DAY_BITS)) & DAY_MASK,
            link_flagged: (v >> (14 + 2 * DAY_BITS)) & 1 == 1,
        }
    }
}

/// The [`State`] day number of a unix time; times before 1970 count as day 1.
pub fn day_number(unix_seconds: i64) -> u64 {
    (unix_seconds.div_euclid(86_400).max(0) as u64 + 1).min(DAY_MASK)
}

/// Every field, by name.
#[derive(Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub name: Field,
    pub description: Field,
    pub extra: Field,
    pub category_text: Field,
    pub plain: Field,
    pub category: Field,
    pub category_mask: Field,
    pub delivery_mode: Field,
    pub status: Field,
    pub accepting: Field,
    pub capacity_updated: Field,
    pub state: Field,
    pub self_referral: Field,
    pub free: Field,
    pub gender: Field,
    pub min_age: Field,
    pub max_age: Field,
    pub language: Field,
    pub organization_id: Field,
    pub summary: Field,
    /// `in:`/`ex:` + rule token for each coverage rule, `inkind:`/`exkind:` + its kind.
    pub coverage: Field,
    /// The coverage rules as JSON, to explain each hit's eligibility.
    pub coverage_doc: Field,
    pub latitude: Field,
    pub longitude: Field,
}

fn text(tokenizer: &str, stored: bool) -> TextOptions {
    let options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    if stored {
        options.set_stored()
    } else {
        options
    }
}

/// Builds the schema and hands out its fields.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        name: b.add_text_field("name", text(STEMMED, false)),
        description: b.add_text_field("description", text(STEMMED, false)),
        extra: b.add_text_field("extra", text(STEMMED, false)),
        category_text: b.add_text_field("category_text", text(STEMMED, false)),
        plain: b.add_text_field("plain", text(PLAIN, false)),
        category: b.add_text_field("category", STRING),
        category_mask: b.add_u64_field(CATEGORY_MASK, FAST),
        delivery_mode: b.add_text_field("delivery_mode", STRING),
        status: b.add_text_field("status", STRING),
        accepting: b.add_text_field("accepting", STRING),
        capacity_updated: b.add_i64_field("capacity_updated", INDEXED),
        state: b.add_u64_field(STATE, FAST),
        self_referral: b.add_text_field("self_referral", STRING),
        free: b.add_text_field("free", STRING),
        gender: b.add_text_field("gender", STRING),
        min_age: b.add_u64_field("min_age", INDEXED | FAST),
        max_age: b.add_u64_field("max_age", INDEXED | FAST),
        language: b.add_text_field("language", STRING),
        organization_id: b.add_text_field("organization_id", STRING),
        summary: b.add_text_field("summary", STORED),
        coverage: b.add_text_field("coverage", STRING),
        coverage_doc: b.add_text_field("coverage_doc", STORED),
        latitude: b.add_f64_field(LATITUDE, FAST),
        longitude: b.add_f64_field(LONGITUDE, FAST),
    };
    (b.build(), fields)
}

/// Registers the analysers the schema names.
pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(STEMMED, stemmed_analyzer());
    index.tokenizers().register(PLAIN, plain_analyzer());
}

pub fn stemmed_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

pub fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Fields a search hit shows; staff-only and bulky fields stay out of the index.
const SUMMARY_DROPS: &[&str] = &["contacts", "coverage", "opening_hours", "keywords"];

/// A link check's flag on one of a service's URLs, as search results show it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LinkFlag {
    pub url: String,
    pub flag: String,
    pub evidence: Option<String>,
    pub suggested_url: Option<String>,
}

/// The public summary of a service that search results carry, with any link flags.
pub fn summary(service: &Service, flags: &[LinkFlag]) -> Value {
    let mut v = serde_json::to_value(service).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        for k in SUMMARY_DROPS {
            obj.remove(*k);
        }
        if let Some(r) = obj.get_mut("referral").and_then(Value::as_object_mut) {
            r.remove("instructions");
        }
        obj.insert(
            "organization".into(),
            serde_json::json!({"id": service.organization.id, "name": service.organization.content.name}),
        );
        if !flags.is_empty() {
            obj.insert(
                "link_flags".into(),
                serde_json::to_value(flags).unwrap_or_default(),
            );
        }
    }
    v
}

fn status_ord(s: ServiceStatus) -> u64 {
    ServiceStatus::ALL.iter().position(|x| *x == s).unwrap_or(0) as u64
}

fn mode_ord(m: DeliveryMode) -> u64 {
    DeliveryMode::ALL.iter().position(|x| *x == m).unwrap_or(0) as u64
}

fn category_ord(id: &str) -> Option<u64> {
    taxonomy::CATEGORIES
        .iter()
        .position(|c| c.id == id)
        .map(|p| p as u64)
}

/// `accepting_ord`: 0 open, 1 waitlist, 2 closed, 3 not stated.
pub fn accepting_ord(a: Option<Accepting>) -> u64 {
    match a {
        Some(Accepting::Open) => 0,
        Some(Accepting::Waitlist) => 1,
        Some(Accepting::Closed) => 2,
        None => 3,
    }
}

/// The index document for one service; `flags` are its URLs' link-check flags.
pub fn document(f: &Fields, s: &Service, flags: &[LinkFlag]) -> TantivyDocument {
    let c = &s.content;
    let mut d = TantivyDocument::default();
    d.add_text(f.id, s.id.to_string());
    d.add_text(f.name, c.name.as_str());
    d.add_text(f.description, c.description.as_str());
    let mut extra = vec![s.organization.content.name.as_str().to_string()];
    extra.extend(c.alternate_name.iter().map(|n| n.as_str().to_string()));
    extra.extend(c.keywords.iter().map(|k| k.as_str().to_string()));
    extra.extend(
        c.eligibility_description
            .iter()
            .map(|k| k.as_str().to_string()),
    );
    d.add_text(f.extra, extra.join(". "));
    let mut plain = vec![c.name.as_str(), c.description.as_str()];
    plain.extend(extra.iter().map(String::as_str));
    let mut category_mask = 0u64;
    for cat in &c.categories {
        d.add_text(f.category, cat.as_str());
        if let Some(found) = taxonomy::find(cat.as_str()) {
            d.add_text(
                f.category_text,
                format!("{}. {}", found.name, found.description),
            );
            plain.push(found.name);
        }
        if let Some(ord) = category_ord(cat.as_str()) {
            category_mask |= 1 << ord;
        }
    }
    d.add_u64(f.category_mask, category_mask);
    d.add_text(f.plain, plain.join(". "));
    let mut modes = 0u64;
    for m in &c.delivery_modes {
        d.add_text(f.delivery_mode, m.as_str());
        modes |= 1 << mode_ord(*m);
    }
    d.add_text(f.status, c.status.as_str());
    let accepting = c.capacity.as_ref().map(|cap| cap.accepting);
    d.add_text(f.accepting, accepting.map_or("unknown", |a| a.as_str()));
    let updated = c.capacity.as_ref().and_then(|cap| cap.updated_at);
    d.add_i64(
        f.capacity_updated,
        updated.map_or(i64::MIN, |t| t.timestamp()),
    );
    let assured = c
        .assured_date
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp());
    let state = State {
        status: status_ord(c.status),
        accepting: accepting_ord(accepting),
        modes,
        capacity_day: updated.map_or(0, |t| day_number(t.timestamp())),
        assured_day: assured.map_or(0, day_number),
        link_flagged: !flags.is_empty(),
    };
    d.add_u64(f.state, state.pack());
    let self_referral = matches!(
        c.referral.route,
        crate::domain::ReferralRoute::SelfReferral | crate::domain::ReferralRoute::Both
    );
    d.add_text(f.self_referral, if self_referral { "yes" } else { "no" });
    let free = match &c.cost {
        Some(cost) if cost.free => "yes",
        Some(_) => "no",
        None => "unknown",
    };
    d.add_text(f.free, free);
    d.add_text(f.gender, c.gender.as_str());
    d.add_u64(f.min_age, u64::from(c.minimum_age.unwrap_or(0)));
    d.add_u64(f.max_age, u64::from(c.maximum_age.unwrap_or(u8::MAX)));
    if c.languages.is_empty() {
        // Directories leave English unsaid.
        d.add_text(f.language, "en");
    }
    for l in &c.languages {
        d.add_text(f.language, l.as_str());
    }
    d.add_text(f.organization_id, s.organization.id.to_string());
    d.add_text(f.summary, summary(s, flags).to_string());
    add_coverage(&mut d, f, &c.coverage);
    if let Some((lat, lon)) = c.locations.iter().find_map(|l| l.latitude.zip(l.longitude)) {
        d.add_f64(f.latitude, lat);
        d.add_f64(f.longitude, lon);
    }
    d
}

/// Indexes coverage so that a caller's eligibility is a term query (see
/// `geo::eligibility`): a service with no include rules has the kind `none`.
fn add_coverage(d: &mut TantivyDocument, f: &Fields, coverage: &Coverage) {
    for (prefix, rules) in [("in", &coverage.include), ("ex", &coverage.exclude)] {
        for rule in rules.iter() {
            d.add_text(f.coverage, format!("{prefix}:{}", rule_token(rule)));
            d.add_text(f.coverage, format!("{prefix}kind:{}", rule_kind(rule)));
        }
    }
    if coverage.include.is_empty() {
        d.add_text(f.coverage, "inkind:none");
    }
    d.add_text(
        f.coverage_doc,
        serde_json::to_string(coverage).unwrap_or_default(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let s = State {
            status: 3,
            accepting: 2,
            modes: 0b101,
            capacity_day: day_number(1_790_000_000),
            assured_day: day_number(-5),
            link_flagged: true,
        };
        assert_eq!(State::unpack(s.pack()), s);
        assert_eq!(s.assured_day, 1);
        assert_eq!(State::unpack(State::default().pack()), State::default());
    }
}
