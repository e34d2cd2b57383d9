//! Eligibility by postcode and GP practice, from the real reference files in
//! ../shared/data/geo.

use crate::helpers::*;
use serde_json::{Value, json};
use signpost::geo::reference::{self, GeoKind, PracticeStatus};
use signpost::reference_data;
use std::collections::HashSet;

fn rule(kind: &str, value: &str) -> Value {
    json!({"type": kind, "value": value})
}

/// Creates a service covering `include` minus `exclude`; returns its id.
async fn service_with(
    app: &TestApp,
    org: &str,
    name: &str,
    include: Value,
    exclude: Value,
) -> String {
    let mut body = service_body(org, name, "Advice and support for local people.");
    body["coverage"] = json!({"include": include, "exclude": exclude});
    let created = app.create_service(&body).await;
    created["id"].as_str().unwrap().to_string()
}

/// The eligibility answer for `query`; the same question posted as a JSON body (the
/// caller's details kept out of the URL) must get the same answer.
async fn eligibility(app: &TestApp, id: &str, query: &str) -> Value {
    let (status, body) = app
        .get_json(&format!("/v1/services/{id}/eligibility?{query}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let posted: serde_json::Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            let v = match (k.as_ref(), v.parse::<u64>()) {
                ("age", Ok(n)) => json!(n),
                _ => json!(v),
            };
            (k.into_owned(), v)
        })
        .collect();
    let (status, same) = app
        .post(
            &format!("/v1/services/{id}/eligibility"),
            &Value::Object(posted),
        )
        .await;
    assert_eq!((status, &same), (200, &body), "posted {query}");
    body
}

async fn verdict(app: &TestApp, id: &str, query: &str) -> String {
    eligibility(app, id, query).await["eligibility"]["verdict"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_rule_type_include_and_exclude() {
    if !have_shared_geo() {
        return;
    }
    let app = spawn_geo_app(false).await;
    let org = app.create_organization("Rules Trust").await;
    // (rules, caller, expected verdict)
    let cases: Vec<(Value, Value, &str, &str)> = vec![
        (json!([{"type": "national"}]), json!([]), "", "eligible"),
        (
            json!([rule("area", "M")]),
            json!([]),
            "postcode=m11+1aa",
            "eligible",
        ),
        (
            json!([rule("area", "M")]),
            json!([]),
            "postcode=AB10+1AB",
            "not_eligible",
        ),
        // District M1 is not a prefix of M11.
        (
            json!([rule("district", "M1")]),
            json!([]),
            "postcode=M1+1AD",
            "eligible",
        ),
        (
            json!([rule("district", "M1")]),
            json!([]),
            "postcode=M11+1AA",
            "not_eligible",
        ),
        // A district rule covers its sub-districts; a sub-district rule only itself.
        (
            json!([rule("district", "EC1")]),
            json!([]),
            "postcode=EC1A+1BB",
            "eligible",
        ),
        (
            json!([rule("district", "EC1A")]),
            json!([]),
            "postcode=EC1A+1BB",
            "eligible",
        ),
        (
            json!([rule("district", "EC1A")]),
            json!([]),
            "postcode=EC1M+6BQ",
            "not_eligible",
        ),
        (
            json!([rule("sector", "M11 1")]),
            json!([]),
            "postcode=M11+1AA",
            "eligible",
        ),
        (
            json!([rule("sector", "M1 1")]),
            json!([]),
            "postcode=M11+1AA",
            "not_eligible",
        ),
        (
            json!([rule("unit", "M11 1AA")]),
            json!([]),
            "postcode=M111AA",
            "eligible",
        ),
        (
            json!([rule("unit", "M11 1AA")]),
            json!([]),
            "postcode=M11+1AB",
            "not_eligible",
        ),
        // ONSPD knows M11 1AA is in Manchester (E08000003); M14 5AB is not in the sample.
        (
            json!([rule("local_authority", "E08000003")]),
            json!([]),
            "postcode=M11+1AA",
            "eligible",
        ),
        (
            json!([rule("local_authority", "E08000001")]),
            json!([]),
            "postcode=M11+1AA",
            "not_eligible",
        ),
        (
            json!([rule("local_authority", "E08000003")]),
            json!([]),
            "postcode=M14+5AB",
            "unknown",
        ),
        (
            json!([rule("gp_practice", "P84004")]),
            json!([]),
            "gp=P84004",
            "eligible",
        ),
        (
            json!([rule("gp_practice", "P84004")]),
            json!([]),
            "gp=P84034",
            "not_eligible",
        ),
        (
            json!([rule("pcn", "U49529")]),
            json!([]),
            "gp=P84004",
            "eligible",
        ),
        (
            json!([rule("pcn", "U49529")]),
            json!([]),
            "gp=P84034",
            "not_eligible",
        ),
        (
            json!([rule("sub_icb", "14L")]),
            json!([]),
            "gp=P84004",
            "eligible",
        ),
        (
            json!([rule("sub_icb", "E38000217")]),
            json!([]),
            "gp=P84004",
            "eligible",
        ),
        (
            json!([rule("sub_icb", "00T")]),
            json!([]),
            "gp=P84004",
            "not_eligible",
        ),
        (
            json!([rule("icb", "QOP")]),
            json!([]),
            "gp=P84004",
            "eligible",
        ),
        (
            json!([rule("icb", "QHM")]),
            json!([]),
            "gp=P84004",
            "not_eligible",
        ),
        // Registration rules need a GP; a practice not in the list cannot be placed.
        (
            json!([rule("sub_icb", "14L")]),
            json!([]),
            "postcode=M11+1AA",
            "unknown",
        ),
        (
            json!([rule("pcn", "U49529")]),
            json!([]),
            "gp=Y99999",
            "unknown",
        ),
        (
            json!([rule("gp_practice", "Y99999")]),
            json!([]),
            "gp=Y99999",
            "eligible",
        ),
        // Exclusions win; an exclusion that cannot be checked makes the answer unknown.
        (
            json!([rule("area", "M")]),
            json!([rule("district", "M11")]),
            "postcode=M11+1AA",
            "not_eligible",
        ),
        (
            json!([rule("area", "M")]),
            json!([rule("district", "M11")]),
            "postcode=M1+1AD",
            "eligible",
        ),
        (
            json!([rule("sub_icb", "14L")]),
            json!([rule("gp_practice", "P84004")]),
            "gp=P84004",
            "not_eligible",
        ),
        (
            json!([rule("area", "M")]),
            json!([rule("pcn", "U49529")]),
            "postcode=M1+1AD",
            "unknown",
        ),
        // Pseudo-postcodes have no place; national services still see them.
        (
            json!([rule("district", "M11")]),
            json!([]),
            "postcode=ZZ99+3VZ",
            "unknown",
        ),
        (
            json!([{"type": "national"}]),
            json!([]),
            "postcode=ZZ99+3VZ",
            "eligible",
        ),
        // A service that has not said whom it covers.
        (json!([]), json!([]), "postcode=M11+1AA", "unknown"),
    ];
    for (i, (include, exclude, query, expected)) in cases.iter().enumerate() {
        let id = service_with(
            &app,
            &org,
            &format!("Rule case {i}"),
            include.clone(),
            exclude.clone(),
        )
        .await;
        let answer = eligibility(&app, &id, query).await;
        assert_eq!(
            answer["eligibility"]["verdict"], *expected,
            "case {i}: include {include} exclude {exclude} for {query}: {answer}"
        );
        assert!(
            !answer["eligibility"]["reason"].as_str().unwrap().is_empty(),
            "case {i}: a reason"
        );
    }
}

#[tokio::test]
async fn reasons_read_out_and_notes_flag_terminated_postcodes() {
    if !have_shared_geo() {
        return;
    }
    let app = spawn_geo_app(false).await;
    let org = app.create_organization("Reasons Trust").await;
    let id = service_with(
        &app,
        &org,
        "Manchester registered",
        json!([rule("sub_icb", "14L")]),
        json!([]),
    )
    .await;
    let answer = eligibility(&app, &id, "gp=p84004&age=40").await;
    assert_eq!(
        answer["eligibility"]["reason"],
        "Covers patients registered with practices in sub-ICB location 14L; P84004 (Five Oaks Family Practice) is one of them"
    );
    assert_eq!(answer["caller"]["gp_practice"]["pcn"], "U49529");
    let id = service_with(
        &app,
        &org,
        "Southwark",
        json!([rule("district", "SE1")]),
        json!([]),
    )
    .await;
    let answer = eligibility(&app, &id, "postcode=SE1+9ZZ").await;
    assert_eq!(answer["eligibility"]["verdict"], "eligible");
    let notes = answer["caller"]["notes"].to_string();
    assert!(notes.contains("no longer in use"), "{answer}");
    // Age and gender join the same answer.
    let mut body = service_body(&org, "Young women's group", "A group for young women.");
    body["minimum_age"] = json!(16);
    body["maximum_age"] = json!(25);
    body["gender"] = json!("female");
    body["coverage"] = json!({"include": [{"type": "national"}]});
    let young = app.create_service(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        verdict(&app, &young, "age=20&gender=female").await,
        "eligible"
    );
    let answer = eligibility(&app, &young, "age=40&gender=female").await;
    assert_eq!(
        answer["eligibility"]["reason"],
        "For ages 16 to 25; the caller is 40"
    );
    assert_eq!(
        verdict(&app, &young, "age=20&gender=male").await,
        "not_eligible"
    );
}

#[tokio::test]
async fn without_reference_data_gp_groupings_are_unknown() {
    let app = spawn_app().await;
    let org = app.create_organization("Unknowns").await;
    let id = service_with(
        &app,
        &org,
        "PCN only",
        json!([rule("pcn", "U49529")]),
        json!([]),
    )
    .await;
    let answer = eligibility(&app, &id, "gp=P84004&postcode=M11+1AA").await;
    assert_eq!(answer["eligibility"]["verdict"], "unknown");
    assert!(
        answer["eligibility"]["reason"]
            .as_str()
            .unwrap()
            .contains("not in the loaded GP practice list"),
        "{answer}"
    );
    // Residence rules need no reference data.
    let id = service_with(
        &app,
        &org,
        "District",
        json!([rule("district", "M11")]),
        json!([]),
    )
    .await;
    assert_eq!(verdict(&app, &id, "postcode=M11+1AA").await, "eligible");
}

#[tokio::test]
async fn bad_postcodes_and_codes_are_named() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let id = service_with(&app, &org, "S", json!([{"type": "national"}]), json!([])).await;
    for (query, param, says) in [
        ("postcode=M1+1A", "postcode", "inward"),
        ("gp=nope", "gp", "letter and five digits"),
        ("age=-1", "age", "0 to 120"),
        ("gender=x", "gender", "female"),
        ("planet=mars", "planet", "unknown query parameter"),
    ] {
        let (status, body) = app
            .get_json(&format!("/v1/services/{id}/eligibility?{query}"))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
        assert!(body.to_string().contains(param), "{query}: {body}");
    }
    for (query, param) in [
        ("postcode=XX", "postcode"),
        ("sort=distance", "postcode"),
        ("within_km=5", "postcode"),
        ("postcode=M11+1AA&within_km=-2", "within_km"),
        ("sort=nearest", "sort"),
        ("include_unknown=maybe", "include_unknown"),
    ] {
        let (status, body) = app.get_json(&format!("/v1/search?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.to_string().contains(param), "{query}: {body}");
    }
    let (status, _) = app
        .get_json("/v1/services/00000000-0000-7000-8000-000000000000/eligibility")
        .await;
    assert_eq!(status, 404);
}

/// Every demo service's own answer agrees with what search keeps, for several callers.
#[tokio::test]
async fn search_keeps_exactly_the_services_the_answer_allows() {
    if !have_shared_geo() {
        return;
    }
    let app = spawn_demo_app().await;
    let all = "status=active,temporarily_closed,inactive,defunct&limit=100";
    let mut ids = Vec::new();
    for offset in (0..400).step_by(100) {
        let page = app.search(&format!("{all}&offset={offset}")).await;
        for h in page["hits"].as_array().unwrap() {
            ids.push(h["service"]["id"].as_str().unwrap().to_string());
        }
    }
    assert!(ids.len() > 300);
    for caller in [
        "postcode=M11+1AA&gp=P84004",
        "postcode=BL1+1RU",
        "gp=P82001",
        "postcode=ZZ99+3VZ&gp=P84004",
        "postcode=M14+5AB",
    ] {
        let mut eligible = HashSet::new();
        let mut unknown = HashSet::new();
        for id in &ids {
            match verdict(&app, id, caller).await.as_str() {
                "eligible" => eligible.insert(id.clone()),
                "unknown" => unknown.insert(id.clone()),
                _ => false,
            };
        }
        for (include_unknown, expected) in [
            (false, eligible.clone()),
            (true, eligible.union(&unknown).cloned().collect()),
        ] {
            let mut found = HashSet::new();
            for offset in (0..400).step_by(100) {
                let page = app
                    .search(&format!(
                        "{all}&{caller}&include_unknown={include_unknown}&offset={offset}"
                    ))
                    .await;
                for h in page["hits"].as_array().unwrap() {
                    let verdict = h["eligibility"]["verdict"].as_str().unwrap();
                    assert!(include_unknown || verdict == "eligible", "{h}");
                    found.insert(h["service"]["id"].as_str().unwrap().to_string());
                }
            }
            assert_eq!(
                found, expected,
                "{caller}, include_unknown={include_unknown}"
            );
        }
        assert!(
            !eligible.is_empty(),
            "{caller}: some demo service should see them"
        );
    }
}

#[tokio::test]
async fn a_navigators_full_query_with_distance() {
    if !have_shared_geo() {
        return;
    }
    let app = spawn_demo_app().await;
    let result = app
        .search("q=my+wife+died&postcode=M11+1AA&gp=P84004&age=70&sort=distance")
        .await;
    let hits = result["hits"].as_array().unwrap();
    assert!(!hits.is_empty(), "{result}");
    let mut last = 0.0;
    for h in hits {
        assert_eq!(h["eligibility"]["verdict"], "eligible", "{h}");
        assert!(
            h["eligibility"]["reason"]
                .as_str()
                .unwrap()
                .starts_with("Covers")
        );
        if let Some(d) = h["distance_km"].as_f64() {
            assert!(d >= last, "nearest first: {d} after {last}");
            last = d;
        }
    }
    assert_eq!(result["caller"]["location"]["from"], "postcode");
    // Within 2.5 km of Manchester city centre (the demo's Manchester locations are 2.3 to
    // 2.7 km away): in-person services beyond that are dropped, telephone and online ones
    // stay whatever the distance.
    let km = 2.5;
    let near = app
        .search(&format!(
            "postcode=M1+1AD&within_km={km}&sort=distance&limit=100"
        ))
        .await;
    let mut in_person_near = 0;
    let mut remote_far = 0;
    for h in near["hits"].as_array().unwrap() {
        let modes = h["service"]["delivery_modes"].to_string();
        let remote = modes.contains("telephone") || modes.contains("online");
        let d = h["distance_km"].as_f64().unwrap();
        assert!(remote || d <= km, "{h}");
        in_person_near += usize::from(!remote);
        remote_far += usize::from(remote && d > km);
    }
    assert!(in_person_near > 0, "{near}");
    assert!(remote_far > 0, "{near}");
    let everywhere = app.search("postcode=M1+1AD&limit=100").await;
    assert!(near["total"].as_u64() < everywhere["total"].as_u64());
}

#[tokio::test]
async fn practices_are_found_by_name_address_postcode_or_code() {
    if !have_shared_geo() {
        return;
    }
    let app = spawn_geo_app(false).await;
    for (q, code) in [
        ("wilmslow road", "P84034"),
        ("five oaks", "P84004"),
        ("M11 3BB", "P84004"),
        ("m113bb", "P84004"),
        ("p84004", "P84004"),
    ] {
        let (status, body) = app
            .get_json(&format!("/v1/gp-practices?q={}", q.replace(' ', "+")))
            .await;
        assert_eq!(status, 200, "{body}");
        let codes: Vec<&str> = body["practices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&code), "{q}: {codes:?}");
        let (status, posted) = app.post("/v1/gp-practices", &json!({"q": q})).await;
        assert_eq!((status, &posted), (200, &body), "posted {q}");
    }
    let (status, body) = app.post("/v1/gp-practices", &json!({"q": "a"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("'q'"),
        "{body}"
    );
    let r = app
        .client
        .post(app.url("/v1/gp-practices"))
        .body("q=five+oaks")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // A JSON whole number may be written 2.0; null is refused rather than guessed at.
    let (status, body) = app
        .post("/v1/gp-practices", &json!({"q": "five oaks", "limit": 2.0}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            "/v1/gp-practices",
            &json!({"q": "five oaks", "limit": null}),
        )
        .await;
    assert_eq!(
        (status, body["parameter"].as_str()),
        (400, Some("limit")),
        "{body}"
    );
    let (status, body) = app.get_json("/v1/gp-practices?q=a").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app.get_json("/v1/gp-practices?q=%25_%5C").await;
    assert_eq!(status, 200, "LIKE wildcards are literal: {body}");
    assert_eq!(body["practices"], json!([]));
}

#[tokio::test]
async fn both_epraccur_layouts_and_reimport_replaces() {
    if !have_shared_geo() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(dir.path()).await;
    let store = signpost::startup::open_store(&url).await.unwrap();
    let geo = shared_geo_dir();
    let current = reference_data::import_file(
        &store,
        GeoKind::Practices,
        &geo.join("epraccur_dse_2026-02.csv"),
        false,
    )
    .await
    .unwrap();
    assert_eq!(current.note.as_deref(), Some("epraccur layout: current"));
    // Every RO76 row is a GP practice; pharmacies and other settings are dropped.
    let (rows, _) = reference::read_epraccur(
        std::fs::File::open(geo.join("epraccur_dse_2026-02.csv")).unwrap(),
    )
    .unwrap();
    assert_eq!(rows.len(), current.written);
    let active = rows
        .iter()
        .filter(|p| p.status == PracticeStatus::Active)
        .count();
    assert_eq!(active, 6604, "as derived_gp_practices_active.csv lists");
    let closed = store.practice("A81003").await.unwrap().unwrap();
    assert_eq!(closed.status, PracticeStatus::Inactive);
    let p = store.practice("P84004").await.unwrap().unwrap();
    assert_eq!(
        (p.sub_icb.as_deref(), p.icb.as_deref()),
        (Some("14L"), Some("QOP"))
    );

    let legacy = reference_data::import_file(
        &store,
        GeoKind::Practices,
        &geo.join("epraccur_legacy_2024-01.csv"),
        false,
    )
    .await
    .unwrap();
    assert_eq!(legacy.note.as_deref(), Some("epraccur layout: legacy"));
    let (legacy_rows, _) = reference::read_epraccur(
        std::fs::File::open(geo.join("epraccur_legacy_2024-01.csv")).unwrap(),
    )
    .unwrap();
    let in_legacy: HashSet<&str> = legacy_rows.iter().map(|p| p.code.as_str()).collect();
    // A practice only in the newer release is gone after re-importing the older one.
    let only_new = rows
        .iter()
        .find(|p| !in_legacy.contains(p.code.as_str()))
        .unwrap();
    assert!(
        store.practice(&only_new.code).await.unwrap().is_none(),
        "{}",
        only_new.code
    );
    assert_eq!(
        store.practice("A81003").await.unwrap().unwrap().status,
        PracticeStatus::Inactive,
        "legacy status C is closed"
    );
    let releases = store.geo_releases().await.unwrap();
    assert_eq!(releases[0].source, "epraccur_legacy_2024-01.csv");
    // Not an epraccur file: refused, and the loaded release stays.
    let err = reference_data::import_file(
        &store,
        GeoKind::Practices,
        &geo.join("ePCN_2019-12_pcn_details.csv"),
        false,
    )
    .await;
    assert!(err.is_err());
    assert!(store.practice("A81003").await.unwrap().is_some());
}

#[tokio::test]
async fn a_practice_that_moved_network_keeps_its_current_one() {
    if !have_shared_geo() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(dir.path()).await;
    let store = signpost::startup::open_store(&url).await.unwrap();
    let geo = shared_geo_dir();
    reference_data::import_dir(&store, &geo, false)
        .await
        .unwrap();
    assert_eq!(
        store
            .practice("P84004")
            .await
            .unwrap()
            .unwrap()
            .pcn
            .as_deref(),
        Some("U49529")
    );
    // The real file, plus P84004 leaving its network and joining Didsbury's in 2021.
    let real = std::fs::read_to_string(geo.join("ePCN_2019-12_core_partner_details.csv")).unwrap();
    let mut moved = String::new();
    for line in real.lines() {
        if line.starts_with("P84004,") {
            moved.push_str(&line.replace("20191001,,", "20191001,20210331,"));
            moved.push('\n');
            moved.push_str("P84004,FIVE OAKS FAMILY PRACTICE,14L,NHS MANCHESTER CCG,U78687,DIDSBURY CHORLTON PARK & BURNAGE PCN,14L,NHS MANCHESTER CCG,20210401,,1\n");
        } else {
            moved.push_str(line);
            moved.push('\n');
        }
    }
    reference_data::import_reader(&store, GeoKind::Pcns, "moved.csv", moved.as_bytes())
        .await
        .unwrap();
    let p = store.practice("P84004").await.unwrap().unwrap();
    assert_eq!(p.pcn.as_deref(), Some("U78687"));
    assert_eq!(
        p.pcn_name.as_deref(),
        Some("DIDSBURY CHORLTON PARK & BURNAGE PCN")
    );
}

#[tokio::test]
async fn the_demo_brings_its_own_greater_manchester_reference_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(dir.path()).await;
    let mut s = settings(&database_url, dir.path().join("index"), true);
    s.geo_dir = Some(dir.path().join("no-reference-files-here"));
    let (address, stopper) = start(s).await;
    let client = http_client();
    let found: Value = client
        .get(format!("{address}/v1/gp-practices?q=five+oaks"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(found["practices"][0]["code"], "P84004", "{found}");
    assert_eq!(
        found["practices"][0]["pcn"], "U49529",
        "its PCN link is there too"
    );
    let answer: Value = client
        .get(format!(
            "{address}/v1/search?q=debt&gp=P84004&postcode=M11+1AA&limit=3"
        ))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["caller"]["gp_known"], true, "{answer}");
    assert!(answer["total"].as_u64().unwrap_or(0) > 0, "{answer}");
    stopper.stop().await;
}
