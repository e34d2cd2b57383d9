//! Services and organisations, named after HSDS 3.1 / Open Referral UK fields.

use super::FieldError;
use super::coverage::Coverage;
use super::fields::{
    CategoryId, ClockTime, Email, Label, Language, Name, Phone, PostalCode, Text, WebUrl,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Whether a service is running (HSDS `status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    /// Running as usual (the default).
    #[default]
    Active,
    /// Closed for a while; `temporary_closure` says why and when it may reopen.
    TemporarilyClosed,
    /// Not running at the moment; hidden from search unless asked for.
    Inactive,
    /// Closed for good, as retiring leaves it; hidden from search unless asked, not in feeds.
    Defunct,
}

impl ServiceStatus {
    /// Every status, in the order facets list them.
    pub const ALL: [ServiceStatus; 4] = [
        ServiceStatus::Active,
        ServiceStatus::TemporarilyClosed,
        ServiceStatus::Inactive,
        ServiceStatus::Defunct,
    ];

    /// The API name, e.g. `temporarily_closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Active => "active",
            ServiceStatus::TemporarilyClosed => "temporarily_closed",
            ServiceStatus::Inactive => "inactive",
            ServiceStatus::Defunct => "defunct",
        }
    }

    /// The status with this name, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// How people receive the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    /// At a place the person goes to (see `locations`).
    InPerson,
    /// By telephone; never excluded by a search's `within_km`.
    Telephone,
    /// Online; never excluded by a search's `within_km`.
    Online,
    /// At the person's home.
    HomeVisit,
}

impl DeliveryMode {
    /// Every delivery mode, in the order facets list them.
    pub const ALL: [DeliveryMode; 4] = [
        DeliveryMode::InPerson,
        DeliveryMode::Telephone,
        DeliveryMode::Online,
        DeliveryMode::HomeVisit,
    ];

    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::InPerson => "in_person",
            DeliveryMode::Telephone => "telephone",
            DeliveryMode::Online => "online",
            DeliveryMode::HomeVisit => "home_visit",
        }
    }

    /// The delivery mode with this name, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Who may refer someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReferralRoute {
    /// People may refer themselves.
    SelfReferral,
    /// Only a professional, such as a GP, may refer.
    ProfessionalReferral,
    /// People may refer themselves or be referred by a professional.
    Both,
}

/// Whether the service is taking people on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Accepting {
    /// Taking people on now.
    Open,
    /// Taking people on to a waiting list; `waiting_weeks` may say for how long.
    Waitlist,
    /// Not taking referrals at the moment.
    Closed,
}

impl Accepting {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Accepting::Open => "open",
            Accepting::Waitlist => "waitlist",
            Accepting::Closed => "closed",
        }
    }
}

/// Who the service is for by gender.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Open to people of any gender (the default).
    #[default]
    Any,
    /// For women only.
    Female,
    /// For men only.
    Male,
}

impl Gender {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Any => "any",
            Gender::Female => "female",
            Gender::Male => "male",
        }
    }
}

/// A day of the week, for opening hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

/// Why a temporarily closed service is closed, and when it expects to reopen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemporaryClosure {
    /// Why it is closed, shown to callers in search's `temporarily_closed` warning.
    pub reason: Text,
    /// The day it expects to reopen (`YYYY-MM-DD`); omitted when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopens_on: Option<NaiveDate>,
}

/// How to refer someone: who may, where, and what to say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Referral {
    /// Who may make the referral.
    pub route: ReferralRoute,
    /// Where to refer online, such as a referral form; visited by the link checker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<WebUrl>,
    /// How to refer; staff-only once roles exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Text>,
}

/// A phone number and what it is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneEntry {
    /// The number as people dial it, spacing kept as written.
    pub number: Phone,
    /// What the number is for, e.g. "Text relay" or "Out of hours"; at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Label>,
}

/// A named person to ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The person's name.
    pub name: Name,
    /// Their job title or role, e.g. "Volunteer coordinator".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Label>,
    /// Their own email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Their own phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
}

/// Whether the service is free, and what it costs if not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    /// True when the service costs the person nothing.
    pub free: bool,
    /// What it costs, in words (charges, concessions); usually given only when not free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

/// When the service is open on one day of the week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// The day of the week these hours are for.
    pub day: Weekday,
    /// Opening time as `HH:MM` on the 24-hour clock.
    pub opens: ClockTime,
    /// Closing time as `HH:MM` on the 24-hour clock; must be after `opens`.
    pub closes: ClockTime,
}

/// Capacity as the partner last said it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Whether it is taking referrals: open, on a waiting list, or closed.
    pub accepting: Accepting,
    /// Only with waitlist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 260)]
    pub waiting_weeks: Option<u16>,
    /// Places free now; omitted when the partner does not count them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub places: Option<u32>,
    /// Set by the server whenever the capacity changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Capacity {
    /// Same capacity, whenever it was said.
    pub fn same_as(&self, other: &Capacity) -> bool {
        self.accepting == other.accepting
            && self.waiting_weeks == other.waiting_weeks
            && self.places == other.places
    }
}

/// Where the service is delivered: address, postcode and coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// The venue's name, e.g. "Longsight Library".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// First line of the street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_1: Option<Name>,
    /// Town or city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<Name>,
    /// A full UK postcode, stored normalised (`M14 5AB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<PostalCode>,
    /// Latitude in degrees (WGS84); with `longitude`, what search measures distances to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 49, maximum = 61)]
    pub latitude: Option<f64>,
    /// Longitude in degrees (WGS84); given with `latitude` or not at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = -9, maximum = 2.5)]
    pub longitude: Option<f64>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Everything a partner or administrator edits about a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceContent {
    /// What the service is called; words in it count most in search.
    pub name: Name,
    /// Another name it goes by, such as an acronym; searchable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_name: Option<Name>,
    /// What the service does and for whom, in plain words; searchable.
    pub description: Text,
    /// One to ten taxonomy ids (GET /v1/taxonomy lists them).
    #[schema(min_items = 1, max_items = 10)]
    pub categories: Vec<CategoryId>,
    /// More words to find it by, e.g. callers' own words; searched but not shown in results.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub keywords: Vec<Label>,
    /// Whether it is running; `active` when omitted.
    #[serde(default)]
    pub status: ServiceStatus,
    /// Why and until when it is closed; required with, and only with, `temporarily_closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_closure: Option<TemporaryClosure>,
    /// How people receive it; at least one.
    #[schema(min_items = 1)]
    pub delivery_modes: Vec<DeliveryMode>,
    /// Who may refer and how.
    pub referral: Referral,
    /// The service's own web page; visited by the link checker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<WebUrl>,
    /// Email address for enquiries, shown to everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Phone numbers, each with what it is for; shown to everyone.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub phones: Vec<PhoneEntry>,
    /// Named people to ask for: staff only (any API key).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub contacts: Vec<Contact>,
    /// Languages it is offered in, as ISO 639 codes; empty is taken as English only.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub languages: Vec<Language>,
    /// Whether it is free and what it costs if not; omitted when not stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// Regular opening times, one entry per day and session.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub opening_hours: Vec<OpeningHours>,
    /// Opening times in words, e.g. exceptions or "by appointment only".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours_description: Option<Text>,
    /// Youngest age accepted, in years; no lower limit when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 120)]
    pub minimum_age: Option<u8>,
    /// Not below minimum_age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 120)]
    pub maximum_age: Option<u8>,
    /// Which genders it is for; `any` when omitted.
    #[serde(default)]
    pub gender: Gender,
    /// Who it is for, in words (e.g. "carers of people with dementia"); searchable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility_description: Option<Text>,
    /// Where callers must live or have their GP; omitted when the service has not said.
    #[serde(default, skip_serializing_if = "is_default")]
    pub coverage: Coverage,
    /// Whether it is taking referrals, as its partner last said; omitted when never stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Last confirmed accurate by a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assured_date: Option<NaiveDate>,
    /// Places it is delivered; search gives the distance to the nearest with coordinates.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub locations: Vec<Location>,
}

fn too_many<T>(out: &mut Vec<FieldError>, field: &str, items: &[T], max: usize) {
    if items.len() > max {
        out.push(FieldError::new(
            field,
            format!("at most {max} entries are allowed"),
        ));
    }
}

impl ServiceContent {
    /// Checks the rules that involve more than one field.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        if self.categories.is_empty() {
            out.push(FieldError::new(
                "categories",
                "give at least one category (GET /v1/taxonomy lists them)",
            ));
        }
        if self.delivery_modes.is_empty() {
            out.push(FieldError::new(
                "delivery_modes",
                "give at least one of in_person, telephone, online, home_visit",
            ));
        }
        too_many(&mut out, "categories", &self.categories, 10);
        too_many(&mut out, "keywords", &self.keywords, 50);
        too_many(&mut out, "phones", &self.phones, 20);
        too_many(&mut out, "contacts", &self.contacts, 20);
        too_many(&mut out, "languages", &self.languages, 50);
        too_many(&mut out, "opening_hours", &self.opening_hours, 50);
        too_many(&mut out, "locations", &self.locations, 100);
        for (field, age) in [
            ("minimum_age", self.minimum_age),
            ("maximum_age", self.maximum_age),
        ] {
            if age.is_some_and(|a| a > 120) {
                out.push(FieldError::new(field, "an age must be between 0 and 120"));
            }
        }
        if let (Some(min), Some(max)) = (self.minimum_age, self.maximum_age)
            && min > max
        {
            out.push(FieldError::new(
                "maximum_age",
                format!("maximum_age ({max}) must not be below minimum_age ({min})"),
            ));
        }
        match (self.status, &self.temporary_closure) {
            (ServiceStatus::TemporarilyClosed, None) => out.push(FieldError::new(
                "temporary_closure",
                "a temporarily closed service needs temporary_closure with a reason (and reopens_on if known)",
            )),
            (s, Some(_)) if s != ServiceStatus::TemporarilyClosed => out.push(FieldError::new(
                "temporary_closure",
                "temporary_closure is only for status temporarily_closed",
            )),
            _ => {}
        }
        if let Some(c) = &self.capacity {
            if c.waiting_weeks.is_some_and(|w| w > 260) {
                out.push(FieldError::new(
                    "capacity.waiting_weeks",
                    "a waiting time must be at most 260 weeks",
                ));
            }
            if c.waiting_weeks.is_some() && c.accepting != Accepting::Waitlist {
                out.push(FieldError::new(
                    "capacity.waiting_weeks",
                    "waiting_weeks is only for accepting = waitlist",
                ));
            }
        }
        for (i, h) in self.opening_hours.iter().enumerate() {
            if h.opens.as_str() >= h.closes.as_str() {
                out.push(FieldError::new(
                    format!("opening_hours[{i}].closes"),
                    "closing time must be after opening time",
                ));
            }
        }
        for (i, l) in self.locations.iter().enumerate() {
            if l.latitude.is_some_and(|v| !(49.0..=61.0).contains(&v)) {
                out.push(FieldError::new(
                    format!("locations[{i}].latitude"),
                    "latitude must be within the UK (49 to 61)",
                ));
            }
            if l.longitude.is_some_and(|v| !(-9.0..=2.5).contains(&v)) {
                out.push(FieldError::new(
                    format!("locations[{i}].longitude"),
                    "longitude must be within the UK (-9 to 2.5)",
                ));
            }
            if l.latitude.is_some() != l.longitude.is_some() {
                out.push(FieldError::new(
                    format!("locations[{i}]"),
                    "give both latitude and longitude, or neither",
                ));
            }
        }
        out.extend(
            self.coverage
                .problems()
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m)),
        );
        out
    }
}

/// What an organisation says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationContent {
    /// The organisation's name, e.g. its registered charity name.
    pub name: Name,
    /// Another name it goes by, such as an acronym.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_name: Option<Name>,
    /// What the organisation does, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    /// The organisation's home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<WebUrl>,
    /// Email address for general enquiries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Phone number for general enquiries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    /// Registered charity number, e.g. `1012345` or `SC012345`; omitted if not a charity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charity_number: Option<Label>,
}

/// Fields the server keeps for every record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordMeta {
    /// 1 when created, one more with each change; the record's ETag, checked by If-Match.
    pub version: i64,
    /// When the record was first stored (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record last changed (UTC).
    pub last_modified: DateTime<Utc>,
}

/// An organisation as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Organization {
    /// The organisation's UUID; kept from the input if given, otherwise a new v7.
    pub id: Uuid,
    /// What the organisation says about itself, flattened into the record's JSON.
    #[serde(flatten)]
    pub content: OrganizationContent,
    /// True once retired: its running services became defunct and none may be added.
    pub retired: bool,
    /// Version and timestamps, flattened into the record's JSON.
    #[serde(flatten)]
    pub meta: RecordMeta,
}

/// A service as stored and served, with its organisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// The service's UUID; kept from the input if given, otherwise a new v7.
    pub id: Uuid,
    /// The organisation that runs it, in full.
    pub organization: Organization,
    /// Everything a partner or administrator edits, flattened into the record's JSON.
    #[serde(flatten)]
    pub content: ServiceContent,
    /// Version and timestamps, flattened into the record's JSON.
    #[serde(flatten)]
    pub meta: RecordMeta,
    /// Where the record came from when another directory's feed supplies it; `None` for
    /// records kept here. Read-only: only pulls from the source change such a record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Provenance>,
}

/// Where a record read from another directory's feed came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Provenance {
    /// The registered source's id, as GET /v1/admin/sources lists it.
    pub source_id: Uuid,
    /// The source's name as the administrator registered it.
    pub name: String,
    /// The record's id in the source.
    pub record_id: String,
    /// When signpost last took a changed copy from the source.
    pub copied_at: DateTime<Utc>,
    /// When a full pull of the source first no longer found it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vanished_at: Option<DateTime<Utc>>,
}

/// How a source's copy stands, as search shows it beside each of its records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceHealth {
    /// The source's name as the administrator registered it.
    pub name: String,
    /// When a pull last read the source to the end: its records are as fresh as this.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Set while the latest pull failed, with what went wrong.
    pub failing: Option<String>,
}

impl Service {
    /// The service as anyone may see it: named contacts and referral instructions are for
    /// staff (a request with an API key) only.
    pub fn without_staff_fields(mut self) -> Self {
        self.content.contacts.clear();
        self.content.referral.instructions = None;
        self
    }
}
