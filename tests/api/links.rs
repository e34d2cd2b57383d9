//! The link checker against local web servers that produce every outcome; nothing here
//! leaves the machine.

use crate::helpers::*;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::Method;
use serde_json::json;
use signpost::links::checker::{CheckSettings, Checker, Outcome};
use signpost::links::policy::LinkPolicy;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a test site saw: requests in flight at once, and when each started.
#[derive(Default)]
struct Seen {
    in_flight: AtomicUsize,
    most_at_once: AtomicUsize,
    starts: Mutex<Vec<Instant>>,
    busy_calls: AtomicUsize,
}

async fn site(req: HttpRequest, seen: web::Data<Seen>, other: web::Data<String>) -> HttpResponse {
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.most_at_once.fetch_max(now, Ordering::SeqCst);
    seen.starts.lock().unwrap().push(Instant::now());
    tokio::time::sleep(Duration::from_millis(10)).await;
    let html = |body: &str| {
        HttpResponse::Ok()
            .content_type("text/html")
            .body(format!("<html><body>{body}</body></html>"))
    };
    let to = |status: u16, location: &str| {
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
            .insert_header(("Location", location.to_string()))
            .finish()
    };
    let response = match req.path() {
        "/" => html("<h1>Home</h1>"),
        "/ok" | "/new" => html("<h1>Welcome to the food bank</h1>"),
        "/missing" => HttpResponse::NotFound().finish(),
        "/gone" => HttpResponse::Gone().finish(),
        "/perm" => to(301, "/new"),
        "/chain" => to(301, "/perm"),
        "/temp" => to(302, "/ok"),
        "/elsewhere" => to(302, &format!("{}/ok", other.get_ref())),
        "/deep/page" => to(302, "/"),
        "/loop-a" => to(302, "/loop-b"),
        "/loop-b" => to(302, "/loop-a"),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            html("too late")
        }
        "/busy" => {
            if seen.busy_calls.fetch_add(1, Ordering::SeqCst) == 0 {
                HttpResponse::TooManyRequests()
                    .insert_header(("Retry-After", "1"))
                    .finish()
            } else {
                html("<h1>Open again</h1>")
            }
        }
        "/soft404" => html("<title>Page not found</title><p>Sorry.</p>"),
        "/closed" => html("<p>Sadly this service has closed after 20 years.</p>"),
        "/parked" => html("<h1>This domain is for sale!</h1>"),
        "/login" => HttpResponse::Unauthorized().finish(),
        "/forbidden" => HttpResponse::Forbidden().finish(),
        "/error" => HttpResponse::InternalServerError().finish(),
        "/bot" => html("<title>Just a moment...</title>"),
        _ => HttpResponse::NotFound().finish(),
    };
    seen.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

/// Starts a test site on `ip`; returns its base URL and what it saw.
async fn start_site(ip: &str, other: String) -> (String, Arc<Seen>) {
    let seen = web::Data::new(Seen::default());
    let data = seen.clone();
    let other = web::Data::new(other);
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(other.clone())
            .default_service(web::to(site))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://{ip}:{port}"), seen.into_inner())
}

/// A TLS server whose certificate no one vouches for.
async fn start_self_signed() -> String {
    use tokio::io::AsyncWriteExt;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await;
                }
            });
        }
    });
    format!("https://localhost:{port}/")
}

fn quick() -> CheckSettings {
    CheckSettings {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(1),
        host_interval: Duration::from_millis(30),
        retry_backoff: Duration::from_millis(50),
        max_retries: 1,
        ..CheckSettings::default()
    }
}

#[tokio::test]
async fn every_outcome_is_classified() {
    let (other, _) = start_site("127.0.0.3", String::new()).await;
    let (base, seen) = start_site("127.0.0.2", other.clone()).await;
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.4:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.4:{port}/")
    };
    let tls = start_self_signed().await;
    let checker = Checker::new(quick()).unwrap();
    let cases = [
        (format!("{base}/ok"), Outcome::Ok, "ok"),
        (format!("{base}/temp"), Outcome::Ok, "ok"),
        (format!("{base}/perm"), Outcome::Moved, "moved_permanently"),
        (format!("{base}/elsewhere"), Outcome::Moved, "moved_domain"),
        (format!("{base}/deep/page"), Outcome::Moved, "moved_home"),
        (format!("{base}/missing"), Outcome::Hard, "not_found"),
        (format!("{base}/gone"), Outcome::Hard, "gone"),
        (format!("{base}/soft404"), Outcome::Hard, "soft_404"),
        (format!("{base}/closed"), Outcome::Hard, "closure_wording"),
        (format!("{base}/parked"), Outcome::Hard, "parked"),
        (refused, Outcome::Hard, "refused"),
        (
            "http://food-bank.invalid/".to_string(),
            Outcome::Hard,
            "no_such_domain",
        ),
        (tls, Outcome::Hard, "certificate"),
        (format!("{base}/slow"), Outcome::Transient, "timeout"),
        (format!("{base}/error"), Outcome::Transient, "server_error"),
        (format!("{base}/busy"), Outcome::Ok, "ok"),
        (
            format!("{base}/login"),
            Outcome::Unverifiable,
            "auth_required",
        ),
        (
            format!("{base}/forbidden"),
            Outcome::Unverifiable,
            "forbidden",
        ),
        (
            format!("{base}/bot"),
            Outcome::Unverifiable,
            "bot_challenge",
        ),
        (
            format!("{base}/loop-a"),
            Outcome::Unverifiable,
            "redirect_loop",
        ),
    ];
    for (url, outcome, finding) in cases {
        let r = checker.check(&url).await;
        assert_eq!((r.outcome, r.finding), (outcome, finding), "{url}: {r:?}");
    }
    // Redirects are recorded hop by hop, with the suggestion where it moved.
    let r = checker.check(&format!("{base}/perm")).await;
    assert_eq!(r.hops.len(), 1);
    assert_eq!(r.hops[0].status, 301);
    assert_eq!(
        r.suggested_url.as_deref(),
        Some(format!("{base}/new").as_str())
    );
    // A chain: every hop, in order.
    let r = checker.check(&format!("{base}/chain")).await;
    let hops: Vec<(String, u16)> = r.hops.iter().map(|h| (h.url.clone(), h.status)).collect();
    assert_eq!(
        hops,
        vec![
            (format!("{base}/chain"), 301),
            (format!("{base}/perm"), 301)
        ]
    );
    assert_eq!(r.outcome, Outcome::Moved);
    assert_eq!(
        r.suggested_url.as_deref(),
        Some(format!("{base}/new").as_str())
    );
    // 429 with Retry-After: waited, asked again, and found it open.
    let busy_calls = seen.busy_calls.load(Ordering::SeqCst);
    assert_eq!(busy_calls, 2, "one refusal, one retry");
    // 5xx is retried, a bounded number of times.
    let r = checker.check(&format!("{base}/error")).await;
    assert_eq!(r.attempts, 2);
}

#[tokio::test]
async fn no_host_ever_sees_two_requests_at_once() {
    let mut sites = Vec::new();
    for i in 10..14 {
        sites.push(start_site(&format!("127.0.0.{i}"), String::new()).await);
    }
    let settings = CheckSettings {
        host_interval: Duration::from_millis(40),
        hosts_at_once: 8,
        ..quick()
    };
    let checker = Arc::new(Checker::new(settings).unwrap());
    let mut urls = Vec::new();
    for (base, _) in &sites {
        for path in ["/ok", "/temp", "/perm", "/missing", "/new", "/", "/ok"] {
            urls.push(format!("{base}{path}"));
        }
    }
    let results = checker.check_all(urls, |_| {}).await;
    assert_eq!(results.len(), 4 * 6, "each URL once per cycle");
    for (base, seen) in &sites {
        assert_eq!(seen.most_at_once.load(Ordering::SeqCst), 1, "{base}");
        let starts = seen.starts.lock().unwrap();
        for pair in starts.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(40),
                "{base}: requests {:?} apart",
                pair[1] - pair[0]
            );
        }
    }
}

#[tokio::test]
async fn a_cycle_flags_services_and_search_and_the_queue_show_it() {
    let (base, _) = start_site("127.0.0.20", String::new()).await;
    let app = spawn_app().await;
    let org = app.create_organization("Links Org").await;
    let mut body = service_body(&org, "Closed larder", "Groceries.");
    body["url"] = json!(format!("{base}/closed"));
    body["referral"]["url"] = json!(format!("{base}/ok"));
    let closed = app.create_service(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut body = service_body(&org, "Missing larder", "Groceries.");
    body["url"] = json!(format!("{base}/missing"));
    body["referral"]["url"] = json!(format!("{base}/missing"));
    let missing = app.create_service(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let store = signpost::startup::open_store(&app.database_url)
        .await
        .unwrap();
    let checker = Arc::new(Checker::new(quick()).unwrap());
    // One day of 404s is not enough to flag; closure wording is.
    let report =
        signpost::links::run_cycle(&store, &checker, &LinkPolicy::default(), 7, "test", |_| {})
            .await
            .unwrap()
            .expect("the lease is free");
    assert_eq!(report.urls, 3, "shared URLs are checked once");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("signpost_link_checks_total{outcome="),
        "{metrics}"
    );
    assert_eq!(report.flag_changes.len(), 1, "{report:?}");
    // A second replica cannot run a cycle while the lease is held.
    let now = chrono::Utc::now();
    assert!(
        store
            .take_lease(
                signpost::links::LEASE,
                "replica-a",
                now,
                now + chrono::Duration::hours(1)
            )
            .await
            .unwrap()
    );
    let blocked = signpost::links::run_cycle(
        &store,
        &checker,
        &LinkPolicy::default(),
        7,
        "replica-b",
        |_| {},
    )
    .await
    .unwrap();
    assert!(blocked.is_none());
    store
        .release_lease(signpost::links::LEASE, "replica-a")
        .await
        .unwrap();
    // With a policy of one day, the 404 flags too.
    let strict = LinkPolicy {
        hard_days: 1,
        ..LinkPolicy::default()
    };
    signpost::links::run_cycle(&store, &checker, &strict, 7, "test", |_| {})
        .await
        .unwrap()
        .unwrap();

    let mut hits = json!(null);
    for _ in 0..50 {
        hits = app.search("q=larder").await;
        let text = hits.to_string();
        if text.contains("possibly_closed") && text.contains("link_broken") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = hits.to_string();
    assert!(text.contains("possibly_closed"), "{hits}");
    assert!(text.contains("link_broken"), "{hits}");
    // Flagged services are demoted, never hidden.
    assert_eq!(hits["total"], 2);

    let (status, checks) = app
        .call(
            Method::GET,
            &format!("/v1/services/{missing}/link-checks"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{checks}");
    let url = &checks["urls"][0];
    assert_eq!(url["state"]["flag"], "link_broken");
    assert_eq!(url["checks"].as_array().unwrap().len(), 2);
    let (_, queue) = app
        .call(Method::GET, "/v1/review-queue", Some(ADMIN_KEY), None)
        .await;
    let flagged: Vec<&str> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "link_flag")
        .map(|i| i["service_id"].as_str().unwrap())
        .collect();
    assert!(
        flagged.contains(&closed.as_str()) && flagged.contains(&missing.as_str()),
        "{queue}"
    );
    let (status, summary) = app
        .call(Method::GET, "/v1/admin/link-checks", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(summary["flags"]["link_broken"], 1, "{summary}");
    assert_eq!(summary["flags"]["possibly_closed"], 1, "{summary}");
    assert!(summary["last_cycle"]["urls"].as_i64().unwrap() >= 1);
    store.close().await;
}

#[tokio::test]
async fn the_schedule_runs_cycles_by_itself() {
    let (base, _) = start_site("127.0.0.30", String::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(dir.path()).await;
    let mut s = settings(&database_url, dir.path().join("index"), false);
    s.link_check = Some(signpost::startup::LinkCheckSettings {
        cron: "* * * * * *".into(),
        spread_days: 1,
        check: quick(),
        policy: LinkPolicy::default(),
    });
    let (address, stopper) = start(s).await;
    let client = http_client();
    let org: serde_json::Value = client
        .post(format!("{address}/v1/organizations"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"name": "Scheduled"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut body = service_body(org["id"].as_str().unwrap(), "Scheduled larder", "Food.");
    body["url"] = json!(format!("{base}/ok"));
    let svc: serde_json::Value = client
        .post(format!("{address}/v1/services"))
        .bearer_auth(ADMIN_KEY)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = svc["id"].as_str().unwrap();
    let mut checks = json!(null);
    for _ in 0..60 {
        checks = client
            .get(format!("{address}/v1/services/{id}/link-checks"))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if checks["urls"][0]["checks"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(checks["urls"][0]["checks"][0]["outcome"], "ok", "{checks}");
    stopper.stop().await;
}
