//! Reading other directories' Open Referral UK / HSDS 3.0 services into signpost's
//! import shape: the reverse of `mapping.rs`. What cannot be carried over is said per
//! record, never dropped silently; a record that cannot stand as a signpost service (no
//! organisation, no category to be found) is rejected with its reasons.

use super::mapping;
use crate::domain::fields::{Email, Language, Phone, PostalCode, WebUrl};
use crate::understand::lexicon::Lexicon;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// A need understood from a foreign service's name and description must be this sure to
/// become one of its categories.
const CATEGORY_CONFIDENCE: f32 = 0.8;
/// Categories taken from a description at most.
const CATEGORIES_FROM_TEXT: usize = 3;

/// ORUK fields signpost has nowhere to keep.
const NOT_KEPT: &[&str] = &[
    "fees",
    "fees_description",
    "accreditations",
    "assurer_email",
    "funding",
    "licenses",
    "program",
    "required_documents",
    "interpretation_services",
    "application_process",
    "wait_time",
    "alternate_name",
    "metadata",
];

/// The services in a feed's text: a page (`contents`), an array, one service, or NDJSON.
/// The envelope's counts are not read (files in the wild disagree with their contents).
pub fn services_in(text: &str) -> Result<Vec<Value>, String> {
    let trimmed = text.trim_start();
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return Ok(match v {
            Value::Array(items) => items,
            Value::Object(ref o) if o.contains_key("contents") => o["contents"]
                .as_array()
                .cloned()
                .ok_or("'contents' is not a list of services")?,
            other => vec![other],
        });
    }
    trimmed
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: not JSON: {e}", i + 1)))
        .collect()
}

/// One foreign service in signpost's import shape, with what was not carried over.
pub struct Converted {
    /// The service in the shape `POST /v1/services` accepts.
    pub record: Value,
    /// What was left out or inferred, one sentence each.
    pub notes: Vec<String>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A foreign service's id, as its source names it.
pub fn record_id(s: &Value) -> Option<String> {
    match s.get("id")? {
        Value::String(t) => Some(t.trim().to_string()).filter(|t| !t.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Converts one ORUK service; `Err` says why it cannot be a signpost service.
pub fn convert(s: &Value, lexicon: &Lexicon) -> Result<Converted, String> {
    let mut notes = Vec::new();
    let mut out = Map::new();
    let raw_id = text(s, "id").ok_or("no 'id'")?;
    let id = Uuid::parse_str(&raw_id).unwrap_or_else(|_| {
        notes.push(format!(
            "id '{raw_id}' is not a UUID: kept as a UUID made from it"
        ));
        mapping::derived_id(&["foreign", &raw_id])
    });
    out.insert("id".into(), json!(id));
    let name = text(s, "name").ok_or("no 'name'")?;
    out.insert("name".into(), json!(name));
    let description = text(s, "description").unwrap_or_else(|| {
        notes.push("no description: the name stands in for it".into());
        name.clone()
    });
    out.insert("description".into(), json!(description));
    out.insert("organization".into(), organization(s)?);
    for (key, check) in [
        (
            "url",
            (|v: &str| WebUrl::parse(v).map(drop)) as fn(&str) -> Result<(), String>,
        ),
        ("email", |v: &str| Email::parse(v).map(drop)),
    ] {
        if let Some(v) = text(s, key) {
            match check(&v) {
                Ok(()) => {
                    out.insert(key.into(), json!(v));
                }
                Err(e) => notes.push(format!("{key} '{v}' left out: {e}")),
            }
        }
    }
    let ext = s.get("x_signpost").cloned().unwrap_or(Value::Null);
    status(s, &ext, &mut out, &mut notes);
    for key in ["minimum_age", "maximum_age"] {
        if let Some(a) = s.get(key).and_then(Value::as_f64) {
            if (0.0..=120.0).contains(&a) {
                out.insert(key.into(), json!(a.round() as u8));
            } else {
                notes.push(format!("{key} {a} left out: not an age"));
            }
        }
    }
    if let Some(d) = text(s, "assured_date") {
        match chrono::NaiveDate::parse_from_str(d.get(..10).unwrap_or(&d), "%Y-%m-%d") {
            Ok(date) => {
                out.insert("assured_date".into(), json!(date.to_string()));
            }
            Err(_) => notes.push(format!("assured_date '{d}' left out: not a date")),
        }
    }
    if let Some(t) = text(s, "last_modified")
        && chrono::DateTime::parse_from_rfc3339(&t).is_ok()
    {
        out.insert("last_modified".into(), json!(t));
    }
    if let Some(e) = text(s, "eligibility_description") {
        out.insert("eligibility_description".into(), json!(e));
    }
    out.insert(
        "categories".into(),
        json!(categories(s, &name, &description, lexicon, &mut notes)?),
    );
    phones(s, &mut out, &mut notes);
    languages(s, &mut out, &mut notes);
    cost(s, &mut out);
    schedules(s, &mut out, &mut notes);
    locations(s, &mut out, &mut notes);
    coverage(s, &mut out, &mut notes);
    extensions(&ext, &mut out, &mut notes);
    let not_kept: Vec<&str> = NOT_KEPT
        .iter()
        .copied()
        .filter(|k| {
            s.get(*k)
                .is_some_and(|v| !v.is_null() && v != &json!([]) && v != &json!(""))
        })
        .collect();
    if !not_kept.is_empty() {
        notes.push(format!(
            "not kept (signpost has no field): {}",
            not_kept.join(", ")
        ));
    }
    if s.get("contacts")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty())
    {
        notes.push("named contacts not kept: a feed's contacts carry no role or consent".into());
    }
    Ok(Converted {
        record: Value::Object(out),
        notes,
    })
}

fn organization(s: &Value) -> Result<Value, String> {
    let o = s
        .get("organization")
        .filter(|o| o.is_object())
        .ok_or("no 'organization' object: signpost needs the organisation that runs the service")?;
    let name = text(o, "name").ok_or("the organisation has no name")?;
    let raw = text(o, "id").unwrap_or_else(|| name.clone());
    let id = Uuid::parse_str(&raw).unwrap_or_else(|_| mapping::derived_id(&["foreign-org", &raw]));
    let mut org = json!({"id": id, "name": name});
    if let Some(d) = text(o, "description") {
        org["description"] = json!(d);
    }
    if let Some(w) = text(o, "website").filter(|w| WebUrl::parse(w).is_ok()) {
        org["website"] = json!(w);
    }
    if let Some(e) = text(o, "email").filter(|e| Email::parse(e).is_ok()) {
        org["email"] = json!(e);
    }
    Ok(org)
}

fn status(s: &Value, ext: &Value, out: &mut Map<String, Value>, notes: &mut Vec<String>) {
    let st = text(s, "status").unwrap_or_else(|| "active".into());
    let ours = match st.to_lowercase().replace('_', " ").as_str() {
        "active" => "active",
        "inactive" => "inactive",
        "defunct" => "defunct",
        "temporarily closed" => "temporarily_closed",
        other => {
            notes.push(format!(
                "status '{other}' is not one ORUK names: read as active"
            ));
            "active"
        }
    };
    out.insert("status".into(), json!(ours));
    if ours == "temporarily_closed" {
        let closure = ext
            .get("temporary_closure")
            .filter(|c| c.is_object())
            .cloned()
            .unwrap_or_else(|| {
                json!({"reason": text(s, "alert").unwrap_or_else(|| "closed for now (no reason given in the source)".into())})
            });
        out.insert("temporary_closure".into(), closure);
    }
}

fn categories(
    s: &Value,
    name: &str,
    description: &str,
    lexicon: &Lexicon,
    notes: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let mut found: Vec<String> = Vec::new();
    let mut foreign = Vec::new();
    for a in s
        .get("attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let term = a.get("taxonomy_term").unwrap_or(&Value::Null);
        let ours = text(a, "taxonomy_term_id")
            .or_else(|| text(term, "id"))
            .and_then(|id| mapping::category_of_term(&id))
            .or_else(|| {
                text(term, "term")
                    .and_then(|t| crate::domain::taxonomy::find(&t))
                    .filter(|_| text(term, "taxonomy").as_deref() == Some(mapping::TAXONOMY_NAME))
            });
        match ours {
            Some(c) if !found.iter().any(|f| f == c.id) => found.push(c.id.to_string()),
            Some(_) => {}
            None => foreign.push(text(term, "name").unwrap_or_else(|| "unnamed term".into())),
        }
    }
    if !foreign.is_empty() {
        notes.push(format!(
            "taxonomy terms of another vocabulary not kept: {}",
            foreign.join(", ")
        ));
    }
    if found.is_empty() {
        let words = crate::understand::normalise(&format!("{name}. {description}"));
        let understood = crate::understand::understand(lexicon, &words);
        found = understood
            .needs
            .iter()
            .filter(|n| n.confidence >= CATEGORY_CONFIDENCE && n.id != crate::understand::CRISIS)
            .take(CATEGORIES_FROM_TEXT)
            .map(|n| n.id.clone())
            .collect();
        if found.is_empty() {
            return Err("no category: none of its taxonomy terms is signpost's, and its name and description say no need clearly".into());
        }
        notes.push(format!(
            "categories understood from its name and description: {}",
            found.join(", ")
        ));
    }
    Ok(found)
}

fn phones(s: &Value, out: &mut Map<String, Value>, notes: &mut Vec<String>) {
    let mut list = Vec::new();
    for p in s
        .get("phones")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(number) = text(p, "number") else {
            continue;
        };
        let number = number.trim_matches('"').to_string();
        match Phone::parse(&number) {
            Ok(_) => {
                let mut entry = json!({"number": number});
                if let Some(d) = text(p, "description").filter(|d| d.chars().count() <= 100) {
                    entry["description"] = json!(d);
                }
                list.push(entry);
            }
            Err(e) => notes.push(format!("phone '{number}' left out: {e}")),
        }
    }
    if !list.is_empty() {
        out.insert("phones".into(), Value::Array(list));
    }
}

fn languages(s: &Value, out: &mut Map<String, Value>, notes: &mut Vec<String>) {
    let mut list = Vec::new();
    for l in s
        .get("languages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(code) = text(l, "code") else {
            if let Some(n) = text(l, "name") {
                notes.push(format!("language '{n}' left out: no code"));
            }
            continue;
        };
        match Language::parse(&code) {
            Ok(lang) => list.push(json!(lang.as_str())),
            Err(e) => notes.push(format!("language '{code}' left out: {e}")),
        }
    }
    if !list.is_empty() {
        out.insert("languages".into(), Value::Array(list));
    }
}

fn cost(s: &Value, out: &mut Map<String, Value>) {
    let Some(c) = s
        .get("cost_options")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
    else {
        return;
    };
    let free = text(c, "option").is_some_and(|o| o.eq_ignore_ascii_case("free"))
        || c.get("amount").and_then(Value::as_f64) == Some(0.0);
    let mut cost = json!({"free": free});
    let described = [text(c, "option"), text(c, "amount_description")]
        .into_iter()
        .flatten()
        .filter(|d| !(free && d.eq_ignore_ascii_case("free")))
        .filter(|d| d != mapping::CHARGES_APPLY)
        .collect::<Vec<_>>()
        .join(", ");
    if !free && !described.is_empty() {
        let amount = c.get("amount").and_then(Value::as_f64);
        cost["description"] = json!(match amount {
            Some(a) => format!("£{a}: {described}"),
            None => described,
        });
    }
    out.insert("cost".into(), cost);
}

fn schedules(s: &Value, out: &mut Map<String, Value>, notes: &mut Vec<String>) {
    let mut hours = Vec::new();
    let mut described = Vec::new();
    for sc in s
        .get("schedules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let weekly = text(sc, "freq").is_some_and(|f| f.eq_ignore_ascii_case("weekly"));
        let (opens, closes) = (text(sc, "opens_at"), text(sc, "closes_at"));
        match (weekly, text(sc, "byday"), opens, closes) {
            (true, Some(days), Some(o), Some(c)) => {
                for d in days.split(',') {
                    match day(d.trim()) {
                        Some(day) => hours.push(json!({"day": day, "opens": o.get(..5).unwrap_or(&o), "closes": c.get(..5).unwrap_or(&c)})),
                        None => notes.push(format!("schedule day '{d}' left out")),
                    }
                }
            }
            _ => {
                if let Some(d) = text(sc, "description") {
                    described.push(d);
                } else {
                    notes.push("a schedule that is not weekly opening times was left out".into());
                }
            }
        }
    }
    if !hours.is_empty() {
        out.insert("opening_hours".into(), Value::Array(hours));
    }
    if !described.is_empty() {
        out.insert(
            "opening_hours_description".into(),
            json!(described.join(" ")),
        );
    }
}

fn day(code: &str) -> Option<&'static str> {
    Some(match code.to_uppercase().as_str() {
        "MO" => "monday",
        "TU" => "tuesday",
        "WE" => "wednesday",
        "TH" => "thursday",
        "FR" => "friday",
        "SA" => "saturday",
        "SU" => "sunday",
        _ => return None,
    })
}

fn locations(s: &Value, out: &mut Map<String, Value>, notes: &mut Vec<String>) {
    let mut list = Vec::new();
    for sal in s
        .get("service_at_locations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(l) = sal.get("location").filter(|l| l.is_object()) else {
            continue;
        };
        let address = l
            .get("addresses")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned()
            .unwrap_or(Value::Null);
        let mut loc = Map::new();
        if let Some(n) = text(l, "name") {
            loc.insert("name".into(), json!(n));
        }
        // A feed that must give an address line may repeat the place's name there.
        if let Some(a) = text(&address, "address_1").filter(|a| Some(a) != text(l, "name").as_ref())
        {
            loc.insert("address_1".into(), json!(a));
        }
        if let Some(c) = text(&address, "city") {
            loc.insert("city".into(), json!(c));
        }
        if let Some(p) = text(&address, "postal_code") {
            match PostalCode::parse(&p) {
                Ok(_) => {
                    loc.insert("postal_code".into(), json!(p));
                }
                Err(e) => notes.push(format!("postcode '{p}' left out: {e}")),
            }
        }
        if let (Some(lat), Some(lon)) = (
            l.get("latitude").and_then(Value::as_f64),
            l.get("longitude").and_then(Value::as_f64),
        ) {
            if (49.0..=61.0).contains(&lat) && (-9.0..=2.5).contains(&lon) {
                loc.insert("latitude".into(), json!(lat));
                loc.insert("longitude".into(), json!(lon));
            } else {
                notes.push(format!("coordinates {lat}, {lon} left out: not in the UK"));
            }
        }
        if !loc.is_empty() {
            list.push(Value::Object(loc));
        }
    }
    if !list.is_empty() {
        out.insert("locations".into(), Value::Array(list));
    }
}

fn coverage(s: &Value, out: &mut Map<String, Value>, notes: &mut Vec<String>) {
    let (mut include, mut exclude) = (Vec::new(), Vec::new());
    for a in s
        .get("service_areas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let extent = text(a, "extent_type").unwrap_or_default();
        let mut parts = extent.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("signpost"), Some(how), Some(kind)) => {
                let mut rule = json!({"type": kind});
                if let Some(v) = text(a, "service_area") {
                    rule["value"] = json!(v);
                }
                if how == "exclude" {
                    exclude.push(rule);
                } else {
                    include.push(rule);
                }
            }
            _ => notes.push(format!(
                "service area '{}' not read as coverage (free text): eligibility will answer 'unknown'",
                text(a, "name").or_else(|| text(a, "description")).unwrap_or_default()
            )),
        }
    }
    if !include.is_empty() || !exclude.is_empty() {
        out.insert(
            "coverage".into(),
            json!({"include": include, "exclude": exclude}),
        );
    }
}

/// signpost's own extension fields when the source is a signpost feed; otherwise what
/// ORUK cannot say, inferred and said so.
fn extensions(ext: &Value, out: &mut Map<String, Value>, notes: &mut Vec<String>) {
    match ext
        .get("delivery_modes")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
    {
        Some(modes) => {
            out.insert("delivery_modes".into(), Value::Array(modes.clone()));
        }
        None => {
            let mut modes = Vec::new();
            if out.contains_key("locations") {
                modes.push("in_person");
            }
            if out.contains_key("phones") {
                modes.push("telephone");
            }
            if modes.is_empty() {
                modes.push(if out.contains_key("url") {
                    "online"
                } else {
                    "in_person"
                });
            }
            notes.push(format!(
                "delivery modes not in ORUK: taken from its contact details as {}",
                modes.join(", ")
            ));
            out.insert("delivery_modes".into(), json!(modes));
        }
    }
    let mut referral =
        json!({"route": ext.get("referral_route").and_then(Value::as_str).unwrap_or("both")});
    if ext.get("referral_route").is_none() {
        notes.push(
            "referral route not in ORUK: set to 'both' (self or professional); check it".into(),
        );
    }
    if let Some(u) = ext.get("referral_url").and_then(Value::as_str) {
        referral["url"] = json!(u);
    }
    out.insert("referral".into(), referral);
    if let Some(g) = ext.get("gender").and_then(Value::as_str) {
        out.insert("gender".into(), json!(g));
    }
    if let Some(c) = ext.get("capacity").filter(|c| c.is_object()) {
        out.insert("capacity".into(), c.clone());
    }
}

/// What importing a feed file did: the import's report, and per record what was not
/// carried over.
pub struct FeedImport {
    /// How many services were imported, and which records were rejected and why.
    pub report: crate::ndjson::ImportReport,
    /// (record number from 1, what was left out or inferred)
    pub notes: Vec<(usize, String)>,
}

/// Imports every service in a feed's text (see [`services_in`]).
pub async fn import(store: &crate::storage::Store, text: &str) -> anyhow::Result<FeedImport> {
    let records = services_in(text).map_err(|e| anyhow::anyhow!("not an ORUK feed: {e}"))?;
    let lexicon = Lexicon::built_in();
    let mut importer = crate::ndjson::Importer::new(store);
    let mut notes = Vec::new();
    for (i, s) in records.iter().enumerate() {
        match convert(s, &lexicon) {
            Ok(c) => {
                notes.extend(c.notes.into_iter().map(|n| (i + 1, n)));
                importer.line(i + 1, &c.record.to_string()).await?;
            }
            Err(why) => importer.report.rejected.push((i + 1, why)),
        }
    }
    importer.flush().await?;
    Ok(FeedImport {
        report: importer.report,
        notes,
    })
}
