//! What search understands of callers' words: risk first, partial matches, suggestions,
//! languages, the search-gaps report and lexicon entries added at run time.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn first_categories(result: &Value) -> Vec<String> {
    result["hits"][0]["service"]["categories"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn risk_puts_crisis_services_first_with_the_contacts_to_read_out() {
    let app = spawn_demo_app().await;
    for question in [
        "swallowed a load of pills",
        "nothing to live for",
        "my son has been cutting himself",
        "he's outside with a knife",
        "money worries and I want to end it all",
        // A long story whose risk comes after the words searched for.
        "I rang last week about the damp in the flat and the council still have not got \
         back to me, the kids are poorly again, my ex is not paying anything, and I think \
         they would all be better off if I was not around",
    ] {
        let r = app.search(&format!("q={}&limit=5", q(question))).await;
        let risk = &r["risk"];
        assert!(risk.is_object(), "{question}: no risk block in {r}");
        assert!(
            risk["because"].as_array().is_some_and(|b| !b.is_empty()),
            "{question}: {risk}"
        );
        let phones: Vec<&str> = risk["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["phone"].as_str().unwrap())
            .collect();
        assert_eq!(phones, vec!["111", "116 123", "999"], "{question}");
        assert!(
            first_categories(&r).contains(&"crisis".to_string()),
            "{question}: first hit is not a crisis service: {}",
            r["hits"][0]
        );
    }
    // Crisis services come first, but the page still has what else was asked for.
    let r = app
        .search(&format!(
            "q={}&limit=10",
            q("money worries and I want to end it all")
        ))
        .await;
    let crisis_first = r["hits"]
        .as_array()
        .unwrap()
        .iter()
        .take_while(|h| {
            h["service"]["categories"]
                .as_array()
                .unwrap()
                .contains(&json!("crisis"))
        })
        .count();
    assert!((1..=3).contains(&crisis_first), "{r}");
    // Ordinary questions that share the words raise nothing.
    for question in [
        "support after a suicide in the family",
        "crisis loan",
        "cost of living crisis",
        "cutting down on drinking",
    ] {
        let r = app.search(&format!("q={}", q(question))).await;
        assert!(r["risk"].is_null(), "{question}: {}", r["risk"]);
    }
    // A category filter does not hide crisis services from a question with risk.
    let r = app
        .search(&format!(
            "q={}&category=debt&limit=5",
            q("took an overdose because of debts")
        ))
        .await;
    assert!(r["risk"].is_object());
    assert!(first_categories(&r).contains(&"crisis".to_string()), "{r}");
}

#[tokio::test]
async fn needs_are_understood_and_explained() {
    let app = spawn_demo_app().await;
    let r = app
        .search(&format!(
            "q={}&explain=true&limit=3",
            q("my boyfriend hurts me")
        ))
        .await;
    assert_eq!(r["match"], "full");
    assert_eq!(r["understood"]["needs"][0]["id"], "domestic_abuse", "{r}");
    assert!(first_categories(&r).contains(&"domestic_abuse".to_string()));
    let explain = &r["hits"][0]["explain"];
    assert_eq!(explain["needs"][0]["need"], "domestic_abuse", "{explain}");
    assert!(explain["state_factor"].as_f64().unwrap() > 0.0);
    // Without explain, no explanation.
    let r = app.search(&format!("q={}", q("miscarriage"))).await;
    assert!(r["hits"][0]["explain"].is_null());
    assert!(r["total"].as_u64().unwrap() > 0, "miscarriage: {r}");
    assert!(first_categories(&r).contains(&"bereavement".to_string()));
}

#[tokio::test]
async fn partial_matches_say_which_words_were_left_out() {
    let app = spawn_app().await;
    let org = app.create_organization("Levenshulme Larder").await;
    let mut body = service_body(
        &org,
        "Saturday larder",
        "Low-cost groceries every Saturday.",
    );
    body["categories"] = json!(["community"]);
    app.create_service(&body).await;
    let r = app
        .search(&format!("q={}", q("saturday groceries zzyzx")))
        .await;
    assert_eq!(r["match"], "partial", "{r}");
    assert_eq!(r["ignored_words"], json!(["zzyzx"]));
    assert_eq!(names(&r), vec!["Saturday larder"]);
    let r = app.search("q=saturday+groceries").await;
    assert_eq!(r["match"], "full");
    assert!(r["ignored_words"].is_null());
}

#[tokio::test]
async fn nothing_matched_suggests_the_closest_needs() {
    let app = spawn_demo_app().await;
    // A lexicon word misspelt further than a typo, and in no service.
    let r = app.search(&format!("q={}", q("bereavmt"))).await;
    assert_eq!(r["match"], "suggested", "{r}");
    let suggested: Vec<&str> = r["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(suggested.contains(&"bereavement"), "{suggested:?}");
    assert!(r["suggestions"][0]["name"].is_string());
    assert!(first_categories(&r).contains(&suggested[0].to_string()));
    let r = app.search(&format!("q={}", q("zzqqxx"))).await;
    assert_eq!(r["match"], "none");
    assert_eq!(r["total"], 0);
}

#[tokio::test]
async fn a_language_in_the_question_is_a_preference() {
    let app = spawn_app().await;
    let org = app.create_organization("Counselling Centre").await;
    let mut farsi = service_body(&org, "Wellbeing counselling", "Free counselling sessions.");
    farsi["languages"] = json!(["en", "fa"]);
    farsi["categories"] = json!(["mental_wellbeing"]);
    app.create_service(&farsi).await;
    let mut english = service_body(&org, "Counselling service", "Free counselling sessions.");
    english["categories"] = json!(["mental_wellbeing"]);
    app.create_service(&english).await;
    let r = app
        .search(&format!("q={}", q("farsi speaking counsellor")))
        .await;
    assert_eq!(r["understood"]["languages"][0]["code"], "fa", "{r}");
    assert_eq!(names(&r)[0], "Wellbeing counselling", "{r}");
    assert_eq!(r["total"], 2, "a preference, not a filter");
    // A language alone finds the services that speak it.
    let r = app.search("q=persian").await;
    assert_eq!(names(&r), vec!["Wellbeing counselling"]);
}

#[tokio::test]
async fn search_gaps_count_stripped_questions_shown_only_after_k() {
    let app = spawn_demo_app().await;
    let asked = |question: &'static str, times: usize| {
        let app = &app;
        async move {
            for _ in 0..times {
                let (status, _) = app
                    .get_json(&format!(
                        "/v1/search?q={}&postcode=M14+5AB&gp=P84004&include_unknown=true",
                        q(question)
                    ))
                    .await;
                assert!(status == 200 || status == 400, "{question}: {status}");
            }
        }
    };
    asked(
        "zorblax wibbleton help for Sarah M11 1AA P84004 07700900123",
        3,
    )
    .await;
    asked("qwertzu plonk", 2).await;
    let (status, report) = app
        .call(Method::GET, "/v1/admin/search-gaps", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["min_count"], 3);
    let gaps = report["gaps"].as_array().unwrap();
    let text = report.to_string();
    assert!(
        gaps.iter()
            .any(|g| g["question"] == "zorblax wibbleton help for" && g["count"] == 3),
        "{report}"
    );
    assert!(
        !text.contains("qwertzu"),
        "asked fewer than k times: {report}"
    );
    for private in [
        "sarah", "Sarah", "m11", "M11", "p84004", "P84004", "07700", "M14",
    ] {
        assert!(!text.contains(private), "{private} in {report}");
    }
    for g in gaps {
        let keys: Vec<&String> = g.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            vec!["count", "first_day", "kind", "last_day", "question"],
            "nothing but the question, its kind, counts and days"
        );
    }
    // Nor does the database hold anything else of a search.
    let (status, _) = app
        .call(Method::GET, "/v1/admin/search-gaps", None, None)
        .await;
    assert_eq!(status, 401);
    let (status, body) = app
        .call(
            Method::GET,
            "/v1/admin/search-gaps?days=0",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("days"), "{body}");
}

#[tokio::test]
async fn an_administrator_adds_a_lexicon_entry_that_works_at_once() {
    let app = spawn_demo_app().await;
    let before = app
        .search(&format!("q={}", q("gone over the glimmerwold")))
        .await;
    assert!(
        before["understood"]["needs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["id"] != "bereavement"),
        "{before}"
    );
    let (status, entry) = app
        .post(
            "/v1/admin/lexicon",
            &json!({"need": "bereavement", "phrase": "(gone|went|crossed) (to|over) the glimmerwold", "confidence": 0.9}),
        )
        .await;
    assert_eq!(status, 201, "{entry}");
    let after = app
        .search(&format!("q={}", q("gone over the glimmerwold")))
        .await;
    assert_eq!(
        after["understood"]["needs"][0]["id"], "bereavement",
        "{after}"
    );
    assert!(first_categories(&after).contains(&"bereavement".to_string()));
    let (status, listed) = app
        .call(Method::GET, "/v1/admin/lexicon", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["entries"][0]["id"], entry["id"]);
    assert_eq!(listed["entries"][0]["created_by"], "admin-key");
    // Bad entries are refused, naming the field.
    for (body, field) in [
        (json!({"need": "astrology", "phrase": "stars"}), "need"),
        (json!({"need": "debt", "phrase": "(a|b"}), "phrase"),
        (
            json!({"need": "debt", "phrase": "arrears", "confidence": 2}),
            "confidence",
        ),
        (json!({"need": "debt"}), "phrase"),
        (json!({"need": "debt", "phrase": "x", "extra": 1}), "extra"),
    ] {
        let (status, problem) = app.post("/v1/admin/lexicon", &body).await;
        assert!(status == 400 || status == 422, "{body}: {status} {problem}");
        assert!(problem.to_string().contains(field), "{body}: {problem}");
    }
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/admin/lexicon",
            None,
            Some(&json!({"need": "debt", "phrase": "x"})),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn every_hit_is_explained_and_a_services_own_name_finds_it_first() {
    let app = spawn_demo_app().await;
    // Postings that start after a hit's document once made explaining panic.
    let r = app
        .search(&format!(
            "q={}&explain=true&limit=20",
            q("Arts for Wellbeing (Oldham)")
        ))
        .await;
    let hits = r["hits"].as_array().unwrap();
    assert!(hits.len() > 5, "{r}");
    assert!(hits.iter().all(|h| h["explain"].is_object()), "{r}");
    assert_eq!(
        hits[0]["service"]["name"],
        "Arts for Wellbeing (Oldham)",
        "{:?}",
        names(&r)
    );
}
