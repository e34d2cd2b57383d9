//! The pages over plain HTTP: headers, privacy, CSRF, and bad input of every kind
//! answered with the form and the error, never a 5xx. (The browser tests drive them.)

use crate::helpers::*;

async fn post_form(app: &TestApp, path: &str, body: &str) -> (u16, String) {
    let r = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    (r.status().as_u16(), r.text().await.expect("body"))
}

#[tokio::test]
async fn pages_are_html_never_cached_and_fetch_nothing_from_elsewhere() {
    let mut app = spawn_demo_app().await;
    for path in ["/", "/shortlist", "/sign-in", "/?category=debt"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
        assert_eq!(h["cache-control"], "no-store", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("http://") && !body.contains("//fonts"),
            "{path}"
        );
        assert!(body.len() < 200_000, "{path} weighs {} bytes", body.len());
    }
    for asset in ["/assets/site.css", "/assets/site.js"] {
        let r = app.get(asset).await;
        assert_eq!(r.status(), 200, "{asset}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_search_by_post_shows_results_and_keeps_the_caller_out_of_links() {
    let mut app = spawn_demo_app().await;
    let (status, body) = post_form(&app, "/", "q=food+bank&postcode=M11+1AA&age=30").await;
    assert_eq!(status, 200);
    assert!(body.contains("id=\"results-heading\""), "{body}");
    assert!(
        body.contains("value=\"M11 1AA\""),
        "the form keeps the postcode"
    );
    // Only the filters are bookmarkable; the caller never goes into a link.
    assert!(!body.contains("href=\"/?q=") && !body.contains("postcode=M11"));
    assert!(body.contains("data-bookmark=\"/\""));
    app.stop().await;
}

#[tokio::test]
async fn bad_form_input_comes_back_with_the_error_beside_the_field() {
    let mut app = spawn_demo_app().await;
    let cases = [
        ("q=debt&postcode=M1+1A", "postcode"),
        ("q=debt&age=999", "age"),
        ("q=debt&sort=distance", "postcode"),
        ("q=debt&gender=robot", "gender"),
        ("q=debt&language=xx-not-a-language", "language"),
        ("q=debt&gp=zz", "gp"),
        ("q=debt&delivery_mode=carrier_pigeon", "delivery_mode"),
        ("q=debt&accepting=maybe", "accepting"),
    ];
    for (body, field) in cases {
        let (status, page) = post_form(&app, "/", body).await;
        assert_eq!(status, 422, "{body}: {page}");
        assert!(page.contains("class=\"error-summary\""), "{body}");
        assert!(
            page.contains(&format!("href=\"#{field}\"")),
            "{body}: names {field}"
        );
        assert!(
            page.contains("value=\"debt\""),
            "{body}: the words are kept"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn no_input_makes_a_page_fail() {
    let mut app = spawn_demo_app().await;
    let long = "x".repeat(5000);
    let bodies = [
        String::new(),
        "%%%".into(),
        "q=%FF%FE".into(),
        format!("q={long}"),
        "offset=99999999999999999999".into(),
        "set_category=nonsense".into(),
        "choose_gp=';DROP TABLE".into(),
        "q=a&q=b&postcode=M1&postcode=M2".into(),
    ];
    for body in &bodies {
        let (status, _) = post_form(&app, "/", body).await;
        assert!(status < 500, "POST / {body:.40}: {status}");
    }
    for path in [
        "/services/not-a-uuid",
        "/services/00000000-0000-0000-0000-000000000000",
        "/?category=%FF",
        "/partner",
        "/admin",
        "/partner/services/nope",
    ] {
        let status = app.get(path).await.status().as_u16();
        assert!((400..500).contains(&status), "GET {path}: {status}");
    }
    for path in [
        "/services/not-a-uuid",
        "/services/not-a-uuid/report",
        "/sign-out",
        "/partner/services/x/verify",
        "/partner/services/x/details",
        "/partner/items/x/resolve",
        "/admin/keys",
        "/admin/keys/x/revoke",
    ] {
        let (status, _) = post_form(&app, path, "csrf=nope&postcode=%FF").await;
        assert!(status < 500, "POST {path}: {status}");
    }
    app.stop().await;
}

#[tokio::test]
async fn sign_in_needs_its_form_token_and_forms_need_the_session_token() {
    let mut app = spawn_demo_app().await;
    // No sign-in cookie: refused, and nothing is signed in.
    let (status, page) = post_form(&app, "/sign-in", &format!("key={ADMIN_KEY}&csrf=x")).await;
    assert_eq!(status, 403);
    assert!(page.contains("expired"));
    assert!(!page.contains(ADMIN_KEY), "the key is never echoed");

    // A browser-like client: cookies kept.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = client.get(app.url("/sign-in")).send().await.unwrap();
    let set_cookie = form.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let page = form.text().await.unwrap();
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let signed = client
        .post(app.url("/sign-in"))
        .form(&[("key", ADMIN_KEY), ("csrf", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("sp_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    assert!(!cookie.contains(ADMIN_KEY));

    // A form without the session's token changes nothing.
    let id = app.search("q=debt&limit=1").await["hits"][0]["service"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = client
        .post(app.url(&format!("/partner/services/{id}/verify")))
        .form(&[("csrf", "stale"), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client
        .post(app.url(&format!("/services/{id}/report")))
        .form(&[("kind", "closed")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (_, queue) = app
        .call(
            reqwest::Method::GET,
            "/v1/review-queue",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert!(!queue.to_string().contains("report:"), "{queue}");
    app.stop().await;
}
