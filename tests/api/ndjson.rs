use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn export_then_import_round_trips_exactly() {
    let app = spawn_demo_app().await;
    let org = app.create_organization("Extra org").await;
    app.create_service(&service_body(&org, "Extra service", "Text."))
        .await;
    let store = signpost::startup::open_store(&app.database_url)
        .await
        .unwrap();
    let mut first = Vec::new();
    let count = signpost::ndjson::export(&store, &mut first).await.unwrap();
    assert!(count > 300);

    let other = tempfile::tempdir().unwrap();
    let url = fresh_database(other.path()).await;
    let fresh = signpost::startup::open_store(&url).await.unwrap();
    let report = signpost::ndjson::import(&fresh, first.as_slice(), None, false)
        .await
        .unwrap();
    assert_eq!(report.imported, count);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let mut second = Vec::new();
    signpost::ndjson::export(&fresh, &mut second).await.unwrap();
    assert_eq!(
        String::from_utf8(first).unwrap(),
        String::from_utf8(second).unwrap()
    );

    // Importing the same export again changes nothing.
    let mut third = Vec::new();
    let again: Vec<u8> = {
        let mut v = Vec::new();
        signpost::ndjson::export(&fresh, &mut v).await.unwrap();
        v
    };
    signpost::ndjson::import(&fresh, again.as_slice(), None, false)
        .await
        .unwrap();
    signpost::ndjson::export(&fresh, &mut third).await.unwrap();
    assert_eq!(again.len(), third.len());
}

#[tokio::test]
async fn import_keeps_valid_lines_and_reports_the_rest() {
    let app = spawn_app().await;
    let store = signpost::startup::open_store(&app.database_url)
        .await
        .unwrap();
    let org = json!({"id": "0192f7a4-0000-7000-8000-0000000000aa", "name": "Imported org"});
    let mut good = service_body("", "Good one", "Text.");
    good.as_object_mut().unwrap().remove("organization_id");
    good["organization"] = org.clone();
    let mut bad_phone = good.clone();
    bad_phone["phones"] = json!([{"number": "12"}]);
    let mut good_two = good.clone();
    good_two["name"] = json!("Good two");
    let input = format!("{good}\nnot json\n\n{bad_phone}\n{good_two}\n");
    let report = signpost::ndjson::import(&store, input.as_bytes(), None, false)
        .await
        .unwrap();
    assert_eq!(report.imported, 2);
    let lines: Vec<usize> = report.rejected.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![2, 4]);
    assert!(
        report.rejected[1].1.contains("phones[0].number"),
        "{:?}",
        report.rejected
    );
    let (_, list) = app.get_json("/v1/organizations").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "one organisation shared by both services"
    );
}

#[tokio::test]
async fn import_of_an_id_given_twice_keeps_the_last_and_replaces_on_reimport() {
    let app = spawn_app().await;
    let store = signpost::startup::open_store(&app.database_url)
        .await
        .unwrap();
    let id = "0192f7a4-0000-7000-8000-0000000000b1";
    let line = |name: &str| {
        let mut s = service_body("", name, "Text.");
        s.as_object_mut().unwrap().remove("organization_id");
        s["organization"] = json!({"id": "0192f7a4-0000-7000-8000-0000000000ab", "name": "Org"});
        s["id"] = json!(id);
        s
    };
    let input = format!("{}\n{}\n", line("First name"), line("Second name"));
    let report = signpost::ndjson::import(&store, input.as_bytes(), None, false)
        .await
        .unwrap();
    assert_eq!(report.imported, 2);
    let (status, got) = app.get_json(&format!("/v1/services/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["name"], "Second name");

    let input = format!("{}\n", line("Third name"));
    signpost::ndjson::import(&store, input.as_bytes(), None, false)
        .await
        .unwrap();
    let (_, got) = app.get_json(&format!("/v1/services/{id}")).await;
    assert_eq!(got["name"], "Third name");
    // Each write is in the change log, so the running server's index follows.
    let found = app.wait_for_search("q=third", |r| r["total"] == 1).await;
    assert_eq!(found["hits"][0]["service"]["id"], id);
}
