use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

fn categories_of_top(search: &Value, n: usize) -> Vec<Vec<String>> {
    search["hits"]
        .as_array()
        .unwrap()
        .iter()
        .take(n)
        .map(|h| {
            h["service"]["categories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn callers_words_find_the_right_kind_of_service() {
    let app = spawn_demo_app().await;
    let cases: [(&str, &[&str]); 14] = [
        ("money worries", &["debt", "money"]),
        ("cant pay my bills", &["debt", "money"]),
        ("bailifs at the door", &["debt"]),
        ("my wife died", &["bereavement"]),
        ("bereavment", &["bereavement"]),
        ("lonely", &["befriending"]),
        ("lonley since retiring", &["befriending"]),
        ("can't sleep", &["mental_wellbeing"]),
        ("lost my job", &["employment"]),
        ("exercize", &["physical_activity"]),
        ("food bank", &["food"]),
        ("partner is controlling", &["domestic_abuse"]),
        ("drinking too much", &["drugs_alcohol"]),
        ("looking after my mum", &["carers"]),
    ];
    for (q, right) in cases {
        let result = app.search(&format!("q={}&limit=5", urlencode(q))).await;
        let top = categories_of_top(&result, 5);
        assert!(!top.is_empty(), "{q}: no results");
        assert!(
            top.iter()
                .all(|cats| cats.iter().any(|c| right.contains(&c.as_str()))),
            "{q}: top 5 {top:?} should all be {right:?}"
        );
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn stemming_matches_word_forms() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    app.create_service(&service_body(
        &org,
        "Riverside walks",
        "Volunteers lead gentle walks for grieving families.",
    ))
    .await;
    for q in ["walking", "walk", "grief%20walk", "grieve"] {
        let result = app.search(&format!("q={q}")).await;
        assert_eq!(names(&result), vec!["Riverside walks"], "{q}");
    }
}

#[tokio::test]
async fn every_word_must_match_unless_nothing_does() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    for (name, description) in [
        ("Tuesday knitting circle", "Knitting and a cup of tea."),
        ("Tuesday chess club", "Chess for all levels."),
        ("Knitting for charity", "Knit blankets for the hospice."),
    ] {
        app.create_service(&service_body(&org, name, description))
            .await;
    }
    // Both words: only the service that has both.
    let result = app.search("q=tuesday+knitting").await;
    assert_eq!(names(&result), vec!["Tuesday knitting circle"]);
    assert_eq!(result["total"], 1);
    // No service has every word: the services with any of them, best first.
    let result = app.search("q=knitting+zeppelin").await;
    assert_eq!(result["total"], 2, "{result}");
    // A typo in a word the directory does not contain still finds it.
    let result = app.search("q=tuesdy+chess").await;
    assert_eq!(names(&result), vec!["Tuesday chess club"]);
}

#[tokio::test]
async fn writes_are_searchable_in_the_next_request() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let s = app
        .create_service(&service_body(&org, "Zebra crossing club", "A club."))
        .await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(
        names(&app.search("q=zebra").await),
        vec!["Zebra crossing club"]
    );
    let r = app
        .send(
            Method::PATCH,
            &format!("/v1/services/{id}"),
            &json!({"name": "Giraffe club"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(names(&app.search("q=zebra").await).is_empty());
    assert_eq!(names(&app.search("q=giraffe").await), vec!["Giraffe club"]);
    let r = app
        .send(Method::DELETE, &format!("/v1/services/{id}"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        names(&app.search("q=giraffe").await).is_empty(),
        "retired services are hidden by default"
    );
    assert_eq!(
        names(&app.search("q=giraffe&status=defunct").await),
        vec!["Giraffe club"]
    );
}

#[tokio::test]
async fn what_searches_keep_never_shows_an_answer_from_before_a_write() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let s = app
        .create_service(&service_body(&org, "Zebra crossing club", "A club."))
        .await;
    let id = s["id"].as_str().unwrap();
    // A misspelling is matched by near spellings, which each segment keeps once found;
    // the same for a caller's words found by their exact term.
    for _ in 0..2 {
        assert_eq!(
            names(&app.search("q=zebbra").await),
            vec!["Zebra crossing club"]
        );
        assert_eq!(
            names(&app.search("q=crossing").await),
            vec!["Zebra crossing club"]
        );
    }
    let r = app
        .send(
            Method::PATCH,
            &format!("/v1/services/{id}"),
            &json!({"name": "Giraffe club"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(names(&app.search("q=zebbra").await).is_empty());
    assert!(names(&app.search("q=crossing").await).is_empty());
    app.create_service(&service_body(&org, "Zebra stripes group", "A group."))
        .await;
    assert_eq!(
        names(&app.search("q=zebbra").await),
        vec!["Zebra stripes group"]
    );
    // A capacity update shows at once on the hit, though its old document was shown before.
    let r = app
        .send(
            Method::PUT,
            &format!("/v1/services/{id}/capacity"),
            &json!({"accepting": "closed"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let hits = app.search("q=giraffe").await;
    assert_eq!(
        hits["hits"][0]["service"]["capacity"]["accepting"],
        "closed"
    );
}

/// What a hit of `id` says in `search`: its capacity and status, `None` when absent.
fn shown(search: &Value, id: &str) -> Option<(String, String)> {
    search["hits"].as_array()?.iter().find_map(|h| {
        (h["service"]["id"] == id).then(|| {
            (
                h["service"]["capacity"]["accepting"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                h["service"]["status"].as_str().unwrap_or("").to_string(),
            )
        })
    })
}

#[tokio::test]
async fn quick_updates_are_searchable_at_once_and_stay_so_through_the_commits_after_them() {
    // Committed at every poll (200 ms), so that commits and patches interleave.
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_configured(dir.path(), None, false, |s| {
        s.search.commit_patches_within = std::time::Duration::ZERO;
    })
    .await;
    let org = app.create_organization("Org").await;
    let mut ids = Vec::new();
    for name in ["Harbour walkers", "Harbour singers", "Harbour gardeners"] {
        let s = app
            .create_service(&service_body(&org, name, "Meets by the harbour."))
            .await;
        ids.push(s["id"].as_str().unwrap().to_string());
    }
    // Three partners update their own entries while the writer commits every 200 ms; after
    // each update, every kind of search at once shows what they said: the hit, the
    // "accepting" filter, the status filter and the status facet.
    let partner = |id: String, turn: usize| {
        let app = &app;
        async move {
            for i in 0..24 {
                let accepting = ["open", "waitlist", "closed"][(i + turn) % 3];
                let path = format!("/v1/services/{id}/capacity");
                app.send_ok(Method::PUT, &path, &json!({"accepting": accepting}))
                    .await;
                let closed = i % 4 == turn;
                let status = if closed {
                    "temporarily_closed"
                } else {
                    "active"
                };
                let body = if closed {
                    json!({"status": status, "reason": "staff away"})
                } else {
                    json!({"status": status})
                };
                app.send_ok(Method::PUT, &format!("/v1/services/{id}/status"), &body)
                    .await;
                let all = app.search("q=harbour").await;
                assert_eq!(
                    shown(&all, &id),
                    Some((accepting.to_string(), status.to_string())),
                    "update {i} of {id}"
                );
                let open = app.search("q=harbour&accepting=open&status=active").await;
                assert_eq!(shown(&open, &id).is_some(), accepting == "open" && !closed);
                let active = app.search("q=harbour&status=active").await;
                assert_eq!(shown(&active, &id).is_some(), !closed, "update {i}");
                let away = app.search("q=harbour&status=temporarily_closed").await;
                assert_eq!(shown(&away, &id).is_some(), closed, "update {i}");
                let facet = all["facets"]["status"].as_array().unwrap();
                let total: u64 = facet.iter().map(|f| f["count"].as_u64().unwrap()).sum();
                assert_eq!(total, 3, "{facet:?}");
                tokio::time::sleep(std::time::Duration::from_millis(17 * turn as u64 + 5)).await;
            }
        }
    };
    tokio::join!(
        partner(ids[0].clone(), 0),
        partner(ids[1].clone(), 1),
        partner(ids[2].clone(), 2)
    );
    // The last word stands once the writer has committed it, and after a restart.
    let expected: Vec<_> = {
        let all = app
            .search("q=harbour&status=active,temporarily_closed")
            .await;
        ids.iter().map(|id| shown(&all, id).unwrap()).collect()
    };
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let all = app
        .search("q=harbour&status=active,temporarily_closed")
        .await;
    let after: Vec<_> = ids.iter().map(|id| shown(&all, id).unwrap()).collect();
    assert_eq!(after, expected);
    let mut app = app;
    app.stop().await;
    let (address, server) = start(settings(&app.database_url, app.index_dir.clone(), false)).await;
    let all =
        crate::support::get_json(&http_client(), format!("{address}/v1/search?q=harbour")).await;
    let restarted: Vec<_> = ids.iter().map(|id| shown(&all, id).unwrap()).collect();
    assert_eq!(restarted, expected);
    server.stop().await;
}

#[tokio::test]
async fn a_quick_update_waiting_for_its_commit_goes_with_the_next_edit() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let s = app
        .create_service(&service_body(&org, "Lighthouse keepers", "Meets weekly."))
        .await;
    let id = s["id"].as_str().unwrap();
    app.send_ok(
        Method::PUT,
        &format!("/v1/services/{id}/capacity"),
        &json!({"accepting": "waitlist", "waiting_weeks": 4}),
    )
    .await;
    let hits = app.search("q=lighthouse&accepting=waitlist").await;
    assert_eq!(hits["hits"][0]["service"]["capacity"]["waiting_weeks"], 4);
    // An edit of the text is committed at once, and the quick update with it.
    app.send_ok(
        Method::PATCH,
        &format!("/v1/services/{id}"),
        &json!({"name": "Lighthouse rowers"}),
    )
    .await;
    let hits = app.search("q=rowers").await;
    assert_eq!(names(&hits), vec!["Lighthouse rowers"]);
    assert_eq!(
        hits["hits"][0]["service"]["capacity"]["accepting"],
        "waitlist"
    );
    assert_eq!(
        names(&app.search("q=rowers&accepting=waitlist").await),
        vec!["Lighthouse rowers"]
    );
    // A second quick update lands on the new document.
    app.send_ok(
        Method::PUT,
        &format!("/v1/services/{id}/capacity"),
        &json!({"accepting": "open"}),
    )
    .await;
    assert!(names(&app.search("q=rowers&accepting=waitlist").await).is_empty());
    assert_eq!(
        names(&app.search("q=rowers&accepting=open").await),
        vec!["Lighthouse rowers"]
    );
}

#[tokio::test]
async fn filters_combine_and_facets_add_up() {
    let app = spawn_demo_app().await;
    let all = app.search("limit=1").await;
    let total = all["total"].as_u64().unwrap();
    assert!(total > 250, "{total}");
    let status_sum: u64 = all["facets"]["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["count"].as_u64().unwrap())
        .sum();
    assert_eq!(status_sum, total, "every service has one status");
    let debt = app.search("category=debt&limit=100").await;
    let debt_facet = debt["facets"]["category"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["value"] == "debt")
        .unwrap()["count"]
        .as_u64()
        .unwrap();
    assert_eq!(debt_facet, debt["total"].as_u64().unwrap());
    for hit in debt["hits"].as_array().unwrap() {
        assert!(
            hit["service"]["categories"]
                .as_array()
                .unwrap()
                .contains(&json!("debt"))
        );
    }
    let phone = app
        .search("category=debt&delivery_mode=telephone&limit=100")
        .await;
    assert!(phone["total"].as_u64().unwrap() <= debt["total"].as_u64().unwrap());
    for hit in phone["hits"].as_array().unwrap() {
        assert!(
            hit["service"]["delivery_modes"]
                .as_array()
                .unwrap()
                .contains(&json!("telephone"))
        );
    }
    let young = app.search("age=15&limit=100").await;
    for hit in young["hits"].as_array().unwrap() {
        let s = &hit["service"];
        assert!(s["minimum_age"].as_u64().unwrap_or(0) <= 15, "{s}");
        assert!(s["maximum_age"].as_u64().unwrap_or(200) >= 15, "{s}");
    }
    let women = app.search("gender=female&limit=100").await;
    for hit in women["hits"].as_array().unwrap() {
        assert_ne!(hit["service"]["gender"], "male");
    }
    let open = app.search("accepting=open&limit=100").await;
    for hit in open["hits"].as_array().unwrap() {
        assert_eq!(hit["service"]["capacity"]["accepting"], "open");
        assert!(
            !hit["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["code"] == "capacity_unknown"),
            "stale capacity is not 'open'"
        );
    }
    let urdu = app
        .search("language=ur&referral=self&free=true&limit=100")
        .await;
    assert!(urdu["total"].as_u64().unwrap() > 0);
    for hit in urdu["hits"].as_array().unwrap() {
        let s = &hit["service"];
        assert!(s["languages"].as_array().unwrap().contains(&json!("ur")));
        assert_ne!(s["referral"]["route"], "professional_referral");
        assert_eq!(s["cost"]["free"], true);
    }
    let hidden = app.search("status=inactive&limit=100").await;
    assert!(hidden["total"].as_u64().unwrap() > 0);
    let default_statuses: Vec<&str> = all["facets"]["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["value"].as_str().unwrap())
        .collect();
    assert!(!default_statuses.contains(&"inactive") && !default_statuses.contains(&"defunct"));
}

#[tokio::test]
async fn warnings_show_closure_capacity_and_verification() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let mut body = service_body(&org, "Summer closed club", "Closed for the summer.");
    body["status"] = json!("temporarily_closed");
    body["temporary_closure"] = json!({"reason": "summer break", "reopens_on": "2027-09-01"});
    body["capacity"] = json!({"accepting": "waitlist", "waiting_weeks": 8});
    body["assured_date"] = json!("2024-01-01");
    app.create_service(&body).await;
    let open = app
        .create_service(&service_body(&org, "Summer open club", "Open all summer."))
        .await;
    let result = app.search("q=summer%20club").await;
    assert_eq!(
        names(&result)[0],
        "Summer open club",
        "open services rank first"
    );
    assert_eq!(result["hits"][0]["warnings"], json!([]));
    let codes: Vec<&str> = result["hits"][1]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec!["temporarily_closed", "waiting_list", "not_verified"]
    );
    assert!(
        result["hits"][1]["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2027-09-01")
    );
    assert!(
        result["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<b>")
    );
    let _ = open;
}

#[tokio::test]
async fn bad_search_parameters_are_named() {
    let app = spawn_app().await;
    for (query, parameter) in [
        ("category=astrology", "category"),
        ("delivery_mode=fax", "delivery_mode"),
        ("status=open", "status"),
        ("accepting=maybe", "accepting"),
        ("age=-3", "age"),
        ("age=abc", "age"),
        ("limit=100000", "limit"),
        ("offset=-1", "offset"),
        ("gender=other", "gender"),
        ("free=perhaps", "free"),
        ("language=English", "language"),
        ("colour=red", "colour"),
        ("q=a&q=b", "q"),
    ] {
        let (status, problem) = app.get_json(&format!("/v1/search?{query}")).await;
        assert_eq!(status, 400, "{query}: {problem}");
        assert_eq!(problem["parameter"], parameter, "{query}");
    }
    let long = "a".repeat(301);
    let (status, problem) = app.get_json(&format!("/v1/search?q={long}")).await;
    assert_eq!((status, problem["parameter"].as_str()), (400, Some("q")));
    for q in [
        "debt AND (",
        "\"unterminated",
        "title:foo",
        "*",
        "~~~",
        "-",
        "a:b:c",
        "%5B%5D%7B%7D",
        "%E2%9C%93",
    ] {
        let (status, body) = app.get_json(&format!("/v1/search?q={q}")).await;
        assert_eq!(status, 200, "{q}: {body}");
    }
}

#[tokio::test]
async fn restart_repairs_a_missing_or_behind_index() {
    let mut app = spawn_app().await;
    let org = app.create_organization("Org").await;
    app.create_service(&service_body(&org, "Kingfisher project", "Text."))
        .await;
    app.stop().await;

    // The index is deleted: rebuilt at startup.
    std::fs::remove_dir_all(&app.index_dir).unwrap();
    let (address, server) = start(settings(&app.database_url, app.index_dir.clone(), false)).await;
    let client = http_client();
    let hits: Value = client
        .get(format!("{address}/v1/search?q=kingfisher"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits["total"], 1);
    server.stop().await;

    // The database moves on while no server runs (an import): caught up at startup.
    let store = signpost::startup::open_store(&app.database_url)
        .await
        .unwrap();
    let line = service_body(&org, "Heron project", "Text.").to_string();
    let report = signpost::ndjson::import(&store, line.as_bytes(), None, false)
        .await
        .unwrap();
    assert_eq!(report.imported, 1);
    store.close().await;
    let (address, server) = start(settings(&app.database_url, app.index_dir.clone(), false)).await;
    let hits: Value = client
        .get(format!("{address}/v1/search?q=heron"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits["total"], 1);
    server.stop().await;

    // A corrupt index is rebuilt too.
    let current = std::fs::read_to_string(app.index_dir.join("CURRENT")).unwrap();
    std::fs::write(
        app.index_dir.join(current.trim()).join("meta.json"),
        "garbage",
    )
    .unwrap();
    let (address, server) = start(settings(&app.database_url, app.index_dir.clone(), false)).await;
    let hits: Value = client
        .get(format!("{address}/v1/search?q=heron%20kingfisher"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits["total"], 2);
    server.stop().await;
}

#[tokio::test]
async fn an_index_damaged_by_a_machine_crash_is_rebuilt() {
    let mut app = spawn_app().await;
    let org = app.create_organization("Org").await;
    app.create_service(&service_body(&org, "Kingfisher project", "Text."))
        .await;
    app.stop().await;
    let current = std::fs::read_to_string(app.index_dir.join("CURRENT")).unwrap();
    let generation = app.index_dir.join(current.trim());
    // A proper stop flushes the index and marks it so.
    assert!(generation.join("CLEAN").exists());

    // As after a power cut: no mark, and a file whose end never reached the disk.
    std::fs::remove_file(generation.join("CLEAN")).unwrap();
    let damaged = std::fs::read_dir(&generation)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .expect("a segment's postings file");
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&damaged, bytes).unwrap();

    let (address, server) = start(settings(&app.database_url, app.index_dir.clone(), false)).await;
    let rebuilt = std::fs::read_to_string(app.index_dir.join("CURRENT")).unwrap();
    assert_ne!(rebuilt, current, "the damaged index is replaced");
    let hits: Value = http_client()
        .get(format!("{address}/v1/search?q=kingfisher"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits["total"], 1);
    server.stop().await;
}

#[tokio::test]
async fn a_running_server_picks_up_writes_it_did_not_make() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    // Another process (here: an import) writes to the same database.
    let store = signpost::startup::open_store(&app.database_url)
        .await
        .unwrap();
    let line = service_body(&org, "Otter project", "Text.").to_string();
    signpost::ndjson::import(&store, line.as_bytes(), None, false)
        .await
        .unwrap();
    app.wait_for_search("q=otter", |r| r["total"] == 1).await;
}

#[tokio::test]
async fn admin_reindex_keeps_search_working() {
    let app = spawn_demo_app().await;
    let before = app.search("q=debt").await["total"].clone();
    let reindex = app
        .client
        .post(app.url("/v1/admin/reindex"))
        .bearer_auth(ADMIN_KEY)
        .send();
    let during = app.search("q=debt");
    let (reindex, during) = tokio::join!(reindex, during);
    let report: Value = reindex.unwrap().json().await.unwrap();
    assert!(report["services"].as_u64().unwrap() > 250, "{report}");
    assert_eq!(during["total"], before);
    assert_eq!(app.search("q=debt").await["total"], before);
}

#[tokio::test]
async fn two_servers_on_one_database_see_each_others_writes() {
    let app = spawn_app().await;
    let other_index = app._dir.path().join("index-b");
    let (other, stopper) = start(settings(&app.database_url, other_index, false)).await;
    let org = app.create_organization("Org").await;
    app.create_service(&service_body(&org, "Badger project", "Text."))
        .await;
    wait_for_search(&other, "q=badger", |r| r["total"] == 1).await;
    stopper.stop().await;
}

#[tokio::test]
async fn a_hit_shown_before_an_update_shows_the_update_after() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let s = app
        .create_service(&service_body(
            &org,
            "Okapi walking club",
            "Walks on Sundays.",
        ))
        .await;
    let id = s["id"].as_str().unwrap();
    let before = app.search("q=okapi").await;
    assert_eq!(before["hits"][0]["snippet"], "Walks on Sundays.");
    // The same question again after the update: the hit shows what changed, not what
    // was decoded for the first search.
    let r = app
        .send(
            Method::PATCH,
            &format!("/v1/services/{id}"),
            &json!({"description": "Walks on Saturdays.", "status": "temporarily_closed",
                "temporary_closure": {"reason": "flooded path"}}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let after = app.search("q=okapi").await;
    let hit = &after["hits"][0];
    assert_eq!(hit["snippet"], "Walks on Saturdays.", "{hit}");
    assert_eq!(hit["service"]["description"], "Walks on Saturdays.");
    assert!(
        hit["warnings"].to_string().contains("flooded path"),
        "{hit}"
    );
}

#[tokio::test]
async fn a_search_can_carry_the_caller_in_a_json_body() {
    let mut app = spawn_demo_app().await;
    let query = "q=my+wife+died&postcode=M11+1AA&gp=P84004&age=70&delivery_mode=telephone&delivery_mode=in_person&limit=5";
    let by_get = app.search(query).await;
    let body = serde_json::json!({
        "q": "my wife died", "postcode": "M11 1AA", "gp": "P84004", "age": 70,
        "delivery_mode": ["telephone", "in_person"], "limit": 5
    });
    let (status, by_post) = app
        .call(reqwest::Method::POST, "/v1/search", None, Some(&body))
        .await;
    assert_eq!(status, 200, "{by_post}");
    assert_eq!(by_post["total"], by_get["total"]);
    assert_eq!(names(&by_post), names(&by_get), "the same answer as GET");
    assert_eq!(by_post["caller"], by_get["caller"]);
    for (body, name) in [
        (serde_json::json!({"q": "debt", "colour": "blue"}), "colour"),
        (serde_json::json!({"age": 999}), "age"),
        (serde_json::json!({"q": {"nested": true}}), "q"),
    ] {
        let (status, problem) = app
            .call(reqwest::Method::POST, "/v1/search", None, Some(&body))
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(problem["parameter"], name, "{problem}");
    }
    let r = app
        .client
        .post(app.url("/v1/search"))
        .body("q=debt")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    app.stop().await;
}

/// Each search adds up its matches' scores in an array its thread keeps for the next
/// search and sets back only what it wrote (a word of 64 documents at a time): a
/// match a filter then drops, or a fallback that only counts, must leave nothing
/// behind for the next question on the same thread.
#[tokio::test]
async fn a_search_leaves_no_score_behind_for_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = std::sync::Arc::new(signpost::storage::Store::connect(&url).await.unwrap());
    store.migrate().await.unwrap();
    let service = |n: u128, name: &str, description: &str| {
        json!({
            "id": uuid::Uuid::from_u128(0x0192_f7a4_0000_7000_8000_0000_0000_0000 | n),
            "organization": {"id": "0192f7a4-0000-7000-8000-0000000000aa", "name": "Org"},
            "name": name,
            "description": description,
            "categories": ["debt"],
            "delivery_modes": ["telephone"],
            "referral": {"route": "self_referral", "url": "https://example.org/refer"},
            "phones": [{"number": "0161 234 5678"}],
        })
    };
    // The young adults' service first, a hundred others, then the two that stay: the
    // one a filter drops shares no word of the bit sets with those kept.
    let mut young = service(0, "Swimming for young adults", "Swimming lessons.");
    young["minimum_age"] = json!(18);
    young["maximum_age"] = json!(25);
    let mut lines = vec![young];
    lines.extend((1..=100).map(|n| service(n, &format!("Knitting circle {n}"), "Wool.")));
    lines.push(service(101, "Swimming club", "Lessons at the pool."));
    lines.push(service(102, "Pool league", "Swimming and darts."));
    let ndjson: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let report = signpost::ndjson::import(&store, ndjson.as_bytes(), None, false)
        .await
        .unwrap();
    assert_eq!(report.imported, 103, "{:?}", report.rejected.first());
    let index_dir = dir.path().join("index");
    let open = || {
        signpost::search::SearchIndex::open(
            &index_dir,
            store.clone(),
            signpost::search::SearchSettings::default(),
        )
    };
    let index = open().await.unwrap();
    // An empty folder is built on opening (what `signpost reindex` reports instead of
    // building twice).
    let built = index.built_on_open().map(|r| (r.services, r.seq));
    assert_eq!(built, Some((103, store.last_change().await.unwrap())));
    let search = |q: &str, age: Option<u8>| {
        let request = signpost::search::SearchRequest {
            q: q.to_string(),
            limit: 10,
            filters: signpost::search::query::Filters {
                age,
                ..signpost::search::query::Filters::default()
            },
            ..signpost::search::SearchRequest::default()
        };
        let found = index.search_now(&request, chrono::Utc::now()).unwrap();
        let hits: Vec<(String, f32)> = found
            .hits
            .iter()
            .map(|h| {
                let service: serde_json::Value = serde_json::from_str(h.service.get()).unwrap();
                (service["name"].as_str().unwrap().to_string(), h.score)
            })
            .collect();
        (hits, found.match_kind.map(|k| k.as_str()))
    };
    let (first, _) = search("swimming lessons", None);
    assert_eq!(first.len(), 2, "{first:?}");
    // The young adults' service matches, is scored, then dropped by the age filter.
    let (older, _) = search("swimming lessons", Some(60));
    assert_eq!(older.len(), 1, "{older:?}");
    assert_eq!(search("swimming lessons", None).0, first);
    // No service has every word: the fallback counts each word, then runs fewer.
    let (_, kind) = search("swimming zqxvbn lessons", Some(60));
    assert_eq!(kind, Some("partial"));
    assert_eq!(search("swimming lessons", None).0, first);
    index.shutdown().await;
    // Opened again, the index is used as it was, not built again.
    let index = open().await.unwrap();
    assert!(index.built_on_open().is_none());
    index.shutdown().await;
}
