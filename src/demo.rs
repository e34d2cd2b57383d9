//! A realistic demo directory: Greater Manchester's ten boroughs, their postcode
//! districts, real GP practice and PCN codes, and services written the way directories
//! describe them, with a mix of statuses, capacity and coverage. The data is
//! `demo/directory.json` (see `demo/README.md`); this module turns it into services.

use anyhow::Context;
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// The demo directory's data (`demo/directory.json`, built into the binary): boroughs
/// with their reference codes, and the services each borough has, written as templates
/// in which `{b}` stands for the borough's name.
#[derive(Deserialize)]
struct DemoData {
    boroughs: Vec<Borough>,
    templates: Vec<Template>,
    /// Names given as services' contacts.
    contacts: Vec<String>,
    /// Why a temporarily closed service is closed.
    closure_reasons: Vec<String>,
}

/// The demo's data, as shipped.
const DATA: &str = include_str!("../demo/directory.json");

#[derive(Deserialize)]
struct Borough {
    name: String,
    local_authority: String,
    sub_icb: String,
    pcn: String,
    /// A postcode in the town centre, for services there.
    town_centre: String,
    /// Roughly where the borough's hub is.
    hub: Hub,
    districts: Vec<String>,
    practices: Vec<Practice>,
}

#[derive(Deserialize)]
struct Hub {
    latitude: f64,
    longitude: f64,
}

/// A GP practice (real ODS code).
#[derive(Deserialize)]
struct Practice {
    code: String,
    postcode: String,
}

/// A kind of service; `{b}` in its names and description is the borough's name. One
/// without `{b}` in its organisation is regional and listed once.
#[derive(Deserialize)]
struct Template {
    name: String,
    organization: String,
    categories: Vec<String>,
    description: String,
    keywords: Vec<String>,
    delivery_modes: Vec<String>,
    referral_route: String,
    minimum_age: Option<u8>,
    maximum_age: Option<u8>,
    gender: String,
    free: bool,
    reach: Reach,
}
/// Who a template's services cover.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reach {
    /// Residents of the borough (local authority).
    Borough,
    /// Residents of a few named districts.
    Districts,
    /// Patients of the borough's GP practices (sub-ICB).
    Registered,
    /// Patients of one Primary Care Network.
    Pcn,
    /// Patients of two named practices.
    Practices,
    /// Anyone in the UK.
    National,
    /// The borough, except its first district.
    BoroughExceptOne,
}

fn phone_for(seed: usize, borough: usize) -> String {
    let area = [
        "01204", "0161", "0161", "0161", "01706", "0161", "0161", "0161", "0161", "01942",
    ][borough];
    let n = 2_000_000 + (seed * 7919) % 7_000_000;
    if area == "0161" {
        format!("0161 {:03} {:04}", n / 10_000 % 1000, n % 10_000)
    } else {
        format!("{area} {:06}", n % 1_000_000)
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            ' ' | '-' => Some('-'),
            _ => None,
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn demo_id(kind: u128, n: usize) -> Uuid {
    Uuid::from_u128((0x5167_0000_0000_7000_8000_0000_0000_0000u128) | (kind << 64) | n as u128)
}

fn coverage(reach: Reach, b: &Borough, seed: usize) -> Value {
    let rule = |t: &str, v: &str| json!({"type": t, "value": v});
    match reach {
        Reach::Borough => json!({"include": [rule("local_authority", &b.local_authority)]}),
        Reach::Districts => {
            let n = b.districts.len();
            let picked: Vec<Value> = (0..3.min(n))
                .map(|k| rule("district", &b.districts[(seed + k) % n]))
                .collect();
            json!({"include": picked})
        }
        Reach::Registered => json!({"include": [rule("sub_icb", &b.sub_icb)]}),
        Reach::Pcn => json!({"include": [rule("pcn", &b.pcn)]}),
        Reach::Practices => {
            json!({"include": [rule("gp_practice", &b.practices[0].code), rule("gp_practice", &b.practices[1].code)]})
        }
        Reach::National => json!({"include": [{"type": "national"}]}),
        Reach::BoroughExceptOne => json!({
            "include": [rule("local_authority", &b.local_authority)],
            "exclude": [rule("district", &b.districts[0])]
        }),
    }
}

/// The demo directory as service records in import format (one JSON object each).
pub fn services() -> anyhow::Result<Vec<Value>> {
    let data: DemoData = serde_json::from_str(DATA).context("reading demo/directory.json")?;
    let now = Utc::now();
    let mut out = Vec::new();
    let mut org_ids: Vec<(String, Uuid)> = Vec::new();
    let mut n = 0usize;
    for (bi, b) in data.boroughs.iter().enumerate() {
        for (ti, t) in data.templates.iter().enumerate() {
            let regional = !t.organization.contains("{b}");
            // Regional and national services appear once, run from Manchester.
            if regional && b.name != "Manchester" {
                continue;
            }
            n += 1;
            let seed = bi * 101 + ti * 7;
            let org_name = t.organization.replace("{b}", &b.name);
            let org_id = match org_ids.iter().find(|(name, _)| *name == org_name) {
                Some((_, id)) => *id,
                None => {
                    let id = demo_id(1, org_ids.len() + 1);
                    org_ids.push((org_name.clone(), id));
                    id
                }
            };
            let website = format!("https://{}.org.uk/", slug(&org_name));
            let name = if regional {
                t.name.replace("{b}", "Greater Manchester")
            } else if t.name.contains("{b}") {
                t.name.replace("{b}", &b.name)
            } else {
                format!("{} ({})", t.name, b.name)
            };
            let description = t.description.replace("{b}", &b.name);
            let status = match n % 23 {
                5 => "temporarily_closed",
                17 => "inactive",
                _ if n % 97 == 40 => "defunct",
                _ => "active",
            };
            let capacity = match seed % 6 {
                0 | 1 => {
                    json!({"accepting": "open", "updated_at": (now - Duration::days((seed % 40) as i64)).to_rfc3339()})
                }
                2 => {
                    json!({"accepting": "waitlist", "waiting_weeks": 2 + seed % 10, "updated_at": (now - Duration::days((seed % 20) as i64)).to_rfc3339()})
                }
                3 => {
                    json!({"accepting": "closed", "updated_at": (now - Duration::days(3)).to_rfc3339()})
                }
                4 => {
                    json!({"accepting": "open", "updated_at": (now - Duration::days(200 + (seed % 100) as i64)).to_rfc3339()})
                }
                _ => Value::Null,
            };
            let assured = if seed % 5 == 0 {
                Value::Null
            } else {
                let days = if seed % 5 == 1 {
                    250 + seed % 300
                } else {
                    seed % 120
                };
                json!((now - Duration::days(days as i64)).date_naive().to_string())
            };
            let practice = &b.practices[seed % b.practices.len()];
            let district = &b.districts[seed % b.districts.len()];
            let postcode = if b.town_centre.split(' ').next() == Some(district.as_str()) {
                b.town_centre.clone()
            } else {
                practice.postcode.clone()
            };
            let mut svc = json!({
                "id": demo_id(2, n),
                "organization": {"id": org_id, "name": org_name, "website": website},
                "name": name,
                "description": description,
                "categories": t.categories,
                "keywords": t.keywords,
                "status": status,
                "delivery_modes": t.delivery_modes,
                "referral": {
                    "route": t.referral_route,
                    "url": format!("{website}refer"),
                    "instructions": if t.referral_route == "self_referral" { "Call or fill in the online form; we reply within two working days." } else { "Referrals from GPs, navigators and support workers by email with the person's consent." }
                },
                "url": website,
                "email": format!("hello@{}.org.uk", slug(&org_name)),
                "phones": [{"number": phone_for(seed, bi), "description": "Main line"}],
                "contacts": [{"name": data.contacts[seed % data.contacts.len()], "title": "Service coordinator"}],
                "languages": if seed % 4 == 0 { json!(["en", "ur", "pl"]) } else { json!(["en"]) },
                "cost": {"free": t.free, "description": if t.free { Value::Null } else { json!("Small weekly fee; ask about concessions") }},
                "opening_hours": [{"day": "monday", "opens": "09:00", "closes": "17:00"}, {"day": "wednesday", "opens": "09:00", "closes": "17:00"}, {"day": "friday", "opens": "10:00", "closes": "14:00"}],
                "gender": t.gender,
                "coverage": coverage(t.reach, b, seed),
                "capacity": capacity,
                "assured_date": assured,
                "locations": [{
                    "name": format!("{} hub", b.name),
                    "city": b.name,
                    "postal_code": postcode,
                    "latitude": b.hub.latitude + (seed % 7) as f64 * 0.004,
                    "longitude": b.hub.longitude - (seed % 5) as f64 * 0.006,
                }],
            });
            if let Some(min) = t.minimum_age {
                svc["minimum_age"] = json!(min);
            }
            if let Some(max) = t.maximum_age {
                svc["maximum_age"] = json!(max);
            }
            if status == "temporarily_closed" {
                let reopens = (now + Duration::days(14 + (seed % 60) as i64))
                    .date_naive()
                    .to_string();
                svc["temporary_closure"] = json!({"reason": data.closure_reasons[seed % data.closure_reasons.len()], "reopens_on": reopens});
            }
            strip_nulls(&mut svc);
            out.push(svc);
        }
    }
    Ok(out)
}

fn strip_nulls(v: &mut Value) {
    if let Value::Object(map) = v {
        map.retain(|_, x| !x.is_null());
        for x in map.values_mut() {
            strip_nulls(x);
        }
    }
}

/// The demo's reference data (Greater Manchester; see `demo/geo/README.md`), built
/// into the binary so the demo answers eligibility by GP practice on any machine.
const GEO_SLICE: &[(&str, &str)] = &[
    (
        "epraccur_dse_2026-02.csv",
        include_str!("../demo/geo/epraccur_dse_2026-02.csv"),
    ),
    (
        "ePCN_2019-12_core_partner_details.csv",
        include_str!("../demo/geo/ePCN_2019-12_core_partner_details.csv"),
    ),
    (
        "derived_outcode_centroids_active.csv",
        include_str!("../demo/geo/derived_outcode_centroids_active.csv"),
    ),
    (
        "postcodesio_seed_onspd_postcode.csv",
        include_str!("../demo/geo/postcodesio_seed_onspd_postcode.csv"),
    ),
    (
        "postcodesio_sub_icb_locations_ccgs.json",
        include_str!("../demo/geo/postcodesio_sub_icb_locations_ccgs.json"),
    ),
];

/// Writes the built-in reference slice into a new temporary folder, for importing.
pub fn geo_slice() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for (name, text) in GEO_SLICE {
        std::fs::write(dir.path().join(name), text)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_service_is_valid() {
        let all = services().expect("the demo data reads");
        assert!(all.len() >= 300, "only {} services", all.len());
        for s in all {
            if let Err(e) = crate::domain::parse_service(s.clone()) {
                panic!("{e:?} in {s}");
            }
        }
    }
}
