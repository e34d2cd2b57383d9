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
    #[default]
    Active,
    TemporarilyClosed,
    Inactive,
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
    InPerson,
    Telephone,
    Online,
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
    SelfReferral,
    ProfessionalReferral,
    Both,
}

/// Whether the service is taking people on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Accepting {
    Open,
    Waitlist,
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
    #[default]
    Any,
    Female,
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
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// Why a temporarily closed service is closed, and when it expects to reopen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemporaryClosure {
    pub reason: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopens_on: Option<NaiveDate>,
}

/// How to refer someone: who may, where, and what to say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Referral {
    pub route: ReferralRoute,
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
    pub number: Phone,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Label>,
}

/// A named person to ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
}

/// Whether the service is free, and what it costs if not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    pub free: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

/// When the service is open on one day of the week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    pub day: Weekday,
    pub opens: ClockTime,
    pub closes: ClockTime,
}

/// Capacity as the partner last said it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    pub accepting: Accepting,
    /// Only with waitlist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 260)]
    pub waiting_weeks: Option<u16>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_1: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<PostalCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 49, maximum = 61)]
    pub latitude: Option<f64>,
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
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_name: Option<Name>,
    pub description: Text,
    #[schema(min_items = 1, max_items = 10)]
    pub categories: Vec<CategoryId>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub keywords: Vec<Label>,
    #[serde(default)]
    pub status: ServiceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_closure: Option<TemporaryClosure>,
    #[schema(min_items = 1)]
    pub delivery_modes: Vec<DeliveryMode>,
    pub referral: Referral,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<WebUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub phones: Vec<PhoneEntry>,
    /// Named people to ask for: staff only (any API key).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub languages: Vec<Language>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub opening_hours: Vec<OpeningHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours_description: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 120)]
    pub minimum_age: Option<u8>,
    /// Not below minimum_age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 120)]
    pub maximum_age: Option<u8>,
    #[serde(default)]
    pub gender: Gender,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility_description: Option<Text>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub coverage: Coverage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Last confirmed accurate by a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assured_date: Option<NaiveDate>,
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
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<WebUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charity_number: Option<Label>,
}

/// Fields the server keeps for every record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordMeta {
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
}

/// An organisation as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Organization {
    pub id: Uuid,
    #[serde(flatten)]
    pub content: OrganizationContent,
    pub retired: bool,
    #[serde(flatten)]
    pub meta: RecordMeta,
}

/// A service as stored and served, with its organisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub id: Uuid,
    pub organization: Organization,
    #[serde(flatten)]
    pub content: ServiceContent,
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
