//! Keys and roles, quick updates, history, reports and the review queue.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use signpost::domain::access::{ApiKey, Role, generate_key, hash_key};

/// Every kind of caller the permission matrix tries.
struct Keys {
    navigator: String,
    partner_a: String,
    partner_b: String,
    admin: String,
    revoked: String,
    expired: String,
}

async fn keys(app: &TestApp, org_a: &str, org_b: &str) -> Keys {
    let (_, navigator) = app.create_key("navigator", None).await;
    let (_, partner_a) = app.create_key("partner", Some(org_a)).await;
    let (_, partner_b) = app.create_key("partner", Some(org_b)).await;
    let (_, admin) = app.create_key("admin", None).await;
    let (revoked_id, revoked) = app.create_key("admin", None).await;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/admin/keys/{revoked_id}"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 204);
    // A key that expired yesterday, written straight to the database.
    let store = signpost::startup::open_store(&app.database_url)
        .await
        .unwrap();
    let (id, expired) = generate_key();
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    let key = ApiKey {
        id,
        name: "old".into(),
        role: Role::Admin,
        organization_id: None,
        created_at: yesterday - chrono::Duration::days(30),
        expires_at: Some(yesterday),
        revoked_at: None,
    };
    store.insert_key(&key, &hash_key(&expired)).await.unwrap();
    store.close().await;
    Keys {
        navigator,
        partner_a,
        partner_b,
        admin,
        revoked,
        expired,
    }
}

#[tokio::test]
async fn permission_matrix() {
    let app = spawn_app().await;
    let org_a = app.create_organization("Org A").await;
    let org_b = app.create_organization("Org B").await;
    let k = keys(&app, &org_a, &org_b).await;
    let malformed = "not-a-key".to_string();
    let unknown = generate_key().1;
    // (who, key, expected status for: service writes, reports, history, queue, org/admin writes)
    type Row<'a> = (&'a str, Option<&'a String>, u16, u16, u16, u16, u16);
    let callers: Vec<Row> = vec![
        ("anonymous", None, 401, 401, 401, 401, 401),
        ("malformed", Some(&malformed), 401, 401, 401, 401, 401),
        ("unknown", Some(&unknown), 401, 401, 401, 401, 401),
        ("revoked", Some(&k.revoked), 401, 401, 401, 401, 401),
        ("expired", Some(&k.expired), 401, 401, 401, 401, 401),
        ("navigator", Some(&k.navigator), 403, 201, 200, 403, 403),
        (
            "partner of another organisation",
            Some(&k.partner_b),
            403,
            201,
            403,
            200,
            403,
        ),
        ("partner", Some(&k.partner_a), 200, 201, 200, 200, 403),
        ("admin", Some(&k.admin), 200, 201, 200, 200, 200),
    ];
    for (who, key, writes, reports, history, queue, admin_only) in callers {
        let key = key.map(String::as_str);
        let svc = app
            .create_service(&service_body(&org_a, &format!("Target for {who}"), "Help."))
            .await;
        let id = svc["id"].as_str().unwrap();
        let body = service_body(&org_a, &format!("Created by {who}"), "Help.");
        let (status, got) = app
            .call(Method::POST, "/v1/services", key, Some(&body))
            .await;
        let created = if writes == 200 { 201 } else { writes };
        assert_eq!(status, created, "{who}: POST /v1/services: {got}");
        let mut replaced = service_body(&org_a, "Replaced", "Help.");
        replaced["organization_id"] = json!(org_a);
        let service_writes: Vec<(Method, String, Option<Value>)> = vec![
            (Method::PUT, format!("/v1/services/{id}"), Some(replaced)),
            (
                Method::PATCH,
                format!("/v1/services/{id}"),
                Some(json!({"description": "New words."})),
            ),
            (
                Method::PUT,
                format!("/v1/services/{id}/capacity"),
                Some(json!({"accepting": "waitlist", "waiting_weeks": 3})),
            ),
            (
                Method::PUT,
                format!("/v1/services/{id}/status"),
                Some(json!({"status": "active"})),
            ),
            (Method::POST, format!("/v1/services/{id}/verify"), None),
            (Method::DELETE, format!("/v1/services/{id}"), None),
        ];
        for (method, path, body) in service_writes {
            let (status, got) = app.call(method.clone(), &path, key, body.as_ref()).await;
            assert_eq!(status, writes, "{who}: {method} {path}: {got}");
        }
        let (status, got) = app
            .call(
                Method::POST,
                &format!("/v1/services/{id}/reports"),
                key,
                Some(&json!({"kind": "wrong_phone"})),
            )
            .await;
        assert_eq!(status, reports, "{who}: report: {got}");
        let (status, got) = app
            .call(
                Method::GET,
                &format!("/v1/services/{id}/history"),
                key,
                None,
            )
            .await;
        assert_eq!(status, history, "{who}: history: {got}");
        let (status, got) = app.call(Method::GET, "/v1/review-queue", key, None).await;
        assert_eq!(status, queue, "{who}: queue: {got}");
        let admin_routes: Vec<(Method, String, Option<Value>)> = vec![
            (
                Method::POST,
                "/v1/organizations".into(),
                Some(json!({"name": format!("Org by {who}")})),
            ),
            (
                Method::PATCH,
                format!("/v1/organizations/{org_b}"),
                Some(json!({"description": "x"})),
            ),
            (Method::GET, "/v1/admin/keys".into(), None),
            (Method::POST, "/v1/admin/reindex".into(), None),
        ];
        for (method, path, body) in admin_routes {
            let (status, got) = app.call(method.clone(), &path, key, body.as_ref()).await;
            let expected = match (admin_only, &method) {
                (200, &Method::POST) if path == "/v1/organizations" => 201,
                (s, _) => s,
            };
            assert_eq!(status, expected, "{who}: {method} {path}: {got}");
        }
    }
    // Secrets never come back: not in the key list, not in any history.
    let (_, listed) = app
        .call(Method::GET, "/v1/admin/keys", Some(ADMIN_KEY), None)
        .await;
    assert!(!listed.to_string().contains(&k.admin));
    assert!(!listed.to_string().contains("secret_hash"));
}

#[tokio::test]
async fn staff_only_fields_need_a_key() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let mut body = service_body(&org, "Named contacts", "Help.");
    body["contacts"] = json!([{"name": "Sam Ahmed", "title": "Coordinator"}]);
    body["referral"]["instructions"] = json!("Email the coordinator with consent.");
    let id = app.create_service(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, navigator) = app.create_key("navigator", None).await;
    let (_, public) = app
        .call(Method::GET, &format!("/v1/services/{id}"), None, None)
        .await;
    assert!(!public.to_string().contains("Sam Ahmed"), "{public}");
    assert!(public["referral"].get("instructions").is_none(), "{public}");
    let (_, listed) = app.call(Method::GET, "/v1/services", None, None).await;
    assert!(!listed.to_string().contains("Sam Ahmed"));
    let (_, staff) = app
        .call(
            Method::GET,
            &format!("/v1/services/{id}"),
            Some(&navigator),
            None,
        )
        .await;
    assert_eq!(staff["contacts"][0]["name"], "Sam Ahmed");
    assert_eq!(
        staff["referral"]["instructions"],
        "Email the coordinator with consent."
    );
}

#[tokio::test]
async fn open_routes_refuse_a_bad_key_rather_than_ignore_it() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let id = app
        .create_service(&service_body(&org, "Open door", "Help."))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, navigator) = app.create_key("navigator", None).await;
    for path in [
        "/v1/search?q=help".to_string(),
        "/v1/taxonomy".to_string(),
        "/v1/gp-practices?q=surgery".to_string(),
        format!("/v1/services/{id}/eligibility?age=30"),
    ] {
        let (status, _) = app.call(Method::GET, &path, None, None).await;
        assert_eq!(status, 200, "{path} without a key");
        let (status, _) = app.call(Method::GET, &path, Some(&navigator), None).await;
        assert_eq!(status, 200, "{path} with a good key");
        for bad in ["not-a-key", "sp_0000000000000000000000000000000000000000"] {
            let r = app
                .client
                .get(app.url(&path))
                .bearer_auth(bad)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{path} with key {bad}");
            assert_eq!(
                r.headers()["content-type"],
                "application/problem+json",
                "{path}"
            );
        }
    }
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/search",
            Some("not-a-key"),
            Some(&json!({"q": "help"})),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn quick_updates_change_only_their_fields_and_show_in_search() {
    let app = spawn_app().await;
    let org = app.create_organization("Quick Org").await;
    let (partner_id, partner) = app.create_key("partner", Some(&org)).await;
    let mut body = service_body(&org, "Quick larder", "Groceries.");
    body.as_object_mut().unwrap().remove("assured_date");
    let created = app.create_service(&body).await;
    let id = created["id"].as_str().unwrap();

    let (status, after) = app
        .call(
            Method::PUT,
            &format!("/v1/services/{id}/capacity"),
            Some(&partner),
            Some(&json!({"accepting": "closed"})),
        )
        .await;
    assert_eq!(status, 200, "{after}");
    let hit = &app.search("q=larder").await["hits"][0];
    let codes = hit["warnings"].to_string();
    assert!(codes.contains("not_accepting"), "{hit}");

    let reopens = (chrono::Utc::now() + chrono::Duration::days(10))
        .date_naive()
        .to_string();
    let (status, after) = app
        .call(
            Method::PUT,
            &format!("/v1/services/{id}/status"),
            Some(&partner),
            Some(&json!({"status": "temporarily_closed", "reason": "staff holiday", "reopens_on": reopens})),
        )
        .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(
        after["capacity"]["accepting"], "closed",
        "status leaves capacity alone"
    );
    let hit = &app.search("q=larder").await["hits"][0];
    assert!(
        hit["warnings"].to_string().contains("staff holiday"),
        "{hit}"
    );

    let (status, after) = app
        .call(
            Method::POST,
            &format!("/v1/services/{id}/verify"),
            Some(&partner),
            None,
        )
        .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(
        after["assured_date"],
        chrono::Utc::now().date_naive().to_string()
    );
    assert_eq!(
        after["status"], "temporarily_closed",
        "verify leaves status alone"
    );

    let (_, history) = app
        .call(
            Method::GET,
            &format!("/v1/services/{id}/history"),
            Some(&partner),
            None,
        )
        .await;
    let entries = history["history"].as_array().unwrap();
    let summary: Vec<(String, String, Vec<String>)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
                e["changes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["field"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(summary[0].0, "create");
    assert_eq!(summary[0].1, "admin-key");
    assert_eq!(
        summary[1],
        (
            "capacity".into(),
            partner_id.clone(),
            vec![
                "capacity.accepting".to_string(),
                "capacity.updated_at".to_string()
            ]
        )
    );
    assert_eq!(
        summary[2],
        (
            "status".into(),
            partner_id.clone(),
            vec!["status".to_string(), "temporary_closure".to_string()]
        )
    );
    assert_eq!(
        summary[3],
        (
            "verify".into(),
            partner_id.clone(),
            vec!["assured_date".to_string()]
        )
    );
    assert_eq!(entries[1]["changes"][0]["before"], "open");
    assert_eq!(entries[1]["changes"][0]["after"], "closed");
    assert!(
        !history.to_string().contains(&partner),
        "no secret in history"
    );

    // Bad quick updates are named.
    for (path, body, field) in [
        ("capacity", json!({"accepting": "maybe"}), "accepting"),
        (
            "capacity",
            json!({"accepting": "open", "colour": "red"}),
            "colour",
        ),
        ("status", json!({"status": "temporarily_closed"}), "reason"),
        (
            "status",
            json!({"status": "active", "reopens_on": "2030-01-01"}),
            "reopens_on",
        ),
        (
            "status",
            json!({"status": "temporarily_closed", "reason": "x", "reopens_on": "2020-01-01"}),
            "reopens_on",
        ),
    ] {
        let (status, got) = app
            .call(
                Method::PUT,
                &format!("/v1/services/{id}/{path}"),
                Some(&partner),
                Some(&body),
            )
            .await;
        assert_eq!(status, 422, "{path} {body}: {got}");
        assert!(got.to_string().contains(field), "{path} {body}: {got}");
    }
}

#[tokio::test]
async fn stale_if_match_is_refused_and_concurrent_writers_lose_nothing() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let (_, partner) = app.create_key("partner", Some(&org)).await;
    let id = app
        .create_service(&service_body(&org, "Busy", "Help."))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let capacity = |weeks: u32| json!({"accepting": "waitlist", "waiting_weeks": weeks});
    let r = app
        .client
        .put(app.url(&format!("/v1/services/{id}/capacity")))
        .bearer_auth(&partner)
        .header("If-Match", "\"1\"")
        .json(&capacity(2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let r = app
        .client
        .post(app.url(&format!("/v1/services/{id}/verify")))
        .bearer_auth(&partner)
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["current_version"], 2);
    let (_, now) = app.get_json(&format!("/v1/services/{id}")).await;
    assert_eq!(
        now["capacity"]["waiting_weeks"], 2,
        "the first write stands"
    );
    assert_eq!(now["version"], 2, "the refused write changed nothing");

    // Ten writers at once, no If-Match: every write lands, one version each.
    let writes = (0..10).map(|i| {
        let app = &app;
        let partner = &partner;
        let id = &id;
        async move {
            let (path, body) = if i % 2 == 0 {
                (format!("/v1/services/{id}/capacity"), Some(capacity(i)))
            } else {
                (format!("/v1/services/{id}/verify"), None)
            };
            let method = if i % 2 == 0 {
                Method::PUT
            } else {
                Method::POST
            };
            app.call(method, &path, Some(partner), body.as_ref())
                .await
                .0
        }
    });
    let statuses = futures::future::join_all(writes).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (_, now) = app.get_json(&format!("/v1/services/{id}")).await;
    assert_eq!(now["version"], 12);
    let (_, history) = app
        .call(
            Method::GET,
            &format!("/v1/services/{id}/history"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(history["history"].as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn temporary_closure_reopens_on_its_date() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let today = chrono::Utc::now().date_naive().to_string();
    let mut body = service_body(&org, "Summer closure", "Help.");
    body["status"] = json!("temporarily_closed");
    body["temporary_closure"] = json!({"reason": "summer break", "reopens_on": today});
    let id = app.create_service(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut reopened = Value::Null;
    for _ in 0..50 {
        let (_, now) = app.get_json(&format!("/v1/services/{id}")).await;
        if now["status"] == "active" {
            reopened = now;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(reopened["status"], "active", "reopened by the scheduler");
    assert!(reopened.get("temporary_closure").is_none());
    // The scheduler's write reaches search as any other write does: this test did not
    // make it, so it waits for the index rather than reading its own write.
    let mut hit = Value::Null;
    for _ in 0..50 {
        hit = app.search("q=summer+closure").await["hits"][0].clone();
        if hit["service"]["status"] == "active" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(hit["service"]["status"], "active", "{hit}");
    assert!(
        !hit["warnings"].to_string().contains("temporarily_closed"),
        "{hit}"
    );
    let (_, history) = app
        .call(
            Method::GET,
            &format!("/v1/services/{id}/history"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    let last = history["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "reopen");
    assert_eq!(last["actor"], "scheduler");
}

#[tokio::test]
async fn review_queue_lists_each_kind_and_resolves_them() {
    let app = spawn_app().await;
    let org = app.create_organization("Queue Org").await;
    let other = app.create_organization("Other Org").await;
    let (_, partner) = app.create_key("partner", Some(&org)).await;
    let (_, other_partner) = app.create_key("partner", Some(&other)).await;
    let (_, navigator) = app.create_key("navigator", None).await;
    let mut body = service_body(&org, "Never checked", "Help.");
    body.as_object_mut().unwrap().remove("assured_date");
    body.as_object_mut().unwrap().remove("capacity");
    let id = app.create_service(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/services/{id}/reports"),
            Some(&navigator),
            Some(&json!({"kind": "closed", "text": "Phone says the service has closed"})),
        )
        .await;
    assert_eq!(status, 201);
    let (_, queue) = app
        .call(Method::GET, "/v1/review-queue", Some(&partner), None)
        .await;
    let items: Vec<&Value> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["service_id"] == id.as_str())
        .collect();
    let mut kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec!["capacity_stale", "not_verified", "report"],
        "{queue}"
    );
    let (_, theirs) = app
        .call(Method::GET, "/v1/review-queue", Some(&other_partner), None)
        .await;
    assert!(
        !theirs.to_string().contains(&id),
        "other partners do not see it"
    );
    let (_, all) = app
        .call(Method::GET, "/v1/review-queue", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["service_id"] == id.as_str())
            .count(),
        3
    );

    let (status, got) = app
        .call(
            Method::POST,
            &format!(
                "/v1/review-queue/{}/resolve",
                items[0]["id"].as_str().unwrap()
            ),
            Some(&partner),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 422, "a note is required: {got}");
    for item in &items {
        let item_id = item["id"].as_str().unwrap();
        let (status, got) = app
            .call(
                Method::POST,
                &format!("/v1/review-queue/{item_id}/resolve"),
                Some(&partner),
                Some(&json!({"note": "Rang them: open as usual"})),
            )
            .await;
        assert_eq!(status, 200, "{item_id}: {got}");
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/v1/review-queue/{item_id}/resolve"),
                Some(&partner),
                Some(&json!({"note": "again"})),
            )
            .await;
        assert_eq!(status, 404, "{item_id} is resolved already");
    }
    let (_, queue) = app
        .call(Method::GET, "/v1/review-queue", Some(&partner), None)
        .await;
    assert!(!queue.to_string().contains(&id), "{queue}");
    // Capacity updated and then stale again is a new item; a fresh one is not.
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/v1/services/{id}/capacity"),
            Some(&partner),
            Some(&json!({"accepting": "open"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, queue) = app
        .call(Method::GET, "/v1/review-queue", Some(&partner), None)
        .await;
    assert!(!queue.to_string().contains("capacity_stale"), "{queue}");
}

#[tokio::test]
async fn restating_capacity_confirms_it() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let id = app
        .create_service(&service_body(&org, "Steady", "Help."))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let same = json!({"accepting": "open"});
    let path = format!("/v1/services/{id}/capacity");
    let (status, first) = app
        .call(Method::PUT, &path, Some(ADMIN_KEY), Some(&same))
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, second) = app
        .call(Method::PUT, &path, Some(ADMIN_KEY), Some(&same))
        .await;
    assert_eq!(status, 200);
    let (a, b) = (
        first["capacity"]["updated_at"]
            .as_str()
            .unwrap()
            .to_string(),
        second["capacity"]["updated_at"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    assert!(b > a, "saying it again today makes it fresh: {a} then {b}");
    let (_, history) = app
        .call(
            Method::GET,
            &format!("/v1/services/{id}/history"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    let last = history["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "capacity", "{last}");
    assert!(
        last["changes"].to_string().contains("capacity.updated_at"),
        "{last}"
    );
}

#[tokio::test]
async fn key_lifetimes_are_bounded_and_the_key_list_survives() {
    let app = spawn_app().await;
    for days in [0u64, 3651, 2_913_000, 100_000_000] {
        let (status, problem) = app
            .call(
                Method::POST,
                "/v1/admin/keys",
                Some(ADMIN_KEY),
                Some(&json!({"name": "too long", "role": "navigator", "expires_in_days": days})),
            )
            .await;
        assert_eq!(status, 422, "{days}: {problem}");
        assert_eq!(
            problem["errors"][0]["field"], "expires_in_days",
            "{problem}"
        );
    }
    let (status, _) = app
        .call(Method::GET, "/v1/admin/keys", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn callers_over_their_limit_wait_and_are_told_how_long() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(dir.path()).await;
    let mut s = settings(&url, dir.path().join("index"), false);
    s.limits = signpost::api::limits::LimitSettings {
        per_address_per_minute: 5,
        per_key_per_minute: 3,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
    };
    let (address, stopper) = start(s).await;
    let client = http_client();
    let get = |forwarded: &'static str, key: Option<&'static str>| {
        let mut r = client
            .get(format!("{address}/v1/taxonomy"))
            .header("x-forwarded-for", forwarded);
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };
    for _ in 0..5 {
        assert_eq!(get("10.0.0.1", None).await.unwrap().status(), 200);
    }
    let over = get("10.0.0.1", None).await.unwrap();
    assert_eq!(over.status(), 429);
    assert_eq!(over.headers()["content-type"], "application/problem+json");
    let wait: u64 = over.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Another client behind the same trusted proxy has its own allowance.
    assert_eq!(get("10.0.0.2", None).await.unwrap().status(), 200);
    // A key has its own allowance, whatever address it comes from.
    for _ in 0..3 {
        assert_eq!(
            get("10.0.0.1", Some(ADMIN_KEY)).await.unwrap().status(),
            200
        );
    }
    assert_eq!(
        get("10.0.0.1", Some(ADMIN_KEY)).await.unwrap().status(),
        429
    );
    // Health checks are never limited.
    for _ in 0..10 {
        let r = client
            .get(format!("{address}/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    stopper.stop().await;
}

/// Runs a statement on the test's database, whichever backend it is.
async fn execute_sql(database_url: &str, statement: &str) {
    if database_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(database_url).await.unwrap();
        sqlx::query(statement).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(database_url).await.unwrap();
        sqlx::query(statement).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn purge_forgets_only_what_is_older_than_the_retention_settings() {
    let app = spawn_app().await;
    let org = app.create_organization("Retention Org").await;
    let (_, navigator) = app.create_key("navigator", None).await;
    let id = app
        .create_service(&service_body(&org, "Kept service", "Help."))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for text in ["Phone number is wrong", "Still wrong"] {
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/v1/services/{id}/reports"),
                Some(&navigator),
                Some(&json!({"kind": "wrong_phone", "text": text})),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (_, queue) = app
        .call(Method::GET, "/v1/review-queue", Some(ADMIN_KEY), None)
        .await;
    let report = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["service_id"] == id.as_str() && i["kind"] == "report")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/review-queue/{report}/resolve"),
            Some(ADMIN_KEY),
            Some(&json!({"note": "Corrected the number"})),
        )
        .await;
    assert_eq!(status, 200);

    // Everything so far happened "three years ago"; one more change happens now.
    let long_ago = "2023-01-01T00:00:00.000000Z";
    execute_sql(
        &app.database_url,
        &format!("UPDATE audit_log SET at = '{long_ago}'"),
    )
    .await;
    execute_sql(
        &app.database_url,
        &format!("UPDATE reports SET created_at = '{long_ago}', resolved_at = CASE WHEN resolved_at IS NULL THEN NULL ELSE '{long_ago}' END"),
    )
    .await;
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/v1/services/{id}/capacity"),
            Some(ADMIN_KEY),
            Some(&json!({"accepting": "waitlist", "waiting_weeks": 3})),
        )
        .await;
    assert_eq!(status, 200);

    let purge = std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
        .args(["--database-url", &app.database_url, "purge"])
        .args(["--history-retention-days", "365"])
        .args(["--resolved-report-retention-days", "365"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&purge.stdout);
    assert!(
        purge.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&purge.stderr)
    );
    assert!(said.contains("1 resolved reports"), "{said}");

    let (_, history) = app
        .call(
            Method::GET,
            &format!("/v1/services/{id}/history"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    let actions: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["capacity"],
        "only this year's change: {history}"
    );
    let (_, queue) = app
        .call(Method::GET, "/v1/review-queue", Some(ADMIN_KEY), None)
        .await;
    let open: Vec<&Value> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["service_id"] == id.as_str() && i["kind"] == "report")
        .collect();
    assert_eq!(open.len(), 1, "the open report stays: {queue}");
}
