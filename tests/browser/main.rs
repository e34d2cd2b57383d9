//! The pages in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver against the real server on port 0 with the demo directory.
//! axe-core (vendored in `tests/vendor`) checks every page for serious or critical
//! WCAG 2.2 A/AA violations.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../support/mod.rs"]
mod support;

use fantoccini::{Client, ClientBuilder, Locator};
use helpers::{ADMIN_KEY, TestApp, spawn_demo_app};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const AXE: &str = include_str!("../vendor/axe.min.js");
const TAB: &str = "\u{e004}";
const ENTER: &str = "\u{e007}";

/// One test at a time drives a browser: two cores, and Chromium is heavy.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(javascript: bool) -> Browser {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("port").port()
        };
        let driver =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect(
                    "start chromedriver (apt-get install chromium chromium-driver; .ci/run does)",
                );
        let profile = tempfile::tempdir().expect("profile dir");
        let mut prefs = json!({});
        if !javascript {
            prefs = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": prefs,
            }
        }))
        .expect("capabilities");
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                    };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start: {last:?}");
    }

    async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Clicks a submit button and waits for the page that answers.
    async fn submit(&self, css: &str) {
        self.js("window.__before_submit = true; return null").await;
        self.click(css).await;
        self.wait_for_new_page().await;
    }

    /// Waits until the page marked before a click has been replaced.
    async fn wait_for_new_page(&self) {
        for _ in 0..200 {
            let old = self
                .client
                .execute("return window.__before_submit === true", vec![])
                .await
                .unwrap_or(Value::Bool(true));
            if old == Value::Bool(false) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page loaded");
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find")
            .len()
    }

    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("run a script")
    }

    /// Runs axe-core on the page: no serious or critical WCAG 2.2 A/AA violation.
    async fn axe(&self, page: &str) {
        self.client
            .execute(AXE, vec![])
            .await
            .expect("load axe-core");
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("run axe-core");
        let list = found.as_array().cloned().unwrap_or_default();
        assert!(list.is_empty(), "axe on {page}: {list:#?}");
    }

    /// Presses Tab until `done` holds for the focused element's (id, text), at most `max` times.
    async fn tab_to(&self, max: usize, what: &str, done: impl Fn(&str, &str) -> bool) {
        for _ in 0..max {
            let active = self.client.active_element().await.expect("focus");
            active.send_keys(TAB).await.expect("tab");
            let now = self.client.active_element().await.expect("focus");
            let id = now.attr("id").await.ok().flatten().unwrap_or_default();
            let text = now.text().await.unwrap_or_default();
            if done(&id, &text) {
                return;
            }
        }
        panic!("Tab never reached {what}");
    }
}

async fn app_and_browser(
    javascript: bool,
) -> (TestApp, Browser, tokio::sync::MutexGuard<'static, ()>) {
    let guard = ONE_BROWSER.lock().await;
    let app = spawn_demo_app().await;
    let browser = Browser::start(javascript).await;
    (app, browser, guard)
}

#[tokio::test]
async fn navigator_searches_with_words_postcode_and_gp_and_builds_a_shortlist() {
    let (mut app, b, _g) = app_and_browser(true).await;
    b.goto(&app.url("/")).await;
    b.axe("the empty search page").await;
    b.fill("#q", "money worries").await;
    b.fill("#postcode", "M11 1AA").await;
    b.fill("#gp", "P84004").await;
    b.fill("#age", "40").await;
    b.submit("#search .search-box button").await;
    let heading = b.text("#results-heading").await;
    assert!(heading.contains("service"), "{heading}");
    let body = b.text("main").await;
    assert!(body.contains("Understood as: Money"), "{body}");
    assert!(
        b.count(".verdict").await > 0,
        "every result says whether it can see the caller"
    );
    assert_eq!(b.count(".risk").await, 0);
    // The caller's details never reach the address bar.
    let url = b.client.current_url().await.expect("url").to_string();
    assert!(
        !url.contains("M11") && !url.contains("money") && !url.contains("P84004"),
        "{url}"
    );
    b.axe("search results").await;

    // Two services onto the shortlist.
    let names: Vec<String> = {
        let mut out = Vec::new();
        for e in b
            .client
            .find_all(Locator::Css(".card h3"))
            .await
            .expect("cards")
            .iter()
            .take(2)
        {
            out.push(e.text().await.expect("name"));
        }
        out
    };
    let buttons = b
        .client
        .find_all(Locator::Css("[data-shortlist-item]"))
        .await
        .expect("buttons");
    buttons[0].click().await.expect("add");
    buttons[1].click().await.expect("add");
    assert_eq!(
        buttons[0]
            .attr("aria-pressed")
            .await
            .expect("attr")
            .as_deref(),
        Some("true")
    );

    b.goto(&app.url("/shortlist")).await;
    b.find("[data-list] li").await;
    assert_eq!(b.count("[data-list] li").await, 2);
    let text = b
        .js("return document.querySelector('textarea[data-text]').value")
        .await;
    let text = text.as_str().unwrap_or_default().to_string();
    assert!(text.starts_with(&format!("1. {}", names[0])), "{text}");
    assert!(text.contains(&format!("2. {}", names[1])), "{text}");
    assert!(
        text.contains("Phone:") && text.contains("How to refer:"),
        "{text}"
    );
    b.axe("the shortlist").await;

    // Reorder, and a note for the caller.
    b.click("[data-list] li:first-child button[aria-label^='Move down']")
        .await;
    b.fill("#note-0", "Ask for Sam").await;
    let text = b
        .js("return document.querySelector('textarea[data-text]').value")
        .await;
    let text = text.as_str().unwrap_or_default().to_string();
    assert!(
        text.starts_with(&format!("1. {}", names[1])),
        "reordered: {text}"
    );
    assert!(text.contains("Note: Ask for Sam"), "{text}");

    // A service's own page.
    let href = b
        .find("[data-list] li a")
        .await
        .attr("href")
        .await
        .expect("href")
        .expect("a link");
    b.goto(&app.url(&href)).await;
    b.find("article.card h1").await;
    b.axe("a service page").await;
    b.goto(&app.url("/services/00000000-0000-0000-0000-000000000000"))
        .await;
    assert!(b.text("h1").await.contains("not found"));
    b.axe("a not-found page").await;
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_question_that_expresses_risk_shows_the_risk_block_above_everything() {
    let (mut app, b, _g) = app_and_browser(true).await;
    b.goto(&app.url("/")).await;
    b.fill("#q", "i took too many pills and want it to end")
        .await;
    b.submit("#search .search-box button").await;
    let risk = b.text(".risk").await;
    assert!(
        risk.contains("Samaritans") && risk.contains("116 123"),
        "{risk}"
    );
    let first = b
        .js(
            "const r = document.querySelector('.risk'), h = document.querySelector('h1');
             return !!(r.compareDocumentPosition(h) & Node.DOCUMENT_POSITION_FOLLOWING);",
        )
        .await;
    assert_eq!(
        first,
        json!(true),
        "the risk block comes before the page's heading"
    );
    let card = b.find(".card").await;
    let class = card.attr("class").await.expect("class").unwrap_or_default();
    assert!(
        class.contains("crisis"),
        "the first result is a crisis service: {class}"
    );
    b.axe("search results with a risk block").await;
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn gp_practices_are_suggested_while_typing() {
    if !helpers::have_shared_geo() {
        return;
    }
    let (mut app, b, _g) = app_and_browser(true).await;
    b.goto(&app.url("/")).await;
    b.fill("#gp", "P8400").await;
    for _ in 0..50 {
        if b.count("#gp-options option").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        b.count("#gp-options option").await > 0,
        "suggestions arrive"
    );
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn search_and_shortlist_work_by_keyboard_alone() {
    let (mut app, b, _g) = app_and_browser(true).await;
    b.goto(&app.url("/")).await;
    b.js("document.activeElement && document.activeElement.blur(); return null")
        .await;
    // The first Tab reaches the skip link, which is visible when focused.
    let body = b.find("body").await;
    body.send_keys(TAB).await.expect("tab");
    let skip = b.client.active_element().await.expect("focus");
    assert_eq!(skip.text().await.expect("text"), "Skip to main content");
    b.tab_to(12, "the question box", |id, _| id == "q").await;
    let q = b.client.active_element().await.expect("focus");
    q.send_keys("food bank").await.expect("type");
    q.send_keys(ENTER).await.expect("enter");
    b.find("#results-heading").await;
    b.tab_to(80, "an Add to shortlist button", |_, text| {
        text == "Add to shortlist"
    })
    .await;
    let button = b.client.active_element().await.expect("focus");
    button.send_keys(ENTER).await.expect("press");
    assert_eq!(
        button.attr("aria-pressed").await.expect("attr").as_deref(),
        Some("true")
    );
    b.goto(&app.url("/shortlist")).await;
    assert_eq!(b.count("[data-list] li").await, 1);
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn search_works_without_javascript_and_keeps_values_beside_errors() {
    let (mut app, b, _g) = app_and_browser(false).await;
    b.goto(&app.url("/")).await;
    b.fill("#q", "food bank").await;
    b.fill("#postcode", "M11 1AA").await;
    b.fill("#age", "two hundred").await;
    b.submit("#search .search-box button").await;
    let summary = b.text(".error-summary").await;
    assert!(summary.contains("age"), "{summary}");
    assert!(b.text("#age-error").await.contains("age"));
    let q = b.find("#q").await.prop("value").await.expect("value");
    assert_eq!(q.as_deref(), Some("food bank"), "other values are kept");
    let pc = b
        .find("#postcode")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(pc.as_deref(), Some("M11 1AA"));
    b.fill("#age", "30").await;
    b.submit("#search .search-box button").await;
    let heading = b.text("#results-heading").await;
    assert!(heading.contains("service"), "{heading}");
    // Facets are buttons of the same form: they keep the words.
    b.submit("button[name=set_category]").await;
    let q = b.find("#q").await.prop("value").await.expect("value");
    assert_eq!(q.as_deref(), Some("food bank"));
    b.goto(&app.url("/shortlist")).await;
    let notice = b.text(".no-js").await;
    assert!(notice.contains("needs JavaScript"), "{notice}");
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn staff_sign_in_see_contacts_and_report_a_problem() {
    let (mut app, b, _g) = app_and_browser(true).await;
    b.goto(&app.url("/sign-in")).await;
    b.axe("the sign-in page").await;
    b.fill("#key", "sp_not-a-key").await;
    b.submit("form button[type=submit]").await;
    assert!(b.text(".error-summary").await.contains("cannot sign in"));
    let key = b.find("#key").await.prop("value").await.expect("value");
    assert_eq!(
        key.as_deref(),
        Some(""),
        "a key is never put back into the page"
    );
    b.fill("#key", ADMIN_KEY).await;
    b.submit("form button[type=submit]").await;
    assert!(b.text("header").await.contains("Signed in"));

    b.goto(&app.url("/?category=debt")).await;
    b.click(".card h3 a").await;
    b.find("#text").await;
    b.axe("a service page for staff").await;
    // No kind chosen: the error is beside the field, and the text is kept.
    b.fill("#text", "rang twice, no answer").await;
    b.submit("form[action$='/report'] button[type=submit]")
        .await;
    assert!(b.text(".error-summary").await.contains("use one of"));
    let kept = b.find("#text").await.prop("value").await.expect("value");
    assert_eq!(kept.as_deref(), Some("rang twice, no answer"));
    b.click("input[name=kind][value=wrong_phone]").await;
    b.submit("form[action$='/report'] button[type=submit]")
        .await;
    assert!(
        b.text("[role=status]")
            .await
            .contains("report has been sent")
    );

    let (_, queue) = app
        .call(
            reqwest::Method::GET,
            "/v1/review-queue",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert!(
        queue.to_string().contains("wrong_phone"),
        "the report reached the review queue: {queue}"
    );
    b.submit("form[action='/sign-out'] button").await;
    assert!(b.text("header").await.contains("Staff sign in"));
    b.close().await;
    app.stop().await;
}

/// Signs in through the form with `key`.
async fn sign_in(b: &Browser, app: &TestApp, key: &str) {
    b.goto(&app.url("/sign-in")).await;
    b.fill("#key", key).await;
    b.submit("form button[type=submit]").await;
    assert!(b.text("header").await.contains("Signed in"));
}

/// Signs in with a new partner key for the organisation of the first service found for
/// `words`; returns that service's id.
async fn sign_in_as_partner_of(b: &Browser, app: &TestApp, words: &str) -> String {
    let found = app
        .search(&format!("q={}&limit=1", words.replace(' ', "+")))
        .await;
    let service = &found["hits"][0]["service"];
    let id = service["id"].as_str().expect("id").to_string();
    let org = service["organization"]["id"]
        .as_str()
        .expect("org")
        .to_string();
    let (_, key) = app.create_key("partner", Some(&org)).await;
    sign_in(b, app, &key).await;
    id
}

#[tokio::test]
async fn a_partner_keeps_an_entry_true_and_sees_a_conflict() {
    let (mut app, b, _g) = app_and_browser(true).await;
    let id = sign_in_as_partner_of(&b, &app, "debt advice").await;

    b.goto(&app.url("/partner")).await;
    b.axe("the partner's list").await;
    let row = format!("article[aria-labelledby='k-{id}']");
    b.submit(&format!("{row} form[action$='/verify'] button"))
        .await;
    assert!(
        b.text("[role=status]")
            .await
            .contains("confirmed as accurate")
    );
    let (_, now) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/services/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        now["assured_date"].as_str(),
        Some(chrono::Utc::now().date_naive().to_string().as_str())
    );

    // Capacity in two clicks: pick, save. Searchable at once.
    b.find(&format!("{row} select[name=accepting]"))
        .await
        .select_by_value("closed")
        .await
        .expect("choose");
    b.submit(&format!("{row} form[action$='/capacity'] button"))
        .await;
    assert!(b.text("[role=status]").await.contains("Capacity saved"));
    let again = app.search("q=debt+advice&limit=20").await;
    let hit = again["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .find(|h| h["service"]["id"] == id.as_str())
        .expect("still found");
    assert!(
        hit["warnings"].to_string().contains("not_accepting"),
        "{hit}"
    );

    // Details: two errors beside their fields, the rest kept; then fixed.
    b.goto(&app.url(&format!("/partner/services/{id}"))).await;
    b.axe("a partner's service page").await;
    let description = b
        .find("#description")
        .await
        .prop("value")
        .await
        .expect("value");
    b.fill("#name", "").await;
    b.fill("#url", "not a web address").await;
    b.submit("form[action$='/details'] button[type=submit]")
        .await;
    assert!(b.text("#name-error").await.contains("required"));
    assert!(!b.text("#url-error").await.is_empty());
    let kept = b
        .find("#description")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept, description, "other values are kept");
    b.axe("a partner's form with errors").await;
    b.fill("#name", "Debt Advice Drop-in").await;
    b.fill("#url", "https://debt.example.org.uk/").await;
    b.submit("form[action$='/details'] button[type=submit]")
        .await;
    assert!(b.text("[role=status]").await.contains("Details saved"));

    // Someone else changes the entry while the form is open: a conflict, not an overwrite.
    let (status, _) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/services/{id}"),
            Some(ADMIN_KEY),
            Some(&json!({"description": "Changed by the administrator meanwhile."})),
        )
        .await;
    assert_eq!(status, 200);
    b.fill("#description", "My own wording of what we offer.")
        .await;
    b.submit("form[action$='/details'] button[type=submit]")
        .await;
    let conflict = b.text(".error-summary").await;
    assert!(
        conflict.contains("Someone else changed this entry"),
        "{conflict}"
    );
    assert!(
        conflict.contains("Changed by the administrator meanwhile."),
        "{conflict}"
    );
    let (_, now) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/services/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        now["description"],
        "Changed by the administrator meanwhile."
    );
    b.axe("a conflict").await;
    // Saving again is a deliberate choice.
    b.submit("form[action$='/details'] button[type=submit]")
        .await;
    assert!(b.text("[role=status]").await.contains("Details saved"));
    let (_, now) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/services/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(now["description"], "My own wording of what we offer.");
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn an_administrator_resolves_a_review_item_and_makes_a_key() {
    let (mut app, b, _g) = app_and_browser(true).await;
    let found = app.search("q=food+bank&limit=1").await;
    let id = found["hits"][0]["service"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, _) = app
        .call(
            reqwest::Method::POST,
            &format!("/v1/services/{id}/reports"),
            Some(ADMIN_KEY),
            Some(&json!({"kind": "wrong_phone"})),
        )
        .await;
    assert_eq!(status, 201);
    sign_in(&b, &app, ADMIN_KEY).await;
    b.goto(&app.url("/admin")).await;
    b.axe("the administration page").await;
    let before = b
        .count("#queue ~ table tbody tr, section[aria-labelledby=queue] tbody tr")
        .await;
    let report_row = "section[aria-labelledby=queue] form[action*='report%3A'], section[aria-labelledby=queue] form[action*='report:']";
    let form = b.find(report_row).await;
    form.find(Locator::Css("input[name=note]"))
        .await
        .expect("note")
        .send_keys("phoned them, number fixed")
        .await
        .expect("type");
    b.js("window.__before_submit = true; return null").await;
    form.find(Locator::Css("button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("resolve");
    b.wait_for_new_page().await;
    assert!(b.text("[role=status]").await.contains("dealt with"));
    let after = b.count("section[aria-labelledby=queue] tbody tr").await;
    assert_eq!(after + 1, before, "the item left the queue");

    // A key: an error beside the field first, then made and shown once.
    b.fill("#key_name", "").await;
    b.submit("form[action='/admin/keys'] button").await;
    assert!(b.text(".error-summary").await.contains("Name"));
    b.fill("#key_name", "Navigator on the Bolton line").await;
    b.submit("form[action='/admin/keys'] button").await;
    let secret = b
        .find("#new-secret")
        .await
        .prop("value")
        .await
        .expect("value");
    let secret = secret.unwrap_or_default();
    assert!(secret.starts_with("sp_"), "{secret}");
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            "/v1/review-queue",
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(
        status, 403,
        "the new navigator key works (and may not see the queue)"
    );
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn partner_forms_work_without_javascript() {
    let (mut app, b, _g) = app_and_browser(false).await;
    let id = sign_in_as_partner_of(&b, &app, "befriending").await;
    b.goto(&app.url(&format!("/partner/services/{id}"))).await;
    b.submit("form[action$='/verify'] button").await;
    assert!(
        b.text("[role=status]")
            .await
            .contains("confirmed as accurate")
    );
    // Closed for a while, without a reason: the error is beside the field.
    b.click("input[name=status][value=temporarily_closed]")
        .await;
    b.submit("form[action$='/status'] button").await;
    assert!(
        b.text(".error-summary")
            .await
            .contains("why the service is closed")
    );
    b.click("input[name=status][value=temporarily_closed]")
        .await;
    b.fill("#reason", "staff training week").await;
    b.submit("form[action$='/status'] button").await;
    assert!(b.text("[role=status]").await.contains("Status saved"));
    let (_, now) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/services/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(now["status"], "temporarily_closed");
    assert_eq!(now["temporary_closure"]["reason"], "staff training week");
    b.fill("#waiting_weeks", "many").await;
    b.submit("form[action$='/capacity'] button").await;
    assert!(
        b.text("#waiting_weeks-error")
            .await
            .contains("whole number")
    );
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_partner_answers_a_reminder_from_its_link() {
    let guard = ONE_BROWSER.lock().await;
    // The demo directory, with reminders written into a folder (a dry run).
    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = dir.path().join("outbox");
    let mailer =
        signpost::mail::Mailer::folder(outbox.clone(), "signpost <s@example.org>").unwrap();
    let mut app = helpers::spawn_configured(dir.path(), None, true, |s| {
        s.reminders = Some(signpost::startup::ReminderJobSettings {
            cron: "0 0 0 1 1 *".into(),
            reminders: signpost::directory::reminders::ReminderSettings {
                public_url: "http://signpost.test".into(),
                ..Default::default()
            },
            mailer: std::sync::Arc::new(mailer),
        });
    })
    .await;
    let b = Browser::start(true).await;
    let found = app.search("q=debt+advice&limit=1").await;
    let org = found["hits"][0]["service"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = app
        .call(
            reqwest::Method::PUT,
            &format!("/v1/organizations/{org}/update-contacts"),
            Some(ADMIN_KEY),
            Some(&json!({"contacts": [{"name": "Sam Keeper", "email": "sam@example.org"}]})),
        )
        .await;
    assert_eq!(status, 200);
    // Make one of its services need a look, then run.
    let id = found["hits"][0]["service"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/services/{id}"),
            Some(ADMIN_KEY),
            Some(&json!({"assured_date": "2020-01-01"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, report) = app
        .call(
            reqwest::Method::POST,
            "/v1/admin/reminders/run",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let mail = std::fs::read_dir(&outbox)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(mail)
        .unwrap()
        .replace("=\r\n", "")
        .replace("=3D", "=");
    let link = |label: &str| {
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(label)
                    .and_then(|r| r.split("http://signpost.test").nth(1))
            })
            .map(|path| app.url(path.trim()))
            .expect("a link")
    };
    let capacity = link("Update whether it is taking referrals");
    b.goto(&capacity).await;
    b.axe("a reminder's confirmation page").await;
    b.submit("form button[type=submit]").await;
    assert!(b.text(".error-summary").await.contains("taking referrals"));
    b.click("input[name=accepting][value=waitlist]").await;
    b.fill("#waiting_weeks", "4").await;
    b.submit("form button[type=submit]").await;
    assert!(b.text("h1").await.contains("Thank you"));
    b.axe("the thank-you page").await;
    let again = app.search("q=debt+advice&limit=20").await;
    let hit = again["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["service"]["id"] == id.as_str())
        .cloned();
    if let Some(hit) = hit {
        assert!(
            hit["warnings"].to_string().contains("about 4 weeks"),
            "{hit}"
        );
    }
    let (_, now) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/services/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(now["capacity"]["waiting_weeks"], 4);
    // The same link again: used.
    b.goto(&capacity).await;
    assert!(b.text("main").await.contains("used already"));
    b.close().await;
    app.stop().await;
    drop(guard);
}

/// Screenshots of every page at desktop and phone widths, into the folder named by
/// `SIGNPOST_SCREENSHOTS` (README's "Screenshots" says how to run it).
#[tokio::test]
#[ignore = "makes screenshots: SIGNPOST_SCREENSHOTS=DIR cargo test --test browser screenshots -- --ignored"]
async fn screenshots() {
    let dir = std::path::PathBuf::from(
        std::env::var("SIGNPOST_SCREENSHOTS").unwrap_or_else(|_| "screenshots".into()),
    );
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let (mut app, b, _g) = app_and_browser(true).await;
    let found = app.search("q=debt+advice&limit=1").await;
    let service = &found["hits"][0]["service"];
    let id = service["id"].as_str().expect("id").to_string();
    let org = service["organization"]["id"]
        .as_str()
        .expect("org")
        .to_string();
    let (_, partner) = app.create_key("partner", Some(&org)).await;
    for (width, height, suffix) in [(1280, 1400, "desktop"), (390, 844, "phone")] {
        b.client.set_window_size(width, height).await.expect("size");
        let shot = |name: &str| dir.join(format!("{name}-{suffix}.png"));
        let save = |name: String| {
            let b = &b;
            async move {
                let png = b.client.screenshot().await.expect("screenshot");
                std::fs::write(&name, png).expect("write screenshot");
            }
        };
        b.goto(&app.url("/")).await;
        save(shot("search").display().to_string()).await;
        b.fill("#q", "money worries, behind on rent").await;
        b.fill("#postcode", "M11 1AA").await;
        b.fill("#gp", "P84004").await;
        b.fill("#age", "42").await;
        b.submit("#search .search-box button").await;
        save(shot("results").display().to_string()).await;
        for button in b
            .client
            .find_all(Locator::Css("[data-shortlist-item]"))
            .await
            .expect("buttons")
            .iter()
            .take(2)
        {
            button.click().await.expect("add");
        }
        b.fill("#q", "i don't want to be here anymore").await;
        b.submit("#search .search-box button").await;
        save(shot("risk").display().to_string()).await;
        b.goto(&app.url(&format!("/services/{id}"))).await;
        save(shot("service").display().to_string()).await;
        b.goto(&app.url("/shortlist")).await;
        save(shot("shortlist").display().to_string()).await;
        sign_in(&b, &app, &partner).await;
        b.goto(&app.url("/partner")).await;
        save(shot("partner").display().to_string()).await;
        b.goto(&app.url(&format!("/partner/services/{id}"))).await;
        b.fill("#url", "not a web address").await;
        b.submit("form[action$='/details'] button[type=submit]")
            .await;
        save(shot("partner-edit-error").display().to_string()).await;
        b.submit("form[action='/sign-out'] button").await;
        sign_in(&b, &app, ADMIN_KEY).await;
        b.goto(&app.url("/admin")).await;
        save(shot("admin").display().to_string()).await;
        b.submit("form[action='/sign-out'] button").await;
    }
    eprintln!("screenshots in {}", dir.display());
    b.close().await;
    app.stop().await;
}
