//! Reminders to update contacts, through a real SMTP server on loopback: who gets an
//! email and about what, the interval, one-click links (once, unforgeable, expiring, a
//! GET changes nothing), escalation, and a mail server that is down.

use crate::helpers::{self, ADMIN_KEY, TestApp};
use serde_json::{Value, json};
use signpost::directory::reminders::ReminderSettings;
use signpost::mail::{Mailer, SmtpSecurity, SmtpSettings};
use signpost::startup::ReminderJobSettings;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One message the server accepted.
#[derive(Clone, Debug)]
struct Received {
    to: Vec<String>,
    data: String,
}

/// A small SMTP server: it speaks enough of RFC 5321 for a client to deliver mail, keeps
/// what it is given, and can be "down" (421 to every connection).
struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    up: Arc<AtomicBool>,
}

impl SmtpSink {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.4:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let up = Arc::new(AtomicBool::new(true));
        let (kept, live) = (messages.clone(), up.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (kept, live) = (kept.clone(), live.clone());
                tokio::spawn(async move {
                    let _ = session(stream, kept, live).await;
                });
            }
        });
        SmtpSink { port, messages, up }
    }

    fn received(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    kept: Arc<Mutex<Vec<Received>>>,
    up: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if !up.load(Ordering::SeqCst) {
        write
            .write_all(b"421 sink.test closing: down for the test\r\n")
            .await?;
        return Ok(());
    }
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO")
            || upper.starts_with("MAIL FROM")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO") {
            to.push(
                line[8..]
                    .trim()
                    .trim_matches(|c| c == '<' || c == '>' || c == ':')
                    .to_string(),
            );
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if lines.read_line(&mut l).await? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" {
                    break;
                }
                // Transparency (RFC 5321 4.5.2): a leading dot was doubled by the client.
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            kept.lock().unwrap().push(Received {
                to: std::mem::take(&mut to),
                data,
            });
            b"250 OK kept\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 not here\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// The plain-text body, quoted-printable undone.
fn plain(data: &str) -> String {
    data.replace("=\r\n", "").replace("=3D", "=")
}

/// Every one-click link in a message, with its label, as paths on the app.
fn links(data: &str) -> Vec<(String, String)> {
    plain(data)
        .lines()
        .filter_map(|l| {
            let (label, url) = l.trim().split_once(": http://signpost.test")?;
            Some((
                label.to_string(),
                url.split_whitespace().next()?.to_string(),
            ))
        })
        .collect()
}

async fn spawn(sink: &SmtpSink, settings: ReminderSettings, dir: &std::path::Path) -> TestApp {
    let mailer = Mailer::smtp(
        &SmtpSettings {
            host: "127.0.0.4".into(),
            port: sink.port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            timeout: Duration::from_secs(5),
        },
        "signpost <signpost@example.nhs.uk>",
    )
    .unwrap();
    helpers::spawn_configured(dir, None, false, |s| {
        s.reminders = Some(ReminderJobSettings {
            cron: "0 0 0 1 1 *".into(),
            reminders: settings,
            mailer: Arc::new(mailer),
        });
    })
    .await
}

fn settings() -> ReminderSettings {
    ReminderSettings {
        min_interval: chrono::Duration::days(1),
        escalate_after: 3,
        link_valid_for: chrono::Duration::days(21),
        public_url: "http://signpost.test".into(),
    }
}

/// A service whose entry was last confirmed long ago.
async fn stale_service(app: &TestApp, org: &str, name: &str, description: &str) -> String {
    let mut body = helpers::service_body(org, name, description);
    body["assured_date"] = json!("2020-01-01");
    app.create_service(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn run(app: &TestApp) -> Value {
    let (status, report) = app
        .call(
            reqwest::Method::POST,
            "/v1/admin/reminders/run",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("signpost_reminders_total{outcome=\"sent\"}"),
        "{metrics}"
    );
    report
}

async fn set_contacts(app: &TestApp, org: &str, contacts: Value) -> (u16, Value) {
    app.call(
        reqwest::Method::PUT,
        &format!("/v1/organizations/{org}/update-contacts"),
        Some(ADMIN_KEY),
        Some(&json!({ "contacts": contacts })),
    )
    .await
}

#[tokio::test]
async fn each_organisation_gets_one_email_and_its_links_answer_once() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let app = spawn(&sink, settings(), dir.path()).await;

    let a = app.create_organization("Bolton Debt Line").await;
    let money = stale_service(
        &app,
        &a,
        "Money Help Bolton",
        "Free debt advice and budgeting help.",
    )
    .await;
    let bills = stale_service(
        &app,
        &a,
        "Energy Bills Clinic",
        "Help with energy bills and arrears.",
    )
    .await;
    let b = app.create_organization("Fresh Charity").await;
    app.create_service(&helpers::service_body(
        &b,
        "Fresh Advice",
        "Debt advice, confirmed today.",
    ))
    .await;
    let c = app.create_organization("No Contacts Trust").await;
    stale_service(&app, &c, "Quiet Service", "Debt advice nobody keeps.").await;

    // Contacts: staff only, checked, never in the public record.
    let (status, body) =
        set_contacts(&app, &a, json!([{"name": "Sam", "email": "not-an-email"}])).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("email"), "{body}");
    let (status, _) = set_contacts(
        &app,
        &a,
        json!([{"name": "Sam Keeper", "email": "sam@bolton-debt.example"}]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = set_contacts(
        &app,
        &b,
        json!([{"name": "Fay", "email": "fay@fresh.example"}]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/organizations/{a}/update-contacts"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 401);
    let (_, public) = app.get_json(&format!("/v1/organizations/{a}")).await;
    assert!(
        !public.to_string().contains("sam@bolton-debt.example"),
        "{public}"
    );

    // One run: one email, to the organisation with contacts and something to check.
    let report = run(&app).await;
    assert_eq!(report["sent"], 1, "{report}");
    let mail = sink.received();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].to, vec!["sam@bolton-debt.example".to_string()]);
    let text = plain(&mail[0].data);
    assert!(
        text.contains("Money Help Bolton") && text.contains("Energy Bills Clinic"),
        "{text}"
    );
    assert!(
        !text.contains("Fresh Advice") && !text.contains("Quiet Service"),
        "{text}"
    );
    let found = links(&mail[0].data);
    assert_eq!(
        found.len(),
        10,
        "five answers for each of two services: {found:?}"
    );

    // Not again within the interval.
    let report = run(&app).await;
    assert_eq!(
        (report["sent"].as_u64(), report["too_soon"].as_u64()),
        (Some(0), Some(1)),
        "{report}"
    );
    assert_eq!(sink.received().len(), 1);

    // A GET (what a mail scanner does) changes nothing.
    let accurate: Vec<&String> = found
        .iter()
        .filter(|(l, _)| l.starts_with("Everything is still accurate"))
        .map(|(_, u)| u)
        .collect();
    let page = app.get(accurate[0]).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let which = if page.contains("Money Help Bolton") {
        &money
    } else {
        &bills
    };
    let (_, before) = app.get_json(&format!("/v1/services/{which}")).await;
    assert_eq!(before["assured_date"], "2020-01-01");

    // A tampered link is refused; the real one answers once, into search and history.
    let mut tampered = accurate[0].clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        app.client
            .post(app.url(&tampered))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let answered = app.client.post(app.url(accurate[0])).send().await.unwrap();
    assert_eq!(answered.status(), 200);
    assert!(answered.text().await.unwrap().contains("Thank you"));
    let (_, after) = app.get_json(&format!("/v1/services/{which}")).await;
    assert_eq!(
        after["assured_date"],
        chrono::Utc::now().date_naive().to_string()
    );
    let (_, history) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/services/{which}/history"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert!(
        history
            .to_string()
            .contains("reminder-link:sam@bolton-debt.example"),
        "{history}"
    );
    let again = app.client.post(app.url(accurate[0])).send().await.unwrap();
    assert_eq!(again.status(), 410);

    // Capacity in one click: shown in search at once.
    let other = if which == &money { &bills } else { &money };
    let capacity_links: Vec<&String> = found
        .iter()
        .filter(|(l, _)| l.starts_with("Update whether"))
        .map(|(_, u)| u)
        .collect();
    let mut done = false;
    for link in capacity_links {
        let page = app.get(link).await.text().await.unwrap();
        let name = if other == &money {
            "Money Help Bolton"
        } else {
            "Energy Bills Clinic"
        };
        if !page.contains(name) {
            continue;
        }
        let bad = app
            .client
            .post(app.url(link))
            .form(&[("accepting", "waitlist"), ("waiting_weeks", "lots")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            bad.status(),
            422,
            "a wrong answer is named and the link still works"
        );
        let ok = app
            .client
            .post(app.url(link))
            .form(&[("accepting", "waitlist"), ("waiting_weeks", "6")])
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        done = true;
    }
    assert!(done);
    let search = app.search("q=energy+bills").await;
    let hit = search["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["service"]["id"] == other.as_str())
        .cloned();
    if let Some(hit) = hit {
        assert!(
            hit["warnings"].to_string().contains("about 6 weeks"),
            "{hit}"
        );
    } else {
        let search = app.search("q=debt+advice").await;
        let hit = search["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["service"]["id"] == other.as_str())
            .unwrap();
        assert!(
            hit["warnings"].to_string().contains("about 6 weeks"),
            "{hit}"
        );
    }

    // "Edit the details" signs the contact in as the organisation's partner for a while.
    let edit = found
        .iter()
        .find(|(l, _)| l.starts_with("Edit the details"))
        .unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let r = client.post(app.url(&edit.1)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/partner/services/"), "{location}");
    let keep = client.get(app.url(&location)).send().await.unwrap();
    assert_eq!(keep.status(), 200);

    // Signed in so, the contact keeps the list of who is reminded on the partner page.
    let page = client
        .get(app.url("/partner"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Who we remind") && page.contains("sam@bolton-debt.example"),
        "{page}"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let bad = client
        .post(app.url("/partner/contacts"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name_0", "Sam Keeper"),
            ("email_0", "sam@bolton-debt.example"),
            ("name_1", "Alex"),
            ("email_1", "alex at example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains("Enter an email address") && bad.contains("alex at example"),
        "{bad}"
    );
    let saved = client
        .post(app.url("/partner/contacts"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name_0", "Sam Keeper"),
            ("email_0", "sam@bolton-debt.example"),
            ("name_1", "Alex Deputy"),
            ("email_1", "Alex@Bolton-Debt.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let (_, contacts) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/organizations/{a}/update-contacts"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(
        contacts["contacts"].as_array().unwrap().len(),
        2,
        "{contacts}"
    );
    assert!(
        contacts.to_string().contains("alex@bolton-debt.example"),
        "{contacts}"
    );

    let (_, list) = app
        .call(
            reqwest::Method::GET,
            "/v1/admin/reminders",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(list["reminders"][0]["state"], "sent", "{list}");
    assert!(list["reminders"][0]["answered_at"].is_string(), "{list}");
}

#[tokio::test]
async fn a_mail_server_that_is_down_is_retried_unanswered_reminders_escalate_and_links_expire() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    let app = spawn(
        &sink,
        ReminderSettings {
            min_interval: chrono::Duration::zero(),
            escalate_after: 2,
            link_valid_for: chrono::Duration::seconds(2),
            ..settings()
        },
        dir.path(),
    )
    .await;
    let org = app.create_organization("Wigan Carers").await;
    stale_service(&app, &org, "Carers Café", "Support for unpaid carers.").await;
    set_contacts(
        &app,
        &org,
        json!([{"name": "Kim", "email": "kim@wigan-carers.example"}]),
    )
    .await;

    // Down: recorded, nothing lost, sent on the next run.
    sink.up.store(false, Ordering::SeqCst);
    let report = run(&app).await;
    assert_eq!(
        (report["failed"].as_u64(), report["sent"].as_u64()),
        (Some(1), Some(0)),
        "{report}"
    );
    let (_, list) = app
        .call(
            reqwest::Method::GET,
            "/v1/admin/reminders",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(list["reminders"][0]["state"], "failed", "{list}");
    assert!(list["reminders"][0]["error"].is_string(), "{list}");
    sink.up.store(true, Ordering::SeqCst);
    let report = run(&app).await;
    assert_eq!(report["sent"], 1, "{report}");

    // The second unanswered reminder in a row asks the administrators.
    let report = run(&app).await;
    assert_eq!(
        (report["sent"].as_u64(), report["escalated"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
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
        queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "reminders_unanswered"),
        "{queue}"
    );

    // Links expire.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mail = sink.received();
    let link = links(&mail.last().unwrap().data)[0].1.clone();
    assert_eq!(app.get(&link).await.status(), 410);
    assert_eq!(
        app.client
            .post(app.url(&link))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );

    // An answer (from a fresh reminder) clears the escalation.
    let report = run(&app).await;
    assert_eq!(report["sent"], 1, "{report}");
    let mail = sink.received();
    let fresh = links(&mail.last().unwrap().data);
    let accurate = &fresh
        .iter()
        .find(|(l, _)| l.starts_with("Everything"))
        .unwrap()
        .1;
    assert_eq!(
        app.client
            .post(app.url(accurate))
            .send()
            .await
            .unwrap()
            .status(),
        200
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
        !queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "reminders_unanswered"),
        "{queue}"
    );
}
