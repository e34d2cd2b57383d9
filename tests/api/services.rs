use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn create_read_update_list_round_trip() {
    let app = spawn_app().await;
    let org = app.create_organization("Citizens Advice Manchester").await;
    let created = app
        .create_service(&service_body(
            &org,
            "Debt clinic",
            "Free debt advice every Tuesday.",
        ))
        .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["version"], 1);
    assert_eq!(
        created["organization"]["name"],
        "Citizens Advice Manchester"
    );
    assert!(
        created["capacity"]["updated_at"].is_string(),
        "capacity is stamped"
    );

    let r = app.get(&format!("/v1/services/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let read: Value = r.json().await.unwrap();
    assert_eq!(read, created);

    let mut replacement = service_body(
        &org,
        "Debt clinic (Tuesdays)",
        "Free debt advice every Tuesday.",
    );
    replacement["keywords"] = json!(["bailiffs"]);
    let r = app
        .send(Method::PUT, &format!("/v1/services/{id}"), &replacement)
        .await;
    assert_eq!(r.status(), 200);
    let replaced: Value = r.json().await.unwrap();
    assert_eq!(replaced["version"], 2);
    assert_eq!(replaced["keywords"], json!(["bailiffs"]));
    assert_eq!(replaced["created_at"], created["created_at"]);
    assert_eq!(
        replaced["capacity"]["updated_at"], created["capacity"]["updated_at"],
        "unchanged capacity keeps its stamp"
    );

    let r = app
        .send(
            Method::PATCH,
            &format!("/v1/services/{id}"),
            &json!({"capacity": {"accepting": "waitlist", "waiting_weeks": 6}, "keywords": null}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let patched: Value = r.json().await.unwrap();
    assert_eq!(patched["version"], 3);
    assert_eq!(patched["capacity"]["waiting_weeks"], 6);
    assert_eq!(patched["keywords"], json!([]));
    assert_eq!(patched["name"], "Debt clinic (Tuesdays)");

    let (status, list) = app
        .get_json(&format!("/v1/services?organization_id={org}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0], patched);
    assert_eq!(list["next_cursor"], Value::Null);
}

#[tokio::test]
async fn pagination_is_stable_and_complete() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let s = app
            .create_service(&service_body(&org, &format!("Service {i}"), "Text."))
            .await;
        ids.push(s["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app.get_json(&format!("/v1/services?limit=3{cursor}")).await;
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    ids.sort();
    assert_eq!(seen, ids, "every service once, in id order");
    // The same walk again gives the same pages.
    let (_, first) = app.get_json("/v1/services?limit=3").await;
    let (_, again) = app.get_json("/v1/services?limit=3").await;
    assert_eq!(first, again);
}

#[tokio::test]
async fn list_filters_by_status_category_and_modified_after() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let a = app.create_service(&service_body(&org, "A", "Text.")).await;
    let mut b_body = service_body(&org, "B", "Text.");
    b_body["categories"] = json!(["food"]);
    b_body["status"] = json!("temporarily_closed");
    b_body["temporary_closure"] = json!({"reason": "refurbishment", "reopens_on": "2027-01-10"});
    let b = app.create_service(&b_body).await;

    let (_, food) = app.get_json("/v1/services?category=food").await;
    assert_eq!(food["items"].as_array().unwrap().len(), 1);
    assert_eq!(food["items"][0]["id"], b["id"]);
    let (_, closed) = app.get_json("/v1/services?status=temporarily_closed").await;
    assert_eq!(closed["items"][0]["id"], b["id"]);
    let (_, both) = app
        .get_json("/v1/services?status=active,temporarily_closed")
        .await;
    assert_eq!(both["items"].as_array().unwrap().len(), 2);
    let after = a["last_modified"].as_str().unwrap().replace('+', "%2B");
    let (status, newer) = app
        .get_json(&format!("/v1/services?modified_after={after}"))
        .await;
    assert_eq!(status, 200, "{newer}");
    assert_eq!(newer["items"].as_array().unwrap().len(), 1);
    assert_eq!(newer["items"][0]["id"], b["id"]);
}

/// Each case: a change to a valid body, and the field the error must name.
#[tokio::test]
async fn every_invalid_field_gets_a_problem_naming_it() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("name", json!(""), "name"),
        ("name", json!(42), "name"),
        ("description", json!("   "), "description"),
        ("url", json!("not a url"), "url"),
        ("url", json!("ftp://example.org"), "url"),
        ("email", json!("help@"), "email"),
        ("phones", json!([{"number": "12"}]), "phones[0].number"),
        ("categories", json!(["astrology"]), "categories[0]"),
        ("categories", json!([]), "categories"),
        ("status", json!("paused"), "status"),
        (
            "delivery_modes",
            json!(["carrier_pigeon"]),
            "delivery_modes[0]",
        ),
        ("minimum_age", json!(-1), "minimum_age"),
        ("minimum_age", json!(200), "minimum_age"),
        (
            "coverage",
            json!({"include": [{"type": "district", "value": "M1 1AA 1"}]}),
            "coverage.include[0]",
        ),
        (
            "coverage",
            json!({"include": [{"type": "galaxy", "value": "x"}]}),
            "coverage.include[0]",
        ),
        (
            "coverage",
            json!({"include": [{"type": "gp_practice"}]}),
            "coverage.include[0]",
        ),
        (
            "coverage",
            json!({"exclude": [{"type": "national"}]}),
            "coverage.exclude[0]",
        ),
        (
            "capacity",
            json!({"accepting": "maybe"}),
            "capacity.accepting",
        ),
        (
            "capacity",
            json!({"accepting": "open", "waiting_weeks": 4}),
            "capacity.waiting_weeks",
        ),
        (
            "opening_hours",
            json!([{"day": "monday", "opens": "17:00", "closes": "09:00"}]),
            "opening_hours[0].closes",
        ),
        (
            "opening_hours",
            json!([{"day": "funday", "opens": "09:00", "closes": "17:00"}]),
            "opening_hours[0].day",
        ),
        ("assured_date", json!("yesterday"), "assured_date"),
        ("languages", json!(["English"]), "languages[0]"),
        ("organization_id", json!("nope"), "organization_id"),
        (
            "organization_id",
            json!("00000000-0000-7000-8000-000000000000"),
            "organization_id",
        ),
        ("favourite_colour", json!("blue"), "favourite_colour"),
        ("referral", json!({"route": "carrier"}), "referral.route"),
        ("status", json!("temporarily_closed"), "temporary_closure"),
    ];
    for (key, value, field) in cases {
        let mut body = service_body(&org, "Valid", "Valid text.");
        body[key] = value.clone();
        let r = app.send(Method::POST, "/v1/services", &body).await;
        let status = r.status().as_u16();
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        let problem: Value = r.json().await.unwrap();
        assert_eq!(status, 422, "{key}={value}: {problem}");
        assert_eq!(ct, "application/problem+json");
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.iter().any(|f| f.starts_with(field)),
            "{key}={value}: expected {field}, got {fields:?}"
        );
    }
    // Ages the wrong way round name the maximum.
    let mut body = service_body(&org, "Valid", "Valid text.");
    body["minimum_age"] = json!(40);
    body["maximum_age"] = json!(18);
    let (status, problem) = app.post("/v1/services", &body).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "maximum_age");
    let (_, list) = app.get_json("/v1/services").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing invalid was stored"
    );
}

#[tokio::test]
async fn malformed_requests_get_problems_not_server_errors() {
    let app = spawn_app().await;
    let post = |body: &'static str, ct: &'static str| {
        app.client
            .post(app.url("/v1/services"))
            .bearer_auth(ADMIN_KEY)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let cases = [
        (post("{", "application/json").await.unwrap(), 400),
        (post("[1,2]", "application/json").await.unwrap(), 400),
        (
            post("name=x", "application/x-www-form-urlencoded")
                .await
                .unwrap(),
            415,
        ),
    ];
    for (r, expected) in cases {
        assert_eq!(r.status().as_u16(), expected);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let r = app
        .client
        .post(app.url("/v1/services"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    let (status, problem) = app.get_json("/v1/services/not-a-uuid").await;
    assert_eq!(status, 400);
    assert_eq!(problem["parameter"], "id");
    let (status, _) = app
        .get_json("/v1/services/0192f7a4-0000-7000-8000-000000000001")
        .await;
    assert_eq!(status, 404);
    let (status, problem) = app.get_json("/v1/services?limit=0").await;
    assert_eq!(
        (status, problem["parameter"].as_str()),
        (400, Some("limit"))
    );
    let (status, problem) = app.get_json("/v1/services?colour=red").await;
    assert_eq!(
        (status, problem["parameter"].as_str()),
        (400, Some("colour"))
    );
    let (status, problem) = app.get_json("/v1/services?status=open").await;
    assert_eq!(
        (status, problem["parameter"].as_str()),
        (400, Some("status"))
    );
    let (status, problem) = app.get_json("/v1/services?modified_after=yesterday").await;
    assert_eq!(
        (status, problem["parameter"].as_str()),
        (400, Some("modified_after"))
    );
    let r = app
        .client
        .delete(app.url("/v1/taxonomy"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(
        r.headers()["allow"],
        "GET",
        "405 says which methods are allowed"
    );
    let r = app
        .client
        .post(app.url("/v1/services/00000000-0000-0000-0000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, PUT, PATCH, DELETE");
}

#[tokio::test]
async fn writes_need_the_admin_key() {
    let app = spawn_app().await;
    let body = json!({"name": "Org"});
    let anonymous = app
        .client
        .post(app.url("/v1/organizations"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = app
        .client
        .post(app.url("/v1/organizations"))
        .bearer_auth("guess")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let malformed = app
        .client
        .post(app.url("/v1/organizations"))
        .header("authorization", "Basic abc")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 401);
    let header = app
        .client
        .post(app.url("/v1/organizations"))
        .header("x-api-key", ADMIN_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 201);
}

#[tokio::test]
async fn stale_if_match_is_refused_and_nothing_is_lost() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let created = app
        .create_service(&service_body(&org, "Original", "Text."))
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/services/{id}");
    let first = app
        .client
        .patch(app.url(&path))
        .bearer_auth(ADMIN_KEY)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "First editor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["etag"], "\"2\"");
    let second = app
        .client
        .patch(app.url(&path))
        .bearer_auth(ADMIN_KEY)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "Second editor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 412);
    let problem: Value = second.json().await.unwrap();
    assert_eq!(problem["current_version"], 2);
    let (_, now) = app.get_json(&path).await;
    assert_eq!(now["name"], "First editor");
    let bad = app
        .client
        .patch(app.url(&path))
        .bearer_auth(ADMIN_KEY)
        .header("if-match", "yesterday")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn concurrent_writers_never_lose_an_update() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let created = app
        .create_service(&service_body(&org, "Busy", "Text."))
        .await;
    let path = format!("/v1/services/{}", created["id"].as_str().unwrap());
    let writers = (0..10).map(|i| {
        let body = json!({"capacity": {"accepting": "waitlist", "waiting_weeks": i + 1}});
        let request = app
            .client
            .patch(app.url(&path))
            .bearer_auth(ADMIN_KEY)
            .json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(writers).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (_, now) = app.get_json(&path).await;
    assert_eq!(
        now["version"], 11,
        "each accepted write made its own version"
    );
}

#[tokio::test]
async fn retiring_keeps_the_record_and_organisation_retirement_cascades() {
    let app = spawn_app().await;
    let org = app.create_organization("Closing charity").await;
    let s = app
        .create_service(&service_body(&org, "Last service", "Text."))
        .await;
    let r = app
        .send(
            Method::DELETE,
            &format!("/v1/organizations/{org}"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let retired: Value = r.json().await.unwrap();
    assert_eq!(retired["retired"], true);
    let (_, svc) = app
        .get_json(&format!("/v1/services/{}", s["id"].as_str().unwrap()))
        .await;
    assert_eq!(svc["status"], "defunct");
    let (status, problem) = app
        .post("/v1/services", &service_body(&org, "New", "Text."))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "organization_id");
}

#[tokio::test]
async fn organisations_round_trip() {
    let app = spawn_app().await;
    let (status, org) = app.post("/v1/organizations", &json!({"name": "Age UK Salford", "website": "https://ageuk.example/", "charity_number": "1234567"})).await;
    assert_eq!(status, 201, "{org}");
    let id = org["id"].as_str().unwrap();
    let r = app
        .send(
            Method::PATCH,
            &format!("/v1/organizations/{id}"),
            &json!({"description": "Help for older people."}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let patched: Value = r.json().await.unwrap();
    assert_eq!(patched["description"], "Help for older people.");
    assert_eq!(patched["version"], 2);
    let (status, problem) = app
        .post(
            "/v1/organizations",
            &json!({"name": "X", "website": "nope"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "website");
    let (_, list) = app.get_json("/v1/organizations?limit=10").await;
    assert_eq!(list["items"][0]["name"], "Age UK Salford");
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health").await.status(), 200);
    // Not ready (503, saying why) only while the risk model learns, once per process.
    let mut answer = app.get_json("/ready").await;
    for _ in 0..600 {
        if answer.0 == 200 {
            break;
        }
        assert_eq!(answer.0, 503, "{}", answer.1);
        assert!(
            answer.1["detail"].as_str().unwrap().contains("risk model"),
            "{}",
            answer.1
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        answer = app.get_json("/ready").await;
    }
    let (status, ready) = answer;
    assert_eq!(status, 200);
    assert_eq!(ready["status"], "ready");
    // A write returns once searchable, so nothing waits for the index after it.
    let org = app.create_organization("Ready Org").await;
    app.create_service(&service_body(&org, "Ready larder", "Groceries."))
        .await;
    let (_, ready) = app.get_json("/ready").await;
    assert_eq!(ready["index"]["lag_changes"], 0, "{ready}");
    assert_eq!(ready["index"]["lag_seconds"], 0.0, "{ready}");
    assert!(
        ready["index"]["applied_seq"].as_i64().unwrap() >= 1,
        "{ready}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_never_by_value() {
    let app = spawn_app().await;
    let _ = app
        .get("/v1/services/0192f7a4-0000-7000-8000-000000000001")
        .await;
    let _ = app
        .get("/v1/search?q=zorblax+secret&postcode=M11+1AA")
        .await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("signpost_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/v1/services/{id}\""), "{text}");
    assert!(
        text.contains("signpost_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("signpost_index_documents"), "{text}");
    assert!(text.contains("signpost_index_lag_changes 0"), "{text}");
    assert!(text.contains("signpost_index_lag_seconds 0"), "{text}");
    for private in ["zorblax", "M11", "0192f7a4"] {
        assert!(!text.contains(private), "{private} in the metrics");
    }
}
