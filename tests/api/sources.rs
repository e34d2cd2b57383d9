//! Reading other directories' feeds: a source served by a real local HTTP server in
//! pages, pulled first in full, then for changes, then in full again; a source that
//! stops answering or answers garbage; two replicas that must never pull at once.

use crate::helpers::{self, ADMIN_KEY, TestApp};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use signpost::oruk::pulling::PullSettings;
use signpost::startup::SourcePullSettings;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Ok,
    /// Answers after the puller's timeout.
    Slow,
    /// Answers a web page instead of JSON.
    Garbage,
}

/// What the source serves, and what it saw.
struct Feed {
    services: Mutex<Vec<Value>>,
    mode: Mutex<Mode>,
    /// Each request's query string.
    queries: Mutex<Vec<String>>,
    /// Pause before answering each page (to overlap two pullers).
    delay: Mutex<Duration>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl Feed {
    fn new(services: Vec<Value>) -> Self {
        Feed {
            services: Mutex::new(services),
            mode: Mutex::new(Mode::Ok),
            queries: Mutex::default(),
            delay: Mutex::new(Duration::ZERO),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
        }
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

/// An ORUK service as another directory would publish it.
fn foreign(id: &str, name: &str, description: &str, org: &str, postcode: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "description": description,
        "status": "active",
        "last_modified": "2026-01-01T00:00:00Z",
        "organization": {"id": format!("org-{org}"), "name": org},
        "service_at_locations": [{
            "id": format!("sal-{id}"),
            "location": {
                "id": format!("loc-{id}"),
                "name": name,
                "addresses": [{"id": format!("addr-{id}"), "address_1": "1 High Street", "city": "Bolton", "postal_code": postcode, "country": "GB", "address_type": "physical"}]
            }
        }]
    })
}

async fn services_page(req: HttpRequest, feed: web::Data<Feed>) -> HttpResponse {
    let now = feed.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    feed.most_in_flight.fetch_max(now, Ordering::SeqCst);
    feed.queries
        .lock()
        .unwrap()
        .push(req.query_string().to_string());
    let delay = *feed.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let mode = *feed.mode.lock().unwrap();
    let response = match mode {
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            HttpResponse::Ok().json(json!({"contents": []}))
        }
        Mode::Garbage => HttpResponse::Ok()
            .content_type("text/html")
            .body("<html><body>Down for maintenance</body></html>"),
        Mode::Ok => {
            let q: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(req.query_string().as_bytes())
                    .into_owned()
                    .collect();
            let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let per: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(50);
            let after = q.get("modified_after").cloned();
            let all: Vec<Value> = feed
                .services
                .lock()
                .unwrap()
                .iter()
                .filter(|s| {
                    after
                        .as_deref()
                        .is_none_or(|a| s["last_modified"].as_str().unwrap_or("") > a)
                })
                .cloned()
                .collect();
            let total_pages = all.len().div_ceil(per).max(1);
            let contents: Vec<Value> = all
                .iter()
                .skip((page - 1) * per)
                .take(per)
                .map(|s| {
                    // Lists leave out one record's organisation: the puller reads it whole.
                    let mut s = s.clone();
                    if s["id"] == "bolton-7" {
                        s.as_object_mut().unwrap().remove("organization");
                    }
                    s
                })
                .collect();
            HttpResponse::Ok().json(json!({
                "total_items": all.len(), "total_pages": total_pages, "page_number": page,
                "size": contents.len(), "first_page": page == 1, "last_page": page >= total_pages,
                "empty": contents.is_empty(), "contents": contents,
            }))
        }
    };
    feed.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn one_service(path: web::Path<String>, feed: web::Data<Feed>) -> HttpResponse {
    let id = path.into_inner();
    match feed
        .services
        .lock()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
    {
        Some(s) => HttpResponse::Ok().json(s),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Serves `feed` on 127.0.0.3; returns the feed's base URL.
async fn serve(feed: web::Data<Feed>) -> String {
    let listener = std::net::TcpListener::bind(("127.0.0.3", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(feed.clone())
            .route("/oruk/services", web::get().to(services_page))
            .route("/oruk/services/{id}", web::get().to(one_service))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.3:{port}/oruk")
}

fn pull_settings() -> PullSettings {
    PullSettings {
        per_page: 3,
        pause: Duration::ZERO,
        request_timeout: Duration::from_secs(1),
        retries: 0,
        ..PullSettings::default()
    }
}

/// A server that pulls with test settings (its schedule never comes round in a test).
async fn spawn(database_url: Option<&str>, dir: &std::path::Path) -> TestApp {
    helpers::spawn_configured(dir, database_url, false, |s| {
        s.source_pull = Some(SourcePullSettings {
            cron: "0 0 0 1 1 *".into(),
            pull: pull_settings(),
        });
    })
    .await
}

fn bolton_services() -> Vec<Value> {
    let mut services = vec![
        foreign(
            "bolton-1",
            "Bolton Money Advice",
            "Free debt advice for people struggling with bills, arrears and money worries.",
            "Bolton Council",
            "BL1 1RU",
        ),
        foreign(
            "bolton-2",
            "Bereavement Café",
            "A friendly drop-in for people grieving the death of someone close: bereavement support over a cuppa.",
            "Bolton Hospice",
            "BL3 5DH",
        ),
        foreign(
            "bolton-3",
            "Farnworth Food Bank",
            "Emergency food parcels for families who cannot afford food.",
            "Farnworth Churches",
            "BL4 7PQ",
        ),
        foreign(
            "bolton-4",
            "Befriending Bolton",
            "Weekly befriending phone calls for older people who feel lonely or isolated.",
            "Age Friendly Bolton",
            "BL1 4AL",
        ),
        foreign(
            "bolton-5",
            "Housing Options Bolton",
            "Help for people who are homeless or at risk of losing their home.",
            "Bolton Council",
            "BL1 1RU",
        ),
        foreign(
            "bolton-6",
            "Carers Centre",
            "Support, breaks and advice for unpaid carers looking after a family member.",
            "Bolton Carers",
            "BL2 1EU",
        ),
        foreign(
            "bolton-7",
            "Walking for Health",
            "Free group walks to get active and improve wellbeing.",
            "Bolton Ramblers",
            "BL6 7HU",
        ),
    ];
    // Another signpost publishes capacity, with when it was stated, as an extension.
    services[5]["x_signpost"] = json!({"capacity": {"accepting": "waitlist", "waiting_weeks": 4, "updated_at": "2026-11-30T10:00:00Z"}});
    services
}

async fn pull(app: &TestApp, source: &str, full: bool) -> (u16, Value) {
    let path = format!(
        "/v1/admin/sources/{source}/pull{}",
        if full { "?full=true" } else { "" }
    );
    let (status, report) = app
        .call(reqwest::Method::POST, &path, Some(ADMIN_KEY), None)
        .await;
    if status == 200 {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(
            metrics.contains("signpost_source_pulls_total{outcome="),
            "{metrics}"
        );
    }
    (status, report)
}

fn hit<'a>(search: &'a Value, name: &str) -> Option<&'a Value> {
    search["hits"]
        .as_array()?
        .iter()
        .find(|h| h["service"]["name"] == name)
}

fn codes(hit: &Value) -> Vec<String> {
    hit["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| w["code"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn a_source_is_pulled_with_provenance_then_changes_new_records_and_vanished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let feed = web::Data::new(Feed::new(bolton_services()));
    let base = serve(feed.clone()).await;
    let app = spawn(None, dir.path()).await;

    // A service kept here that a record of the source duplicates.
    let org = app.create_organization("Bolton CAB").await;
    let mut local = helpers::service_body(
        &org,
        "Bolton Money Advice Service",
        "Debt and benefits advice.",
    );
    local["locations"] = json!([{"name": "Town Hall", "postal_code": "BL1 1RU"}]);
    let local = app.create_service(&local).await;

    // Registering: bad input is named, the name is unique.
    let (status, body) = app
        .post(
            "/v1/admin/sources",
            &json!({"name": "Bolton", "url": "ftp://x"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("url"), "{body}");
    let (status, source) = app
        .post(
            "/v1/admin/sources",
            &json!({"name": "Bolton Council directory", "url": base}),
        )
        .await;
    assert_eq!(status, 201, "{source}");
    let (status, body) = app
        .post(
            "/v1/admin/sources",
            &json!({"name": "Bolton Council directory", "url": base}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let id = source["id"].as_str().unwrap().to_string();

    // First pull: everything, page by page; the record listed without its organisation
    // read whole.
    let (status, report) = pull(&app, &id, false).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["full"], true, "{report}");
    assert_eq!(report["new"], 7, "{report}");
    assert_eq!(report["pages"], 3, "{report}");
    assert!(report["error"].is_null(), "{report}");
    assert_eq!(report["possible_duplicates"], 1, "{report}");
    assert!(
        feed.queries
            .lock()
            .unwrap()
            .iter()
            .all(|q| !q.contains("modified_after"))
    );

    // Searchable at once, with where it came from and how fresh the copy is.
    let found = app.search("q=money+worries").await;
    let h = hit(&found, "Bolton Money Advice").unwrap_or_else(|| panic!("{found}"));
    assert_eq!(h["service"]["source"]["name"], "Bolton Council directory");
    assert_eq!(h["service"]["source"]["record_id"], "bolton-1");
    assert!(h["source_read_at"].is_string(), "{h}");
    // The navigator's page says so too.
    let page = app
        .client
        .post(app.url("/"))
        .form(&[("q", "money worries")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("From Bolton Council directory, copied "),
        "{page}"
    );
    let page = app
        .get(&format!(
            "/services/{}",
            h["service"]["id"].as_str().unwrap()
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("(its id there: bolton-1)"), "{page}");
    let carers = app.search("q=unpaid+carers").await;
    let h = hit(&carers, "Carers Centre").unwrap_or_else(|| panic!("{carers}"));
    assert_eq!(
        h["service"]["capacity"]["updated_at"], "2026-11-30T10:00:00Z",
        "the source's stamp is kept: {h}"
    );
    let walking = app.search("q=group+walks").await;
    assert!(hit(&walking, "Walking for Health").is_some(), "{walking}");

    // Read-only here: a partner of its organisation and an administrator are refused.
    let sid = h["service"]["id"].as_str().unwrap().to_string();
    let org_id = h["service"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, partner) = app.create_key("partner", Some(&org_id)).await;
    let (status, body) = app
        .call(
            reqwest::Method::PUT,
            &format!("/v1/services/{sid}/capacity"),
            Some(&partner),
            Some(&json!({"accepting": "open"})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Bolton Council directory"),
        "{body}"
    );
    let (status, _) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/services/{sid}"),
            Some(ADMIN_KEY),
            Some(&json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(status, 403);
    // Navigators' reports still apply to it.
    let (status, _) = app
        .call(
            reqwest::Method::POST,
            &format!("/v1/services/{sid}/reports"),
            Some(ADMIN_KEY),
            Some(&json!({"kind": "wrong_details", "text": "phone number out of date"})),
        )
        .await;
    assert_eq!(status, 201);

    // The likely duplicate waits for a person.
    let (_, queue) = app
        .call(
            reqwest::Method::GET,
            "/v1/review-queue",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    let dup = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "possible_duplicate")
        .unwrap_or_else(|| panic!("{queue}"));
    assert!(
        dup["detail"]
            .as_str()
            .unwrap()
            .contains("Bolton Money Advice Service"),
        "{dup}"
    );
    assert!(
        dup["detail"]
            .as_str()
            .unwrap()
            .contains(local["id"].as_str().unwrap()),
        "{dup}"
    );

    // The source changes one record, adds one, drops one.
    {
        let mut services = feed.services.lock().unwrap();
        services[1]["description"] = json!(
            "Bereavement support groups and one-to-one listening after a loss, including baby loss."
        );
        services[1]["last_modified"] = json!("2099-01-01T00:00:00Z");
        let mut new = foreign(
            "bolton-8",
            "Men's Shed",
            "A workshop where men meet, make things and talk: good for loneliness.",
            "Bolton Sheds",
            "BL5 3XX",
        );
        new["last_modified"] = json!("2099-01-01T00:00:00Z");
        services.push(new);
        services.retain(|s| s["id"] != "bolton-3");
    }
    feed.queries.lock().unwrap().clear();
    let (status, report) = pull(&app, &id, false).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["full"], false, "{report}");
    assert_eq!(
        (report["new"].as_u64(), report["changed"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(
        report["vanished"], 0,
        "a changes-only pull cannot tell what vanished: {report}"
    );
    assert!(
        feed.queries
            .lock()
            .unwrap()
            .iter()
            .all(|q| q.contains("modified_after"))
    );
    let baby = app.search("q=baby+loss").await;
    assert!(hit(&baby, "Bereavement Café").is_some(), "{baby}");
    assert!(hit(&app.search("q=mens+shed").await, "Men's Shed").is_some());

    // A full pull notices the record that vanished: kept, flagged, queued for review.
    let (status, report) = pull(&app, &id, true).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["vanished"], 1, "{report}");
    assert_eq!(report["changed"], 0, "{report}");
    let food = app.search("q=food+parcels").await;
    let h = hit(&food, "Farnworth Food Bank").unwrap_or_else(|| panic!("{food}"));
    assert!(codes(h).contains(&"source_vanished".to_string()), "{h}");
    let (_, queue) = app
        .call(
            reqwest::Method::GET,
            "/v1/review-queue",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert!(
        queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "source_vanished" && i["service_name"] == "Farnworth Food Bank"),
        "{queue}"
    );

    // It comes back: no longer flagged.
    {
        let mut services = feed.services.lock().unwrap();
        services.push(foreign(
            "bolton-3",
            "Farnworth Food Bank",
            "Emergency food parcels for families who cannot afford food.",
            "Farnworth Churches",
            "BL4 7PQ",
        ));
    }
    let (_, report) = pull(&app, &id, true).await;
    assert_eq!(
        (report["vanished"].as_u64(), report["unchanged"].as_u64()),
        (Some(0), Some(8)),
        "{report}"
    );
    let food = app.search("q=food+parcels").await;
    let h = hit(&food, "Farnworth Food Bank").unwrap();
    assert!(!codes(h).contains(&"source_vanished".to_string()), "{h}");
}

#[tokio::test]
async fn a_source_that_times_out_or_answers_garbage_keeps_its_last_good_copy() {
    let dir = tempfile::tempdir().unwrap();
    let feed = web::Data::new(Feed::new(bolton_services()));
    let base = serve(feed.clone()).await;
    let app = spawn(None, dir.path()).await;
    let (_, source) = app
        .post("/v1/admin/sources", &json!({"name": "Bolton", "url": base}))
        .await;
    let id = source["id"].as_str().unwrap().to_string();
    let (status, report) = pull(&app, &id, false).await;
    assert_eq!((status, report["new"].as_u64()), (200, Some(7)), "{report}");

    for (mode, says) in [
        (Mode::Slow, "no answer in time"),
        (Mode::Garbage, "not JSON"),
    ] {
        feed.set_mode(mode);
        let (status, report) = pull(&app, &id, true).await;
        assert_eq!(status, 200, "{report}");
        assert!(
            report["error"].as_str().unwrap_or("").contains(says),
            "{report}"
        );
        assert_eq!(report["vanished"], 0, "{report}");
        let (_, list) = app
            .call(
                reqwest::Method::GET,
                "/v1/admin/sources",
                Some(ADMIN_KEY),
                None,
            )
            .await;
        let s = &list["sources"][0];
        assert_eq!(s["state"], "failing", "{list}");
        assert!(s["last_error"].as_str().unwrap().contains(says), "{list}");
        assert_eq!(s["records"], 7, "{list}");
        // Every record still found, each saying its copy may be out of date.
        let found = app.search("q=money+worries").await;
        let h = hit(&found, "Bolton Money Advice").unwrap_or_else(|| panic!("{found}"));
        assert!(codes(h).contains(&"source_out_of_date".to_string()), "{h}");
    }
    feed.set_mode(Mode::Ok);
    let (_, report) = pull(&app, &id, false).await;
    assert!(report["error"].is_null(), "{report}");
    let (_, list) = app
        .call(
            reqwest::Method::GET,
            "/v1/admin/sources",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(list["sources"][0]["state"], "ok", "{list}");
    let found = app.search("q=money+worries").await;
    let h = hit(&found, "Bolton Money Advice").unwrap();
    assert!(!codes(h).contains(&"source_out_of_date".to_string()), "{h}");
    let (status, body) = pull(&app, "no-such-source", false).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn two_replicas_never_pull_a_source_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let feed = web::Data::new(Feed::new(bolton_services()));
    *feed.delay.lock().unwrap() = Duration::from_millis(300);
    let base = serve(feed.clone()).await;
    let database_url = helpers::fresh_database(dir.path()).await;
    let one = spawn(Some(&database_url), dir.path()).await;
    let two = spawn(Some(&database_url), dir.path()).await;
    let (_, source) = one
        .post("/v1/admin/sources", &json!({"name": "Bolton", "url": base}))
        .await;
    let id = source["id"].as_str().unwrap().to_string();
    let (a, b) = tokio::join!(pull(&one, &id, false), pull(&two, &id, false));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", a.1, b.1);
    assert_eq!(feed.most_in_flight.load(Ordering::SeqCst), 1);
    // The other replica finds the records too, once it has caught up with the log.
    let found = helpers::wait_for_search(&two.address, "q=food+parcels", |v| {
        hit(v, "Farnworth Food Bank").is_some()
    })
    .await;
    assert!(hit(&found, "Farnworth Food Bank").is_some());
}
