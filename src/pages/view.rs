//! What a page shows of a service: the facts a navigator reads out, warnings in words
//! with their weight, the eligibility verdict, and the shortlist entry.

use crate::geo::eligibility::{Answer, Verdict};
use crate::search::{Hit, Warning};
use serde::{Deserialize, Serialize};

/// A service as the search summary or the record serialises it; lenient, so a page
/// never fails on a field it does not show.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Listed {
    /// The service's UUID, as text.
    pub id: String,
    /// The service's name.
    pub name: String,
    /// The organisation that runs it: its id and name.
    pub organization: Named,
    /// What the service does, in the record's words.
    pub description: String,
    /// Its taxonomy ids.
    pub categories: Vec<String>,
    /// How people receive it, as the API names the modes (`in_person`, …).
    pub delivery_modes: Vec<String>,
    /// Who may refer and where; `instructions` only when staff read the whole record.
    pub referral: Option<ReferralView>,
    /// Phone numbers, each with what it is for.
    pub phones: Vec<PhoneView>,
    /// Email address for enquiries.
    pub email: Option<String>,
    /// The service's web page.
    pub url: Option<String>,
    /// Where it is delivered; the first is the address a card shows.
    pub locations: Vec<LocationView>,
    /// Regular opening times, one entry per day and session.
    pub opening_hours: Vec<HoursView>,
    /// Opening times in words, shown after the regular ones.
    pub opening_hours_description: Option<String>,
    /// Whether it is free and what it costs; None when not stated.
    pub cost: Option<CostView>,
    /// Languages it is offered in, as ISO 639 codes.
    pub languages: Vec<String>,
    /// Named people to ask for; empty unless staff read the whole record.
    pub contacts: Vec<ContactView>,
    /// Who it is for, in words.
    pub eligibility_description: Option<String>,
    /// Youngest age accepted, in years.
    pub minimum_age: Option<u8>,
    /// Oldest age accepted, in years.
    pub maximum_age: Option<u8>,
    /// `female` or `male` for a service for one gender; anything else reads as anyone.
    pub gender: Option<String>,
    /// When a person last confirmed it accurate, `YYYY-MM-DD`.
    pub assured_date: Option<String>,
    /// `active`, `temporarily_closed`, `inactive` or `defunct`.
    pub status: String,
    /// The record's version, which a partner's form carries as the one it was made from.
    pub version: i64,
    /// Where a record read from another directory's feed came from.
    pub source: Option<SourceView>,
}

/// Where a copied record came from, as a page shows it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SourceView {
    /// The source's name as the administrator registered it.
    pub name: String,
    /// The record's id in the source.
    pub record_id: String,
    /// When signpost last took a changed copy from the source.
    pub copied_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl SourceView {
    /// "From Bolton Council's directory, copied 1 December 2026 09:00".
    pub fn text(&self, read_at: Option<chrono::DateTime<chrono::Utc>>) -> String {
        let when = |t: chrono::DateTime<chrono::Utc>| t.format("%-d %B %Y %H:%M").to_string();
        let mut out = format!("From {}", self.name);
        if let Some(t) = self.copied_at {
            out.push_str(&format!(", copied {}", when(t)));
        }
        if let Some(t) = read_at {
            out.push_str(&format!(", source last read {}", when(t)));
        }
        out
    }
}

/// Something with an id and a name (an organisation).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Named {
    /// Its UUID, as text.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// How to refer, as a page shows it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReferralView {
    /// `self_referral`, `professional_referral` or `both`.
    pub route: String,
    /// Where to refer online.
    pub url: Option<String>,
    /// How to refer, for staff only; None in search summaries.
    pub instructions: Option<String>,
}

/// A phone number, as a page shows it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PhoneView {
    /// The number as people dial it.
    pub number: String,
    /// What the number is for.
    pub description: Option<String>,
}

/// A location, as a page shows it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LocationView {
    /// The venue's name.
    pub name: Option<String>,
    /// First line of the street address.
    pub address_1: Option<String>,
    /// Town or city.
    pub city: Option<String>,
    /// The postcode.
    pub postal_code: Option<String>,
    /// Latitude in degrees (WGS84).
    pub latitude: Option<f64>,
    /// Longitude in degrees (WGS84).
    pub longitude: Option<f64>,
}

impl LocationView {
    /// "Manchester hub, 1 High St, Manchester, M13 0YL".
    pub fn address(&self) -> String {
        [&self.name, &self.address_1, &self.city, &self.postal_code]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Opening hours on one day, as a page shows them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HoursView {
    /// The day, in lower case, e.g. `monday`.
    pub day: String,
    /// Opening time, `HH:MM`.
    pub opens: String,
    /// Closing time, `HH:MM`.
    pub closes: String,
}

/// The cost, as a page shows it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CostView {
    /// True when it costs nothing.
    pub free: bool,
    /// What it costs, in words; shown when it is not free.
    pub description: Option<String>,
}

/// A named contact, as a page shows it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContactView {
    /// The person's name.
    pub name: String,
    /// Their job title or role.
    pub title: Option<String>,
    /// Their own email address.
    pub email: Option<String>,
    /// Their own phone number.
    pub phone: Option<String>,
}

impl Listed {
    /// Reads a service from a hit's stored summary.
    pub fn from_json(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// Reads a whole record.
    pub fn from_service(s: &crate::domain::Service) -> Self {
        serde_json::to_value(s)
            .and_then(serde_json::from_value)
            .unwrap_or_default()
    }

    /// How to refer, in a sentence.
    pub fn refer(&self) -> String {
        let Some(r) = &self.referral else {
            return "Ask the service".into();
        };
        let who = match r.route.as_str() {
            "self_referral" => "Self-referral",
            "professional_referral" => "Professional referral only",
            "both" => "Self-referral or professional referral",
            _ => "Ask the service",
        };
        match &r.url {
            Some(url) => format!("{who}: {url}"),
            None => who.to_string(),
        }
    }

    /// Opening hours, in one line.
    pub fn hours(&self) -> String {
        let mut days: Vec<String> = self
            .opening_hours
            .iter()
            .map(|h| format!("{} {}–{}", day_short(&h.day), h.opens, h.closes))
            .collect();
        if let Some(d) = &self.opening_hours_description {
            days.push(d.clone());
        }
        days.join("; ")
    }

    /// The delivery modes, in words.
    pub fn modes(&self) -> String {
        self.delivery_modes
            .iter()
            .map(|m| mode_label(m))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The cost, in words.
    pub fn cost_text(&self) -> String {
        match &self.cost {
            Some(c) if c.free => "Free".into(),
            Some(c) => c
                .description
                .clone()
                .unwrap_or_else(|| "Charges apply".into()),
            None => "Not stated".into(),
        }
    }

    /// Who it is for by age and gender, in words.
    pub fn who_for(&self) -> String {
        let ages = match (self.minimum_age, self.maximum_age) {
            (Some(a), Some(b)) => format!("ages {a} to {b}"),
            (Some(a), None) => format!("ages {a} and over"),
            (None, Some(b)) => format!("ages up to {b}"),
            (None, None) => "all ages".into(),
        };
        match self.gender.as_deref() {
            Some("female") => format!("Women, {ages}"),
            Some("male") => format!("Men, {ages}"),
            _ => format!("Anyone, {ages}"),
        }
    }

    /// The first location's address.
    pub fn address(&self) -> String {
        self.locations
            .first()
            .map(LocationView::address)
            .unwrap_or_default()
    }

    /// What the shortlist keeps of this service (in the browser only).
    pub fn shortlist_json(&self) -> String {
        let entry = ShortlistEntry {
            id: &self.id,
            name: &self.name,
            organization: &self.organization.name,
            phones: self
                .phones
                .iter()
                .map(|p| match &p.description {
                    Some(d) => format!("{} ({d})", p.number),
                    None => p.number.clone(),
                })
                .collect(),
            refer: self.refer(),
            address: self.address(),
            hours: self.hours(),
            url: self.url.as_deref().unwrap_or(""),
        };
        serde_json::to_string(&entry).unwrap_or_else(|_| "{}".into())
    }
}

#[derive(Serialize)]
struct ShortlistEntry<'a> {
    id: &'a str,
    name: &'a str,
    organization: &'a str,
    phones: Vec<String>,
    refer: String,
    address: String,
    hours: String,
    url: &'a str,
}

fn day_short(day: &str) -> &str {
    match day {
        "monday" => "Mon",
        "tuesday" => "Tue",
        "wednesday" => "Wed",
        "thursday" => "Thu",
        "friday" => "Fri",
        "saturday" => "Sat",
        "sunday" => "Sun",
        other => other,
    }
}

/// Delivery modes and their words, in the order forms list them.
pub const DELIVERY_MODES: &[(&str, &str)] = &[
    ("in_person", "In person"),
    ("telephone", "Telephone"),
    ("online", "Online"),
    ("home_visit", "Home visit"),
];

/// A delivery mode in words.
pub fn mode_label(mode: &str) -> &str {
    DELIVERY_MODES
        .iter()
        .find(|(m, _)| *m == mode)
        .map_or(mode, |(_, label)| label)
}

/// A warning as a page shows it: its words, and a weight for its colour (the words say
/// it without colour).
pub struct Alert {
    /// `danger` (do not refer without checking) or `warn` (check first).
    pub level: &'static str,
    /// The warning's message, as search gave it.
    pub text: String,
}

impl Alert {
    /// The alert a page shows for this warning, with how serious it is.
    pub fn from_warning(w: &Warning) -> Self {
        let level = match w.code {
            "temporarily_closed" | "inactive" | "defunct" | "not_accepting" | "possibly_closed" => {
                "danger"
            }
            _ => "warn",
        };
        Alert {
            level,
            text: w.message.clone(),
        }
    }
}

/// The eligibility verdict with the sentence to read out.
pub struct VerdictView {
    /// CSS class of the badge: `eligible`, `not_eligible` or `unknown`.
    pub class: &'static str,
    /// The badge's words, e.g. "Can see this caller".
    pub label: &'static str,
    /// The sentence a navigator can read out.
    pub reason: String,
}

impl VerdictView {
    /// The eligibility badge for this answer.
    pub fn new(a: &Answer) -> Self {
        let (class, label) = match a.verdict {
            Verdict::Eligible => ("eligible", "Can see this caller"),
            Verdict::NotEligible => ("not_eligible", "Cannot see this caller"),
            Verdict::Unknown => ("unknown", "Check eligibility"),
        };
        VerdictView {
            class,
            label,
            reason: a.reason.clone(),
        }
    }
}

/// One search result, ready for the page.
pub struct Card {
    /// The service as the search summary shows it.
    pub service: Listed,
    /// HTML-escaped by the search, with the question's words in `<b>`.
    pub snippet_html: String,
    /// The hit's warnings, in words with their weight.
    pub alerts: Vec<Alert>,
    /// Whether it can see the caller, when the search said who they are.
    pub verdict: Option<VerdictView>,
    /// Distance from the caller, e.g. "3.2 km"; None without the caller's location.
    pub distance: Option<String>,
    /// True for a crisis service, which the card marks as one.
    pub crisis: bool,
    /// The worst alert's weight, for the card's edge: `danger`, `warn` or "".
    pub tone: &'static str,
    /// Where the record came from, when another directory supplies it.
    pub origin: Option<String>,
}

impl Card {
    /// The result card for this hit.
    pub fn new(hit: &Hit) -> Self {
        let service = Listed::from_json(hit.service.get());
        let alerts: Vec<Alert> = hit.warnings.iter().map(Alert::from_warning).collect();
        let tone = tone(&alerts);
        let origin = service.source.as_ref().map(|s| s.text(hit.source_read_at));
        Card {
            crisis: service
                .categories
                .iter()
                .any(|c| c == crate::understand::CRISIS),
            service,
            snippet_html: hit.snippet.clone(),
            verdict: hit.eligibility.as_ref().map(VerdictView::new),
            distance: hit.distance_km.map(|d| format!("{d:.1} km")),
            origin,
            alerts,
            tone,
        }
    }
}

/// The worst weight among alerts.
pub fn tone(alerts: &[Alert]) -> &'static str {
    if alerts.iter().any(|a| a.level == "danger") {
        "danger"
    } else if alerts.is_empty() {
        ""
    } else {
        "warn"
    }
}
