use crate::helpers::*;
use std::collections::BTreeSet;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

/// The committed `openapi.yaml`.
fn document() -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    serde_yaml_ng::from_str(&text).expect("openapi.yaml is YAML")
}

fn documented() -> BTreeSet<(String, String)> {
    let doc = document();
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

/// Where two JSON values differ, as JSON pointers (at most `max`).
fn differences(a: &serde_json::Value, b: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    if out.len() >= 20 {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (x.get(k), y.get(k)) {
                    (Some(v), Some(w)) => differences(v, w, &here, out),
                    (Some(_), None) => out.push(format!("{here}: only in openapi.yaml")),
                    (None, _) => out.push(format!("{here}: only in the code's description")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(v, w, &format!("{at}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{at}: openapi.yaml has {a}, the code {b}")),
        _ => {}
    }
}

/// `openapi.yaml` is what the code describes (handlers' `#[utoipa::path]`, types'
/// `ToSchema`), path by path, parameter by parameter, body, response and schema.
#[test]
fn the_committed_description_is_the_one_the_code_makes() {
    let committed: serde_json::Value =
        serde_yaml_ng::from_value(document()).expect("openapi.yaml as JSON");
    let made = serde_json::to_value(signpost::api::doc::document()).unwrap();
    let mut out = Vec::new();
    differences(&committed, &made, "", &mut out);
    assert!(
        out.is_empty(),
        "openapi.yaml differs from the code's description; if the code is right, run \
         `cargo run -- openapi > openapi.yaml`:\n{}",
        out.join("\n")
    );
}

/// Every route the server registers is in the description, and nothing else.
#[test]
fn the_description_has_exactly_the_routes() {
    let code: BTreeSet<(String, String)> = signpost::api::route_list().collect();
    let doc = documented();
    assert_eq!(code, doc);
}

/// Every listed route is really served: it never answers "no such route" or "wrong method".
#[tokio::test]
async fn every_listed_route_is_served() {
    let app = spawn_app().await;
    for (method, path) in signpost::api::route_list() {
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
    let doc = document();
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

/// The query parameters the document gives an operation, its path item's included, with
/// `$ref`s to shared parameters followed.
fn documented_query_parameters(
    doc: &serde_yaml_ng::Value,
    item: &serde_yaml_ng::Value,
    operation: &serde_yaml_ng::Value,
) -> BTreeSet<String> {
    let shared = &doc["components"]["parameters"];
    [&item["parameters"], &operation["parameters"]]
        .into_iter()
        .filter_map(|p| p.as_sequence())
        .flatten()
        .map(|p| match p["$ref"].as_str() {
            Some(r) => &shared[r.rsplit('/').next().unwrap()],
            None => p,
        })
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

/// Each route that checks its query string names the parameters it takes when given one
/// it does not; those must be exactly the ones the document gives it, so neither can gain
/// or lose a parameter unnoticed. A route that does not check its query string must not
/// be documented with any.
#[tokio::test]
async fn documented_query_parameters_are_exactly_the_ones_each_route_takes() {
    let app = spawn_app().await;
    let doc = document();
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        let path = path.as_str().unwrap();
        for (method, operation) in item.as_mapping().expect("path item") {
            let method = method.as_str().unwrap();
            if !METHODS.contains(&method) {
                continue;
            }
            let documented = documented_query_parameters(&doc, item, operation);
            let url = path
                .replace("{id}", "0192f7a4-0000-7000-8000-000000000001")
                .replace("{item}", "0192f7a4-0000-7000-8000-000000000001");
            let (status, body) = app
                .call(
                    reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &format!("{url}?zz_not_a_parameter=1"),
                    Some(ADMIN_KEY),
                    Some(&serde_json::json!({})),
                )
                .await;
            let detail = body["detail"].as_str().unwrap_or_default();
            let taken: Option<BTreeSet<String>> = detail
                .split_once("this route takes:")
                .filter(|_| status == 400 && body["parameter"] == "zz_not_a_parameter")
                .map(|(_, list)| {
                    list.split(',')
                        .map(|p| p.trim().to_string())
                        .filter(|p| !p.is_empty())
                        .collect()
                });
            match taken {
                Some(taken) if taken != documented => wrong.push(format!(
                    "{method} {path}: takes {taken:?}, documented {documented:?}"
                )),
                Some(_) => {}
                None if !documented.is_empty() => wrong.push(format!(
                    "{method} {path}: documented with {documented:?} but does not check its query string ({status} {detail})"
                )),
                None => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The document is served as JSON, the same as the committed file.
#[tokio::test]
async fn the_description_is_served_as_json() {
    let app = spawn_app().await;
    let (status, served) = app.get_json("/openapi.json").await;
    assert_eq!(status, 200);
    let committed: serde_json::Value =
        serde_yaml_ng::from_value(document()).expect("openapi.yaml as JSON");
    assert_eq!(served, committed);
}
