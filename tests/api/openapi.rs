use crate::helpers::*;
use std::collections::BTreeSet;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

fn documented() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("openapi.yaml is YAML");
    let paths = doc["paths"].as_mapping().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for (method, _) in item.as_mapping().expect("path item") {
            let m = method.as_str().unwrap();
            if METHODS.contains(&m) {
                out.insert((m.to_string(), path.as_str().unwrap().to_string()));
            }
        }
    }
    out
}

#[test]
fn openapi_describes_exactly_the_routes() {
    let code: BTreeSet<(String, String)> = signpost::api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let doc = documented();
    let missing: Vec<_> = code.difference(&doc).collect();
    let extra: Vec<_> = doc.difference(&code).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "undocumented routes: {missing:?}; documented but not served: {extra:?}"
    );
}

/// Every listed route is really served: it never answers "no such route" or "wrong method".
#[tokio::test]
async fn every_listed_route_is_served() {
    let app = spawn_app().await;
    for (method, path) in signpost::api::ROUTES {
        let path = path.replace("{id}", "0192f7a4-0000-7000-8000-000000000001");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = app
            .client
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        assert_ne!(status, 405, "{method} {path}");
        assert_ne!(
            body["type"], "/problems/http-404",
            "{method} {path} is not routed"
        );
        assert!(status < 500, "{method} {path}: {status}");
    }
}

/// The document's list of taxonomy ids is the taxonomy's, so generated requests use real ones.
#[test]
fn the_documented_category_ids_are_the_taxonomys() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("openapi.yaml is YAML");
    let documented: Vec<&str> = doc["components"]["schemas"]["CategoryId"]["enum"]
        .as_sequence()
        .expect("CategoryId.enum")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let taxonomy: Vec<&str> = signpost::domain::taxonomy::CATEGORIES
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(documented, taxonomy);
}
