//! SIGTERM (as from systemd, Docker or Kubernetes) stops the real binary in order: it
//! answers what it was asked, finishes the index writer, marks the index as properly
//! stopped and exits with success; the next start finds every acknowledged write.

mod support;

use support::{ADMIN_KEY, Server, client, get_json};

#[tokio::test]
async fn sigterm_stops_in_order_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let index = dir.path().join("index");
    let client = client();
    let mut server = Server::start(&db, &index, dir.path().join("log-1"), &["--demo"]).await;

    let found = get_json(&client, server.url("/v1/search?q=debt&limit=1")).await;
    let id = found["hits"][0]["service"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let written = client
        .put(server.url(&format!("/v1/services/{id}/capacity")))
        .bearer_auth(ADMIN_KEY)
        .json(&serde_json::json!({"accepting": "waitlist", "waiting_weeks": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), 200);

    let status = server.terminate().await;
    let log = server.log_text();
    assert!(status.success(), "{status:?}: {log}");
    assert!(log.contains("stopped"), "{log}");
    let current = std::fs::read_to_string(index.join("CURRENT")).unwrap();
    assert!(
        index.join(current.trim()).join("CLEAN").exists(),
        "the index is marked as properly stopped"
    );

    // The next start uses the index as it is and finds the write.
    let server = Server::start(&db, &index, dir.path().join("log-2"), &["--demo"]).await;
    let service = get_json(&client, server.url(&format!("/v1/services/{id}"))).await;
    assert_eq!(service["capacity"]["waiting_weeks"], 7);
    let found = get_json(
        &client,
        server.url("/v1/search?q=debt&accepting=waitlist&limit=50"),
    )
    .await;
    assert!(
        found["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["service"]["id"] == id.as_str()),
        "{found}"
    );
    assert_eq!(
        std::fs::read_to_string(index.join("CURRENT")).unwrap(),
        current,
        "no rebuild"
    );
}
