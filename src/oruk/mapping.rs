//! signpost's records as Open Referral UK 3.0 (HSDS-UK) objects, written once. README's
//! "Open Referral UK" table says what maps where, what is an extension and what is lost.
//!
//! ORUK gives every nested object its own UUID; signpost's nested parts (locations,
//! schedules, coverage rules…) have none, so theirs are UUID v5 names made from the
//! service's id and the part's place, stable for as long as the part is.

use crate::domain::taxonomy::{CATEGORIES, Category};
use crate::domain::{Organization, Service, ServiceStatus};
use serde_json::{Value, json};
use uuid::Uuid;

/// The namespace of every derived id.
const NAMESPACE: Uuid = Uuid::from_u128(0x5167_0a1c_0000_5000_8000_0000_0000_0001);

/// The cost option of a service that charges and says no more.
pub const CHARGES_APPLY: &str = "Charges apply";

/// The published vocabulary: signpost's categories.
pub const TAXONOMY_NAME: &str = "signpost-categories";

/// A stable id for a part of a record.
pub fn derived_id(parts: &[&str]) -> Uuid {
    Uuid::new_v5(&NAMESPACE, parts.join("/").as_bytes())
}

/// The taxonomy's id.
pub fn taxonomy_id() -> Uuid {
    derived_id(&["taxonomy", TAXONOMY_NAME])
}

/// A category's term id.
pub fn term_id(category: &str) -> Uuid {
    derived_id(&["taxonomy_term", TAXONOMY_NAME, category])
}

/// The category a term id names, if any.
pub fn category_of_term(id: &str) -> Option<&'static Category> {
    let id = Uuid::parse_str(id.trim()).ok()?;
    CATEGORIES.iter().find(|c| term_id(c.id) == id)
}

/// The taxonomy object.
pub fn taxonomy() -> Value {
    json!({
        "id": taxonomy_id(),
        "name": TAXONOMY_NAME,
        "description": "The categories of community service that signpost's directory uses: debt advice, befriending, bereavement support, food…",
        "version": "1",
    })
}

/// A term of the taxonomy.
pub fn term(c: &Category) -> Value {
    json!({
        "id": term_id(c.id),
        "name": c.name,
        "description": c.description,
        "taxonomy": TAXONOMY_NAME,
        "taxonomy_id": taxonomy_id(),
        "term": c.id,
    })
}

/// ORUK's words for a status (a temporary closure is "temporarily closed").
pub fn status(s: ServiceStatus) -> &'static str {
    match s {
        ServiceStatus::Active => "active",
        ServiceStatus::TemporarilyClosed => "temporarily closed",
        ServiceStatus::Inactive => "inactive",
        ServiceStatus::Defunct => "defunct",
    }
}

/// An organisation; with `services`, those it runs (each as a short service).
pub fn organization(o: &Organization, services: Option<&[Service]>) -> Value {
    let c = &o.content;
    let mut v = json!({
        "id": o.id,
        "name": c.name.as_str(),
        "description": c.description.as_ref().map_or("", |d| d.as_str()),
    });
    if let Some(e) = &c.email {
        v["email"] = json!(e.as_str());
    }
    if let Some(w) = &c.website {
        v["website"] = json!(w.as_str());
    }
    if let Some(n) = &c.charity_number {
        v["organization_identifiers"] = json!([{
            "id": derived_id(&["organization_identifier", &o.id.to_string(), "charity"]),
            "organization_id": o.id,
            "identifier_scheme": "GB-CHC",
            "identifier_type": "Charity number",
            "identifier": n.as_str(),
        }]);
    }
    if let Some(list) = services {
        v["services"] = Value::Array(list.iter().map(|s| service(s, false)).collect());
    }
    v
}

/// One service-at-location: a service at one of its locations.
pub fn service_at_location(s: &Service, index: usize, with_service: bool) -> Value {
    let sid = s.id.to_string();
    let id = derived_id(&["service_at_location", &sid, &index.to_string()]);
    let location_id = derived_id(&["location", &sid, &index.to_string()]);
    let Some(l) = s.content.locations.get(index) else {
        return json!({"id": id, "service_id": s.id});
    };
    let mut location = json!({
        "id": location_id,
        "location_type": "physical",
        "name": l.name.as_ref().map_or(s.content.name.as_str(), |n| n.as_str()),
    });
    if let (Some(lat), Some(lon)) = (l.latitude, l.longitude) {
        location["latitude"] = json!(lat);
        location["longitude"] = json!(lon);
    }
    if l.address_1.is_some() || l.postal_code.is_some() || l.city.is_some() {
        location["addresses"] = json!([{
            "id": derived_id(&["address", &sid, &index.to_string()]),
            "location_id": location_id,
            "address_1": l.address_1.as_ref().or(l.name.as_ref()).map_or("", |a| a.as_str()),
            "city": l.city.as_ref().map_or("", |c| c.as_str()),
            "state_province": "",
            "postal_code": l.postal_code.as_ref().map_or("", |p| p.as_str()),
            "country": "GB",
            "address_type": "physical",
        }]);
    }
    let mut v = json!({
        "id": id,
        "service_id": s.id,
        "location_id": location_id,
        "location": location,
    });
    if with_service {
        v["service"] = service(s, false);
    }
    v
}

/// A service. `full`: with its nested parts (schedules, areas, locations, languages,
/// organisation, costs, phones, taxonomy terms); otherwise the service's own fields.
/// Only what anyone may see: named contacts and referral instructions are left out.
pub fn service(s: &Service, full: bool) -> Value {
    let c = &s.content;
    let sid = s.id.to_string();
    let mut v = json!({
        "id": s.id,
        "organization_id": s.organization.id,
        "name": c.name.as_str(),
        "description": c.description.as_str(),
        "status": status(c.status),
        "last_modified": s.meta.last_modified.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    if let Some(u) = &c.url {
        v["url"] = json!(u.as_str());
    }
    if let Some(e) = &c.email {
        v["email"] = json!(e.as_str());
    }
    if let Some(a) = c.minimum_age {
        v["minimum_age"] = json!(a);
    }
    if let Some(a) = c.maximum_age {
        v["maximum_age"] = json!(a);
    }
    if let Some(d) = c.assured_date {
        v["assured_date"] = json!(d.to_string());
    }
    if let Some(t) = &c.temporary_closure {
        v["alert"] = json!(match t.reopens_on {
            Some(d) => format!(
                "Temporarily closed: {}. Expected to reopen on {d}.",
                t.reason.as_str()
            ),
            None => format!("Temporarily closed: {}.", t.reason.as_str()),
        });
    }
    if let Some(e) = &c.eligibility_description {
        v["eligibility_description"] = json!(e.as_str());
    }
    if !full {
        return v;
    }
    v["organization"] = organization(&s.organization, None);
    v["schedules"] = Value::Array(
        c.opening_hours
            .iter()
            .enumerate()
            .map(|(i, h)| {
                json!({
                    "id": derived_id(&["schedule", &sid, &i.to_string()]),
                    "service_id": s.id,
                    "freq": "WEEKLY",
                    "interval": 1,
                    "byday": weekday(h.day),
                    "opens_at": h.opens.as_str(),
                    "closes_at": h.closes.as_str(),
                })
            })
            .chain(c.opening_hours_description.iter().map(|d| {
                json!({
                    "id": derived_id(&["schedule", &sid, "description"]),
                    "service_id": s.id,
                    "description": d.as_str(),
                })
            }))
            .collect(),
    );
    let areas = c
        .coverage
        .include
        .iter()
        .map(|r| ("include", r))
        .chain(c.coverage.exclude.iter().map(|r| ("exclude", r)));
    v["service_areas"] = Value::Array(
        areas
            .enumerate()
            .map(|(i, (how, rule))| {
                let raw = serde_json::to_value(rule).unwrap_or(Value::Null);
                let kind = raw["type"].as_str().unwrap_or("").to_string();
                let value = raw["value"].as_str().unwrap_or("").to_string();
                let name = match (how, value.is_empty()) {
                    ("include", true) => kind.replace('_', " "),
                    ("include", false) => format!("{} {value}", kind.replace('_', " ")),
                    (_, _) => format!("not {} {value}", kind.replace('_', " ")),
                };
                json!({
                    "id": derived_id(&["service_area", &sid, &i.to_string()]),
                    "service_id": s.id,
                    "name": name.trim(),
                    "service_area": value,
                    "extent_type": format!("signpost:{how}:{kind}"),
                })
            })
            .collect(),
    );
    v["service_at_locations"] = Value::Array(
        (0..c.locations.len())
            .map(|i| service_at_location(s, i, false))
            .collect(),
    );
    v["languages"] = Value::Array(
        c.languages
            .iter()
            .map(|l| {
                json!({
                    "id": derived_id(&["language", &sid, l.as_str()]),
                    "service_id": s.id,
                    "code": l.as_str(),
                })
            })
            .collect(),
    );
    v["phones"] = Value::Array(
        c.phones
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut phone = json!({
                    "id": derived_id(&["phone", &sid, &i.to_string()]),
                    "service_id": s.id,
                    "number": p.number.as_str(),
                });
                if let Some(d) = &p.description {
                    phone["description"] = json!(d.as_str());
                }
                phone
            })
            .collect(),
    );
    if let Some(cost) = &c.cost {
        let mut option = json!({
            "id": derived_id(&["cost_option", &sid]),
            "service_id": s.id,
            "option": if cost.free { "Free" } else { CHARGES_APPLY },
        });
        if cost.free {
            option["amount"] = json!(0);
        }
        if let Some(d) = &cost.description {
            option["amount_description"] = json!(d.as_str());
        }
        v["cost_options"] = json!([option]);
    }
    v["contacts"] = json!([]);
    v["attributes"] = Value::Array(
        c.categories
            .iter()
            .filter_map(|id| crate::domain::taxonomy::find(id.as_str()))
            .map(|cat| {
                json!({
                    "id": derived_id(&["attribute", &sid, cat.id]),
                    "link_id": s.id,
                    "link_type": "service",
                    "taxonomy_term_id": term_id(cat.id),
                    "taxonomy_term": term(cat),
                })
            })
            .collect(),
    );
    // Extensions: what navigators need and ORUK has no field for.
    let mut ext = json!({
        "delivery_modes": c.delivery_modes.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "referral_route": serde_json::to_value(c.referral.route).unwrap_or(Value::Null),
        "gender": c.gender.as_str(),
    });
    if let Some(u) = &c.referral.url {
        ext["referral_url"] = json!(u.as_str());
    }
    if let Some(cap) = &c.capacity {
        ext["capacity"] = serde_json::to_value(cap).unwrap_or(Value::Null);
    }
    if let Some(t) = &c.temporary_closure {
        ext["temporary_closure"] = serde_json::to_value(t).unwrap_or(Value::Null);
    }
    if let Some(p) = &s.source {
        // Republished with where it came from, so a reader can go to the source itself.
        ext["source"] = json!({"name": p.name, "record_id": p.record_id, "copied_at": p.copied_at});
    }
    v["x_signpost"] = ext;
    v
}

fn weekday(d: crate::domain::Weekday) -> &'static str {
    use crate::domain::Weekday::*;
    match d {
        Monday => "MO",
        Tuesday => "TU",
        Wednesday => "WE",
        Thursday => "TH",
        Friday => "FR",
        Saturday => "SA",
        Sunday => "SU",
    }
}
