//! The Open Referral UK 3.0 feed against the standard's own JSON Schemas
//! (`../shared/data/oruk/schema-3.0-uk`, read locally; nothing is fetched), walked as the
//! ORUK validator walks a feed, and its filters.

use crate::helpers::*;
use serde_json::Value;
use std::path::PathBuf;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/oruk/schema-3.0-uk")
}

fn have_schemas() -> bool {
    let ok = schema_dir().join("service.json").exists();
    if !ok {
        eprintln!("skipped: ../shared/data/oruk is not present");
    }
    ok
}

/// A validator for one of the standard's schemas, formats (uuid, email, uri,
/// date-time) checked too.
fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema_dir().join(name)).expect("schema file");
    let schema: Value = serde_json::from_str(&text).expect("schema json");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name} does not compile: {e}"))
}

fn assert_valid(v: &jsonschema::Validator, what: &str, instance: &Value) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what} fails the schema: {errors:#?}");
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app.get(path).await;
    let status = r.status().as_u16();
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap_or("")),
        Some("*"),
        "{path} is open to any origin"
    );
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_endpoint_passes_the_standards_schemas() {
    if !have_schemas() {
        return;
    }
    let mut app = spawn_demo_app().await;
    let (status, details) = get(&app, "/oruk/").await;
    assert_eq!(status, 200);
    assert_valid(&validator("api_details.json"), "api details", &details);
    assert_eq!(details["version"], "HSDS-UK-3.0");
    let (status, _) = get(&app, "/oruk/openapi.json").await;
    assert_eq!(status, 200, "openapi_url answers");

    let list = validator("service_list.json");
    let one = validator("service.json");
    let mut ids = Vec::new();
    let mut page = 1;
    loop {
        let (status, body) = get(
            &app,
            &format!("/oruk/services?full=true&per_page=100&page={page}"),
        )
        .await;
        assert_eq!(status, 200);
        assert_valid(&list, &format!("services page {page}"), &body);
        for s in body["contents"].as_array().expect("contents") {
            ids.push(s["id"].as_str().expect("id").to_string());
        }
        if body["last_page"] == true {
            assert_eq!(body["total_items"].as_u64(), Some(ids.len() as u64));
            break;
        }
        page += 1;
    }
    assert!(ids.len() > 300, "every demo service but the defunct ones");
    for id in &ids {
        let (status, s) = get(&app, &format!("/oruk/services/{id}")).await;
        assert_eq!(status, 200);
        assert_valid(&one, &format!("service {id}"), &s);
        assert_ne!(s["status"], "defunct");
    }
    let (_, orgs) = get(&app, "/oruk/organizations?per_page=500").await;
    // The standard's organization_list.json describes one item of the list (unlike the
    // other list schemas, which describe the page), so each item is checked with it.
    let org_item = validator("organization_list.json");
    for o in orgs["contents"].as_array().expect("contents") {
        assert_valid(&org_item, "an organisation in the list", o);
    }
    let org_schema = validator("organization.json");
    for o in orgs["contents"]
        .as_array()
        .expect("contents")
        .iter()
        .take(10)
    {
        let (status, full) = get(
            &app,
            &format!("/oruk/organizations/{}", o["id"].as_str().unwrap()),
        )
        .await;
        assert_eq!(status, 200);
        assert_valid(&org_schema, "an organisation", &full);
    }
    let (_, taxonomies) = get(&app, "/oruk/taxonomies").await;
    assert_valid(&validator("taxonomy_list.json"), "taxonomies", &taxonomies);
    let tid = taxonomies["contents"][0]["id"]
        .as_str()
        .expect("taxonomy")
        .to_string();
    let (_, taxonomy) = get(&app, &format!("/oruk/taxonomies/{tid}")).await;
    assert_valid(&validator("taxonomy.json"), "the taxonomy", &taxonomy);
    let (_, terms) = get(&app, "/oruk/taxonomy_terms?per_page=100").await;
    assert_valid(&validator("taxonomy_term_list.json"), "terms", &terms);
    let term_schema = validator("taxonomy_term.json");
    for t in terms["contents"].as_array().expect("terms") {
        let (status, term) = get(
            &app,
            &format!("/oruk/taxonomy_terms/{}", t["id"].as_str().unwrap()),
        )
        .await;
        assert_eq!(status, 200);
        assert_valid(&term_schema, "a term", &term);
    }
    let (_, sals) = get(&app, "/oruk/service_at_locations?per_page=20&full=true").await;
    assert_valid(
        &validator("service_at_location_list.json"),
        "services at locations",
        &sals,
    );
    let sal_schema = validator("service_at_location.json");
    for sal in sals["contents"]
        .as_array()
        .expect("contents")
        .iter()
        .take(5)
    {
        let (status, one) = get(
            &app,
            &format!("/oruk/service_at_locations/{}", sal["id"].as_str().unwrap()),
        )
        .await;
        assert_eq!(status, 200);
        assert_valid(&sal_schema, "a service at a location", &one);
    }
    app.stop().await;
}

#[tokio::test]
async fn the_feed_walks_as_the_validator_walks_it() {
    let mut app = spawn_demo_app().await;
    let (status, details) = get(&app, "/oruk").await;
    assert_eq!(status, 200);
    assert!(
        details["openapi_url"]
            .as_str()
            .unwrap_or("")
            .ends_with("/oruk/openapi.json")
    );
    for list in [
        "services",
        "organizations",
        "taxonomies",
        "taxonomy_terms",
        "service_at_locations",
    ] {
        let (status, first) = get(&app, &format!("/oruk/{list}?per_page=7")).await;
        assert_eq!(status, 200, "{list}");
        let pages = first["total_pages"].as_u64().expect("total_pages");
        let total = first["total_items"].as_u64().expect("total_items");
        assert_eq!(first["first_page"], true);
        assert!(total > 0, "{list} is not empty");
        let mut seen = Vec::new();
        for page in [1, pages.div_ceil(2).max(1), pages] {
            let (status, body) = get(&app, &format!("/oruk/{list}?per_page=7&page={page}")).await;
            assert_eq!(status, 200, "{list} page {page}");
            assert_eq!(body["page_number"].as_u64(), Some(page));
            assert_eq!(body["last_page"], page == pages, "{list} page {page}");
            let contents = body["contents"].as_array().expect("contents");
            assert_eq!(body["size"].as_u64(), Some(contents.len() as u64));
            assert_eq!(body["empty"], contents.is_empty());
            if page < pages {
                assert_eq!(contents.len(), 7, "{list} page {page} is full");
            }
            seen.extend(
                contents
                    .iter()
                    .filter_map(|c| c["id"].as_str().map(str::to_string)),
            );
        }
        for id in seen.iter().take(10) {
            let (status, _) = get(&app, &format!("/oruk/{list}/{id}")).await;
            assert_eq!(status, 200, "{list}/{id}");
        }
        let (status, past) =
            get(&app, &format!("/oruk/{list}?per_page=7&page={}", pages + 1)).await;
        assert_eq!(status, 200);
        assert_eq!(
            past["empty"], true,
            "a page past the end is empty, not an error"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn feed_filters_combine_and_bad_ones_are_named() {
    let mut app = spawn_demo_app().await;
    let (_, terms) = get(&app, "/oruk/taxonomy_terms?per_page=100").await;
    let debt = terms["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["term"] == "debt")
        .expect("a debt term")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, by_term) = get(
        &app,
        &format!("/oruk/services?taxonomy_term_id={debt}&full=true&per_page=100"),
    )
    .await;
    let n = by_term["total_items"].as_u64().unwrap();
    assert!(n > 0);
    for s in by_term["contents"].as_array().unwrap() {
        assert!(s["attributes"].to_string().contains(&debt), "{s}");
    }
    let org = by_term["contents"][0]["organization_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, both) = get(
        &app,
        &format!("/oruk/services?taxonomy_term_id={debt}&organization_id={org}"),
    )
    .await;
    let m = both["total_items"].as_u64().unwrap();
    assert!(m >= 1 && m <= n, "filters combine with AND: {m} of {n}");
    for s in both["contents"].as_array().unwrap() {
        assert_eq!(s["organization_id"], org.as_str());
    }
    let (_, words) = get(&app, "/oruk/services?search=my+wife+died").await;
    assert!(
        words["total_items"].as_u64().unwrap() > 0,
        "words are understood as in search"
    );
    let (_, young) = get(&app, "/oruk/services?maximum_age=15&per_page=500&full=true").await;
    for s in young["contents"].as_array().unwrap() {
        assert!(s["minimum_age"].as_u64().is_none_or(|a| a <= 15), "{s}");
    }
    let (_, near) = get(&app, "/oruk/services?postcode=M11+1AA&proximity=3000").await;
    let (_, all) = get(&app, "/oruk/services").await;
    assert!(near["total_items"].as_u64().unwrap() < all["total_items"].as_u64().unwrap());
    let (_, later) = get(&app, "/oruk/services?modified_after=2100-01-01T00:00:00Z").await;
    assert_eq!(later["total_items"], 0);
    let closed = all["contents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["status"] == "temporarily closed");
    let (_, everything) = get(&app, "/oruk/services?per_page=1000").await;
    assert!(
        closed || everything.to_string().contains("temporarily closed"),
        "temporarily closed services stay in the feed with their status"
    );
    assert!(!everything.to_string().contains("\"defunct\""));

    let ndjson = app
        .get("/oruk/services?format=ndjson")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        ndjson.lines().count() as u64,
        everything["total_items"].as_u64().unwrap(),
        "ndjson streams every service"
    );
    for (path, name) in [
        ("/oruk/services?page=0", "page"),
        ("/oruk/services?per_page=abc", "per_page"),
        ("/oruk/services?taxonomy_term_id=nope", "taxonomy_term_id"),
        ("/oruk/services?organization_id=nope", "organization_id"),
        ("/oruk/services?modified_after=yesterday", "modified_after"),
        ("/oruk/services?postcode=M1+1A", "postcode"),
        ("/oruk/services?proximity=100", "proximity"),
        ("/oruk/services?format=xml", "format"),
        ("/oruk/services?colour=blue", "colour"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 400, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json")
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["parameter"], name, "{path}: {body}");
    }
    for path in [
        "/oruk/services/00000000-0000-0000-0000-000000000000",
        "/oruk/organizations/00000000-0000-0000-0000-000000000000",
        "/oruk/taxonomies/00000000-0000-0000-0000-000000000000",
        "/oruk/taxonomy_terms/00000000-0000-0000-0000-000000000000",
        "/oruk/service_at_locations/00000000-0000-0000-0000-000000000000",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json")
        );
    }
    app.stop().await;
}

fn example(name: &str) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/oruk/examples")
        .join(name);
    let text = std::fs::read_to_string(&path).ok();
    if text.is_none() {
        eprintln!("skipped: {} is not present", path.display());
    }
    text
}

async fn empty_store(dir: &std::path::Path) -> std::sync::Arc<signpost::storage::Store> {
    let url = fresh_database(dir).await;
    signpost::startup::open_store(&url).await.expect("store")
}

#[tokio::test]
async fn other_directories_feeds_are_read_with_what_was_left_out_said() {
    let (Some(list), Some(full)) = (
        example("oruk-mock-service_list-128.json"),
        example("hsds-3.0-service_full.json"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = empty_store(dir.path()).await;
    let done = signpost::oruk::reading::import(&store, &list)
        .await
        .unwrap();
    // The envelope says 31 items; its contents hold 128, and those are what count.
    assert_eq!(done.report.imported + done.report.rejected.len(), 128);
    assert!(done.report.imported > 0, "some services are carried over");
    assert!(
        done.report
            .rejected
            .iter()
            .all(|(_, why)| why.contains("organization") || why.contains("category")),
        "each rejection says why: {:?}",
        done.report.rejected
    );
    assert!(
        done.notes
            .iter()
            .any(|(_, n)| n.contains("delivery modes not in ORUK"))
    );
    // The example repeats ids: a repeated id updates the record it names.
    let stored = store.count_services().await.unwrap() as usize;
    assert!(stored >= 1 && stored <= done.report.imported, "{stored}");

    let done = signpost::oruk::reading::import(&store, &full)
        .await
        .unwrap();
    assert_eq!(done.report.imported, 1, "{:?}", done.report.rejected);
    let said: Vec<&str> = done.notes.iter().map(|(_, n)| n.as_str()).collect();
    for expected in ["fees", "not in the UK", "service area", "named contacts"] {
        assert!(
            said.iter().any(|n| n.contains(expected)),
            "{expected}: {said:#?}"
        );
    }
    let id = uuid::Uuid::parse_str(
        serde_json::from_str::<Value>(&full).unwrap()["id"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let s = store
        .get_service(id)
        .await
        .unwrap()
        .expect("kept under its own id");
    assert!(s.content.languages.iter().any(|l| l.as_str() == "ur"));
    assert!(
        !s.content.opening_hours.is_empty(),
        "weekly schedules become opening hours"
    );
}

#[tokio::test]
async fn the_feed_round_trips_into_an_empty_signpost() {
    let mut app = spawn_demo_app().await;
    let feed = app
        .get("/oruk/services?format=ndjson&full=true")
        .await
        .text()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = empty_store(dir.path()).await;
    let done = signpost::oruk::reading::import(&store, &feed)
        .await
        .unwrap();
    assert!(
        done.report.rejected.is_empty(),
        "{:?}",
        done.report.rejected
    );
    let count = feed.lines().count();
    assert_eq!(done.report.imported, count);
    for line in feed.lines() {
        let published: Value = serde_json::from_str(line).unwrap();
        let id = uuid::Uuid::parse_str(published["id"].as_str().unwrap()).unwrap();
        let (_, original) = app
            .call(
                reqwest::Method::GET,
                &format!("/v1/services/{id}"),
                None,
                None,
            )
            .await;
        let copy = store.get_service(id).await.unwrap().expect("imported");
        let copy = serde_json::to_value(&copy).unwrap();
        for field in [
            "name",
            "description",
            "url",
            "email",
            "status",
            "temporary_closure",
            "minimum_age",
            "maximum_age",
            "gender",
            "assured_date",
            "categories",
            "delivery_modes",
            "phones",
            "languages",
            "cost",
            "opening_hours",
            "opening_hours_description",
            "locations",
            "coverage",
            "capacity",
            "eligibility_description",
        ] {
            assert_eq!(copy[field], original[field], "{id}: {field}");
        }
        assert_eq!(
            copy["referral"]["route"], original["referral"]["route"],
            "{id}"
        );
        assert_eq!(copy["referral"]["url"], original["referral"]["url"], "{id}");
        assert_eq!(copy["organization"]["id"], original["organization"]["id"]);
        assert_eq!(
            copy["organization"]["name"],
            original["organization"]["name"]
        );
    }
    app.stop().await;
}
