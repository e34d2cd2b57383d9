//! The index schema, its version, and how a service becomes an index document.

use crate::domain::coverage::Coverage;
use crate::domain::{Accepting, DeliveryMode, Gender, Service, ServiceStatus, taxonomy};
use crate::geo::eligibility::{rule_kind, rule_token};
use serde_json::Value;
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
    WhitespaceTokenizer,
};
use tantivy::{Index, TantivyDocument};

/// Bumped whenever the schema or the way documents are built changes: an index of
/// another version is rebuilt at startup.
pub const SCHEMA_VERSION: u32 = 7;

/// English words, lower-cased, folded to ASCII and stemmed.
pub const STEMMED: &str = "signpost_stemmed";
/// The same without stemming, for typo-tolerant matching of what people type.
pub const PLAIN: &str = "signpost_plain";
/// Pairs of neighbouring stems, written by [`pairs`]: split on spaces only.
pub const PAIRS: &str = "signpost_pairs";

/// Fast field: bit `i` set when the service is in `taxonomy::CATEGORIES[i]`.
pub const CATEGORY_MASK: &str = "category_mask";
/// Fast field: a packed [`State`].
pub const STATE: &str = "state";
/// Fast field: packed [`Traits`].
pub const TRAITS: &str = "traits";
/// Fast field: unix seconds of the last capacity update; `i64::MIN` for never.
pub const CAPACITY_UPDATED: &str = "capacity_updated";
/// Fast fields: where the service is, from its first location with coordinates.
pub const LATITUDE: &str = "latitude";
/// The name of the longitude field.
pub const LONGITUDE: &str = "longitude";

/// Delivery modes that reach people wherever they are, so distance does not exclude them.
pub const REMOTE_MODES: u64 =
    1 << DeliveryMode::Telephone as u64 | 1 << DeliveryMode::Online as u64;

const _: () = assert!(taxonomy::CATEGORIES.len() <= 64 && DeliveryMode::ALL.len() <= 8);

/// The days from which capacity and verification count as recent (see [`rank_class`]).
pub type Freshness = (u64, u64);

/// What of a service's state ranking looks at, in one byte: status (2 bits), capacity
/// (3 bits: [`State::accepting`], or 4 when the news is stale), recently verified (1 bit)
/// and link flagged (1 bit). `fresh` holds the first [`State`] days of capacity news and
/// verification that still count as recent.
pub fn rank_class(state: State, fresh: Freshness) -> u8 {
    let (fresh_capacity, fresh_assured) = fresh;
    let capacity = if state.capacity_day < fresh_capacity {
        4
    } else {
        state.accepting.min(3)
    };
    (state.status.min(3)
        | capacity << 2
        | u64::from(state.assured_day >= fresh_assured) << 5
        | u64::from(state.link_flagged) << 6) as u8
}

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
    /// Packs the state into one fast-field value.
    pub fn pack(self) -> u64 {
        (self.status & 0b111)
            | (self.accepting & 0b111) << 3
            | (self.modes & 0xff) << 6
            | (self.capacity_day & DAY_MASK) << 14
            | (self.assured_day & DAY_MASK) << (14 + DAY_BITS)
            | u64::from(self.link_flagged) << (14 + 2 * DAY_BITS)
    }

    /// The state packed into `v`.
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

/// Who a service is for and how to reach it, as filters read them: one fast-field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Traits {
    /// People may refer themselves (referral route `self_referral` or `both`).
    pub self_referral: bool,
    /// 0 charges, 1 free, 2 not stated.
    pub free: u64,
    /// Position in [`GENDERS`].
    pub gender: u64,
    /// Youngest age accepted; 0 when the service sets none.
    pub min_age: u8,
    /// Oldest age accepted; 255 when the service sets none.
    pub max_age: u8,
}

/// Genders in the order [`Traits::gender`] numbers them.
pub const GENDERS: [Gender; 3] = [Gender::Any, Gender::Female, Gender::Male];

/// The number a gender is stored as.
pub fn gender_ord(g: Gender) -> u64 {
    GENDERS.iter().position(|x| *x == g).unwrap_or(0) as u64
}

impl Traits {
    /// Packs the traits into one fast-field value.
    pub fn pack(self) -> u64 {
        u64::from(self.self_referral)
            | (self.free & 0b11) << 1
            | (self.gender & 0b11) << 3
            | u64::from(self.min_age) << 5
            | u64::from(self.max_age) << 13
    }

    /// The traits packed into `v`.
    pub fn unpack(v: u64) -> Self {
        Self {
            self_referral: v & 1 == 1,
            free: (v >> 1) & 0b11,
            gender: (v >> 3) & 0b11,
            min_age: ((v >> 5) & 0xff) as u8,
            max_age: ((v >> 13) & 0xff) as u8,
        }
    }
}

/// Every field, by name.
#[derive(Clone, Copy)]
pub struct Fields {
    /// The service's UUID as text, stored: how a hit finds its record.
    pub id: Field,
    /// The service's name, stemmed, for the name boost.
    pub name: Field,
    /// Neighbouring words of the name and description, as [`pair`]s: a question's words
    /// side by side score higher.
    pub pairs: Field,
    /// Everything a question may match: name, description, organisation, other names,
    /// keywords, eligibility wording and category names and descriptions.
    pub all: Field,
    /// The words of `all` but category descriptions, not stemmed, for typo matches.
    pub plain: Field,
    /// Each taxonomy id the service is in, as an exact term.
    pub category: Field,
    /// Fast field: bit `i` set when the service is in `taxonomy::CATEGORIES[i]`.
    pub category_mask: Field,
    /// Fast field: the packed [`State`] that ranking and facets read.
    pub state: Field,
    /// Fast field: the packed [`Traits`] that filters read.
    pub traits: Field,
    /// Fast field: unix seconds of the last capacity update; `i64::MIN` for never.
    pub capacity_updated: Field,
    /// Each ISO 639 code the service lists (`en` when it lists none), as an exact term.
    pub language: Field,
    /// Stored: the public summary hits show, as JSON (see [`summary`]).
    pub summary: Field,
    /// `in:`/`ex:` + rule token for each coverage rule, `inkind:`/`exkind:` + its kind.
    pub coverage: Field,
    /// The coverage rules as JSON, to explain each hit's eligibility.
    pub coverage_doc: Field,
    /// Fast field: latitude in degrees of the first location with coordinates.
    pub latitude: Field,
    /// Fast field: longitude in degrees of the same location.
    pub longitude: Field,
}

fn text(tokenizer: &str, record: IndexRecordOption) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(record),
    )
}

/// Builds the schema and hands out its fields.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        name: b.add_text_field("name", text(STEMMED, IndexRecordOption::WithFreqs)),
        pairs: b.add_text_field("pairs", text(PAIRS, IndexRecordOption::WithFreqs)),
        all: b.add_text_field("all", text(STEMMED, IndexRecordOption::WithFreqs)),
        // Typo matches score as a constant: only whether a word occurs matters.
        plain: b.add_text_field("plain", text(PLAIN, IndexRecordOption::Basic)),
        category: b.add_text_field("category", STRING),
        category_mask: b.add_u64_field(CATEGORY_MASK, FAST),
        state: b.add_u64_field(STATE, FAST),
        traits: b.add_u64_field(TRAITS, FAST),
        capacity_updated: b.add_i64_field(CAPACITY_UPDATED, FAST),
        language: b.add_text_field("language", STRING),
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
    index
        .tokenizers()
        .register(PAIRS, TextAnalyzer::from(WhitespaceTokenizer::default()));
}

/// The index term for two neighbouring stems.
pub fn pair(first: &str, second: &str) -> String {
    format!("{first}_{second}")
}

/// Every pair of neighbouring stems in `text`, space-separated.
fn pairs(text: &str) -> String {
    with_analyzers(|_, stemmed| {
        let mut stream = stemmed.token_stream(text);
        let mut out = String::new();
        let mut previous: Option<String> = None;
        while let Some(token) = stream.next() {
            if let Some(p) = previous.replace(token.text.clone()) {
                out.push_str(&pair(&p, &token.text));
                out.push(' ');
            }
        }
        out
    })
}

thread_local! {
    static ANALYZERS: std::cell::RefCell<(TextAnalyzer, TextAnalyzer)> =
        std::cell::RefCell::new((plain_analyzer(), stemmed_analyzer()));
}

/// Calls `f` with this thread's plain and stemmed analysers (building an analyser costs
/// more than analysing a question).
pub fn with_analyzers<T>(f: impl FnOnce(&mut TextAnalyzer, &mut TextAnalyzer) -> T) -> T {
    ANALYZERS.with(|a| {
        let (plain, stemmed) = &mut *a.borrow_mut();
        f(plain, stemmed)
    })
}

/// The analyzer of the stemmed text fields: lower case, folded accents, English stems.
pub fn stemmed_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(super::stem::MemoStemmer)
        .build()
}

/// The analyzer of the plain text fields: lower case and folded accents, no stemming.
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
    /// The flagged URL.
    pub url: String,
    /// `link_broken`, `possibly_closed` or `unreachable`.
    pub flag: String,
    /// What raised the flag, in words.
    pub evidence: Option<String>,
    /// Where a moved page lives now, when known.
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
    d.add_text(f.pairs, pairs(c.name.as_str()));
    d.add_text(f.pairs, pairs(c.description.as_str()));
    let mut words = vec![
        c.name.as_str(),
        c.description.as_str(),
        s.organization.content.name.as_str(),
    ];
    words.extend(c.alternate_name.iter().map(|n| n.as_str()));
    words.extend(c.keywords.iter().map(|k| k.as_str()));
    words.extend(c.eligibility_description.iter().map(|k| k.as_str()));
    let mut plain = words.clone();
    let mut category_mask = 0u64;
    for cat in &c.categories {
        d.add_text(f.category, cat.as_str());
        if let Some(found) = taxonomy::find(cat.as_str()) {
            words.push(found.name);
            words.push(found.description);
            plain.push(found.name);
        }
        if let Some(ord) = category_ord(cat.as_str()) {
            category_mask |= 1 << ord;
        }
    }
    for w in words {
        d.add_text(f.all, w);
    }
    d.add_text(f.plain, plain.join(". "));
    d.add_u64(f.category_mask, category_mask);
    let modes = c
        .delivery_modes
        .iter()
        .fold(0u64, |m, mode| m | 1 << mode_ord(*mode));
    let accepting = c.capacity.as_ref().map(|cap| cap.accepting);
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
    let traits = Traits {
        self_referral: matches!(
            c.referral.route,
            crate::domain::ReferralRoute::SelfReferral | crate::domain::ReferralRoute::Both
        ),
        free: match &c.cost {
            Some(cost) if cost.free => 1,
            Some(_) => 0,
            None => 2,
        },
        gender: gender_ord(c.gender),
        min_age: c.minimum_age.unwrap_or(0),
        max_age: c.maximum_age.unwrap_or(u8::MAX),
    };
    d.add_u64(f.traits, traits.pack());
    if c.languages.is_empty() {
        // Directories leave English unsaid.
        d.add_text(f.language, "en");
    }
    for l in &c.languages {
        d.add_text(f.language, l.as_str());
    }
    d.add_text(f.summary, summary(s, flags).to_string());
    add_coverage(&mut d, f, &c.coverage);
    if let Some((lat, lon)) = c.locations.iter().find_map(|l| l.latitude.zip(l.longitude)) {
        d.add_f64(f.latitude, lat);
        d.add_f64(f.longitude, lon);
    }
    d
}

/// Records coverage so that a caller's eligibility is a check of tokens (see
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

    #[test]
    fn traits_round_trip() {
        let t = Traits {
            self_referral: true,
            free: 2,
            gender: gender_ord(Gender::Male),
            min_age: 16,
            max_age: u8::MAX,
        };
        assert_eq!(Traits::unpack(t.pack()), t);
        assert_eq!(Traits::unpack(Traits::default().pack()), Traits::default());
    }

    #[test]
    fn accepting_ord_puts_open_first_and_unknown_last() {
        assert_eq!(accepting_ord(Some(Accepting::Open)), 0);
        assert_eq!(accepting_ord(None), 3);
    }
}
