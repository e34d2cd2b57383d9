//! The access log names the path, status, size and time of a request, never its query
//! string: a caller's words, postcode and GP practice stay out of log files.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn no_log_line_holds_a_callers_words_postcode_or_gp() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_signpost"))
        .args([
            "--database-url",
            &format!("sqlite://{}", dir.path().join("db.sqlite").display()),
            "--index-dir",
            &dir.path().join("index").display().to_string(),
            "serve",
            "--demo",
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    signpost::links::checker::install_tls_provider();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{base}/ready")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the server did not start: {}",
            std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let found: serde_json::Value = client
        .get(format!("{base}/v1/search?q=food&limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = found["hits"][0]["service"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [
        "/v1/search?q=zorblaxsecret+my+wife+died&postcode=M11+1AA&gp=P84004".to_string(),
        format!("/v1/services/{id}/eligibility?postcode=M11+1AA&gp=P84004&age=70"),
        "/v1/gp-practices?q=wilmslow+road".to_string(),
    ] {
        let status = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{path}: {status}");
    }
    // A path no route matches, holding a practice code and a postcode.
    let status = client
        .get(format!("{base}/v1/gp-practices/P84004/M11-1AA"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    // The same questions in bodies: never logged either.
    for (path, body) in [
        (
            format!("/v1/services/{id}/eligibility"),
            serde_json::json!({"postcode": "M11 1AA", "gp": "P84004", "age": 70}),
        ),
        (
            "/v1/gp-practices".to_string(),
            serde_json::json!({"q": "wilmslow road"}),
        ),
    ] {
        let status = client
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{path}: {status}");
    }

    let r = client
        .post(format!("{base}/v1/search"))
        .header("x-request-id", "navigator-call-42")
        .json(&serde_json::json!({"q": "zorblaxsecret my wife died", "postcode": "M11 1AA", "gp": "P84004"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(
        r.headers()["x-request-id"],
        "navigator-call-42",
        "the id is echoed"
    );
    let made = client
        .get(format!("{base}/v1/taxonomy"))
        .send()
        .await
        .unwrap();
    let made = made.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(made.len() >= 16, "an id is made when none is sent: {made}");
    let odd = client
        .get(format!("{base}/v1/taxonomy"))
        .header("x-request-id", "not ok; has spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(
        odd.headers()["x-request-id"],
        "not ok; has spaces",
        "an implausible id is replaced"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert!(log.contains("/v1/search"), "no access log line: {log}");
    assert!(
        log.contains("id=navigator-call-42"),
        "each access line names its request: {log}"
    );
    assert!(log.contains(&format!("id={made}")), "{log}");
    for private in [
        "zorblaxsecret",
        "wife",
        "M11",
        "P84004",
        "wilmslow",
        "q=",
        "postcode=",
        "gp=",
    ] {
        assert!(!log.contains(private), "{private} in the log:\n{log}");
    }
}
