//! Reminders to the people who keep entries current: who to ask, one email per
//! organisation per run listing what needs a look, signed single-use links that answer
//! in one click, and escalation to administrators when nobody answers.

use super::keeping::StatusChange;
use super::{Directory, DirectoryError, now};
use crate::domain::access::{Principal, Role};
use crate::domain::fields::{Email as EmailAddress, Name, Text};
use crate::domain::text::escape_html as escape;
use crate::domain::{Accepting, Capacity, Service, ServiceStatus};
use crate::mail::{Email, Mailer};
use crate::storage::reminders::{AskedAbout, Reminder, ReminderLink, UpdateContact};
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The lease that lets one replica send at a time.
pub const LEASE: &str = "reminders";

/// Emails on their way to the mail server at once.
const SENDING_AT_ONCE: usize = 8;

/// Review-queue kinds a reminder asks about.
const ASKED_KINDS: &[&str] = &["not_verified", "capacity_stale", "link_flag", "report"];

/// What a one-click link does.
pub const ACTIONS: &[(&str, &str)] = &[
    ("accurate", "Everything is still accurate"),
    (
        "capacity",
        "Update whether it is taking referrals (open / waiting list / not taking referrals)",
    ),
    ("closed_until", "It is temporarily closed until a date"),
    ("closed", "This service has closed"),
    ("edit", "Edit the details"),
];

/// How reminders are sent: when, from whom, where their links point.
#[derive(Debug, Clone)]
pub struct ReminderSettings {
    /// An organisation gets at most one reminder in this time.
    pub min_interval: chrono::Duration,
    /// Unanswered reminders in a row before the administrators are asked.
    pub escalate_after: u32,
    /// How long a link works.
    pub link_valid_for: chrono::Duration,
    /// The address people reach this service at, for the links, e.g.
    /// `https://signpost.example.nhs.uk`.
    pub public_url: String,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self {
            min_interval: chrono::Duration::days(14),
            escalate_after: 3,
            link_valid_for: chrono::Duration::days(21),
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

/// An update contact as given by an administrator or the organisation's partner.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// The person's name, as the reminder greets them.
    pub name: Name,
    /// Where their reminders go.
    #[schema(value_type = String, format = Email)]
    pub email: EmailAddress,
}

/// What a reminder run did.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct RunReport {
    /// Organisations with update contacts and something that needs a look.
    pub organizations_due: usize,
    /// Reminders the mail server accepted.
    pub sent: usize,
    /// Written to the dry-run folder instead.
    pub written: usize,
    /// Could not be sent: recorded, tried again next run.
    pub failed: usize,
    /// Reminded too recently to be reminded again.
    pub too_soon: usize,
    /// Reminders that made too many unanswered in a row, so went to the review queue.
    pub escalated: usize,
    /// Services asked about, across every reminder made.
    pub services: usize,
    /// How long the run took, in seconds.
    pub seconds: f64,
}

/// A link opened from an email, ready for its confirmation page.
pub struct OpenedLink {
    /// The link as stored: which service, which action, which contact, until when.
    pub link: ReminderLink,
    /// The service the link is about.
    pub service: Service,
    /// What the link does, in words, e.g. "Everything is still accurate".
    pub action_text: &'static str,
}

/// Why a link cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LinkRefused {
    /// Not a link signpost sent, changed on the way, or answered with another action.
    #[error("this link is not one signpost sent, or it was changed on the way")]
    NotValid,
    /// Past its expiry; carries the day it expired, in words.
    #[error("this link expired on {0}; a new reminder will bring a fresh one")]
    Expired(String),
    /// Used already; carries when, in words.
    #[error("this link was used already, on {0}")]
    Used(String),
    /// The directory could not read the service or make the change.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// What a person chose on a link's confirmation page.
pub enum Answer {
    /// Everything is still accurate: the entry is confirmed as of today.
    Accurate,
    /// Whether it is taking referrals now; stamped with the server's time.
    Capacity(Capacity),
    /// Temporarily closed, with why and, if known, until when.
    ClosedUntil {
        /// The day it expects to reopen; must be in the future.
        reopens_on: Option<NaiveDate>,
        /// Why it is closed, as callers will be told.
        reason: Text,
    },
    /// Closed for good: the service becomes defunct.
    Closed,
    /// Edit the details: signs the contact in as the organisation's partner.
    Edit,
}

/// What answering did.
pub enum Answered {
    /// The service as the answer left it.
    Changed(Box<Service>),
    /// Edit the details: sign in as the organisation's partner for a short while.
    EditAs(Principal, Uuid),
}

type Signer = hmac::Hmac<sha2::Sha256>;

impl Directory {
    fn may_keep(&self, who: &Principal, organization: Uuid) -> Result<(), DirectoryError> {
        match who.role {
            Role::Admin => Ok(()),
            Role::Partner if who.may_edit(organization) => Ok(()),
            _ => Err(DirectoryError::Forbidden(
                "update contacts are kept by administrators and the organisation's partners".into(),
            )),
        }
    }

    /// An organisation's update contacts (staff only).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_contacts(
        &self,
        organization: Uuid,
        who: &Principal,
    ) -> Result<Vec<UpdateContact>, DirectoryError> {
        self.may_keep(who, organization)?;
        self.store
            .get_organization(organization)
            .await?
            .ok_or_else(|| {
                DirectoryError::NotFound(format!("there is no organisation {organization}"))
            })?;
        Ok(self
            .store
            .update_contacts(Some(organization))
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }

    /// Replaces an organisation's update contacts.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_update_contacts(
        &self,
        organization: Uuid,
        contacts: Vec<ContactInput>,
        who: &Principal,
    ) -> Result<Vec<UpdateContact>, DirectoryError> {
        self.update_contacts(organization, who).await?;
        if contacts.len() > 20 {
            return Err(DirectoryError::field("contacts", "at most 20 contacts"));
        }
        let mut kept: Vec<UpdateContact> = Vec::new();
        for c in contacts {
            let email = c.email.as_str().to_lowercase();
            if kept.iter().all(|k| k.email != email) {
                kept.push(UpdateContact {
                    name: c.name.as_str().to_string(),
                    email,
                });
            }
        }
        self.store
            .set_update_contacts(organization, &kept, now())
            .await?;
        Ok(kept)
    }

    /// Reminders sent, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reminders(&self, limit: u32) -> Result<Vec<Reminder>, DirectoryError> {
        Ok(self.store.reminders(limit).await?)
    }

    async fn link_key(&self) -> anyhow::Result<Vec<u8>> {
        let hex = self
            .store
            .secret("reminder-links", crate::domain::text::random_hex)
            .await?;
        Ok(hex.into_bytes())
    }

    fn sign(key: &[u8], link: &ReminderLink) -> String {
        let mut mac = Signer::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(
            format!(
                "{}|{}|{}|{}",
                link.id.simple(),
                link.service_id,
                link.action,
                crate::storage::ts(&link.expires_at)
            )
            .as_bytes(),
        );
        crate::domain::text::hex(&mac.finalize().into_bytes()[..20])
    }

    /// Runs a reminder cycle if this holder gets the lease; `None` while another
    /// replica runs one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn run_reminders(
        &self,
        mailer: &Mailer,
        settings: &ReminderSettings,
        holder: &str,
    ) -> Result<Option<RunReport>, DirectoryError> {
        let started = now();
        if !self
            .store
            .take_lease(LEASE, holder, started, started + chrono::Duration::hours(2))
            .await?
        {
            return Ok(None);
        }
        let result = self.reminder_cycle(mailer, settings).await;
        self.store.release_lease(LEASE, holder).await?;
        result.map(Some)
    }

    async fn reminder_cycle(
        &self,
        mailer: &Mailer,
        settings: &ReminderSettings,
    ) -> Result<RunReport, DirectoryError> {
        let clock = std::time::Instant::now();
        let at = now();
        let mut report = RunReport::default();
        let mut contacts: BTreeMap<Uuid, Vec<UpdateContact>> = BTreeMap::new();
        for (org, c) in self.store.update_contacts(None).await? {
            contacts.entry(org).or_default().push(c);
        }
        // What needs a look, by organisation and service, in the words of the queue.
        let everything = self.queue_items(&Principal::system("reminders")).await?;
        let mut due: BTreeMap<Uuid, BTreeMap<Uuid, AskedAbout>> = BTreeMap::new();
        for item in everything {
            if !ASKED_KINDS.contains(&item.kind) || !contacts.contains_key(&item.organization_id) {
                continue;
            }
            let reason = match &item.report_kind {
                Some(kind) => format!("a navigator reported a problem: {}", kind.replace('_', " ")),
                None => item.detail.clone(),
            };
            due.entry(item.organization_id)
                .or_default()
                .entry(item.service_id)
                .or_insert_with(|| AskedAbout {
                    service_id: item.service_id,
                    name: item.service_name.clone(),
                    reasons: Vec::new(),
                })
                .reasons
                .push(reason);
        }
        let mut history: BTreeMap<Uuid, Vec<Reminder>> = BTreeMap::new();
        for r in self.store.delivered_reminders().await? {
            history.entry(r.organization_id).or_default().push(r);
        }
        let key = self.link_key().await?;
        report.organizations_due = due.len();
        let mut outgoing = Vec::new();
        for (org, services) in due {
            let past = history.remove(&org).unwrap_or_default();
            if past
                .first()
                .is_some_and(|last| at - last.created_at < settings.min_interval)
            {
                report.too_soon += 1;
                continue;
            }
            let Some(org_record) = self.store.get_organization(org).await? else {
                continue;
            };
            let people = &contacts[&org];
            let services: Vec<AskedAbout> = services.into_values().collect();
            let reminder = Reminder {
                id: Uuid::now_v7(),
                organization_id: org,
                created_at: at,
                state: "pending".into(),
                recipients: people.iter().map(|c| c.email.clone()).collect(),
                services: services.clone(),
                error: None,
                answered_at: None,
            };
            // One set of links per person, so an answer says who gave it.
            let mut links = Vec::new();
            let mut emails = Vec::new();
            for person in people {
                let mut mine = Vec::new();
                for s in &services {
                    for (action, _) in ACTIONS {
                        let link = ReminderLink {
                            id: Uuid::new_v4(),
                            reminder_id: reminder.id,
                            service_id: s.service_id,
                            action: (*action).to_string(),
                            contact: person.email.clone(),
                            expires_at: at + settings.link_valid_for,
                            used_at: None,
                        };
                        let url = format!(
                            "{}/r/{}.{}",
                            settings.public_url.trim_end_matches('/'),
                            link.id.simple(),
                            Self::sign(&key, &link)
                        );
                        mine.push((s.service_id, *action, url));
                        links.push(link);
                    }
                }
                emails.push(compose(
                    person,
                    org_record.content.name.as_str(),
                    &services,
                    &mine,
                    settings,
                ));
            }
            self.store.insert_reminder(&reminder, &links).await?;
            report.services += services.len();
            // Whether this one, if it reaches them, is the Nth unanswered in a row.
            let unanswered = 1 + past.iter().take_while(|r| r.answered_at.is_none()).count();
            outgoing.push((reminder.id, org, emails, unanswered));
        }
        // Sent a few at a time: each message waits on the mail server's replies.
        let mut sending = futures::stream::iter(outgoing)
            .map(|(id, org, emails, unanswered)| async move {
                let mut failure = None;
                for email in &emails {
                    if let Err(e) = mailer.send(email).await {
                        failure = Some(e);
                    }
                }
                (id, org, unanswered, failure)
            })
            .buffer_unordered(SENDING_AT_ONCE);
        while let Some((id, org, unanswered, failure)) = sending.next().await {
            let state = match (&failure, mailer.is_dry_run()) {
                (Some(_), _) => "failed",
                (None, true) => "dry_run",
                (None, false) => "sent",
            };
            self.store
                .set_reminder_state(id, state, failure.as_deref())
                .await?;
            match state {
                "failed" => {
                    report.failed += 1;
                    tracing::warn!(organization = %org, error = failure.as_deref().unwrap_or(""), "a reminder could not be sent");
                    continue;
                }
                "dry_run" => report.written += 1,
                _ => report.sent += 1,
            }
            // Once per unanswered run of reminders: at the Nth.
            if unanswered == settings.escalate_after.max(1) as usize {
                self.store.escalate_reminder(id, at).await?;
                report.escalated += 1;
            }
        }
        report.seconds = clock.elapsed().as_secs_f64();
        for (outcome, n) in [
            ("sent", report.sent),
            ("written", report.written),
            ("failed", report.failed),
        ] {
            metrics::counter!("signpost_reminders_total", "outcome" => outcome).increment(n as u64);
        }
        Ok(report)
    }

    /// Checks a link from an email; nothing changes.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn open_link(&self, token: &str) -> Result<OpenedLink, LinkRefused> {
        let (id, sig) = token.split_once('.').ok_or(LinkRefused::NotValid)?;
        let id = Uuid::parse_str(id).map_err(|_| LinkRefused::NotValid)?;
        let link = self
            .store
            .reminder_link(id)
            .await
            .map_err(DirectoryError::from)?
            .ok_or(LinkRefused::NotValid)?;
        let key = self.link_key().await.map_err(DirectoryError::from)?;
        let expected = Self::sign(&key, &link);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            sig.as_bytes(),
        )) {
            return Err(LinkRefused::NotValid);
        }
        if let Some(used) = link.used_at {
            return Err(LinkRefused::Used(
                used.format("%-d %B %Y at %H:%M").to_string(),
            ));
        }
        if link.expires_at < now() {
            return Err(LinkRefused::Expired(
                link.expires_at.format("%-d %B %Y").to_string(),
            ));
        }
        let service = self.service(link.service_id).await?;
        let action_text = ACTIONS
            .iter()
            .find(|(a, _)| *a == link.action)
            .map_or("Answer", |(_, t)| *t);
        Ok(OpenedLink {
            link,
            service,
            action_text,
        })
    }

    /// Answers a link (the POST from its confirmation page): once only; the change goes
    /// into the audit trail as coming from the contact's link.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn answer_link(&self, token: &str, answer: Answer) -> Result<Answered, LinkRefused> {
        let opened = self.open_link(token).await?;
        let link = &opened.link;
        let org = opened.service.organization.id;
        let who = Principal {
            key_id: format!("reminder-link:{}", link.contact),
            role: Role::Partner,
            organization_id: Some(org),
        };
        let matches = matches!(
            (&answer, link.action.as_str()),
            (Answer::Accurate, "accurate")
                | (Answer::Capacity(_), "capacity")
                | (Answer::ClosedUntil { .. }, "closed_until")
                | (Answer::Closed, "closed")
                | (Answer::Edit, "edit")
        );
        if !matches {
            return Err(LinkRefused::NotValid);
        }
        // Checked before the change, used after it: a change refused as invalid leaves
        // the link working for a corrected answer.
        let id = link.service_id;
        let status = |status, reason, reopens_on| StatusChange {
            status,
            reason,
            reopens_on,
        };
        let changed = match answer {
            Answer::Accurate => self.verify(id, None, &who).await?,
            Answer::Capacity(c) => self.set_capacity(id, None, &who, c).await?,
            Answer::ClosedUntil { reopens_on, reason } => {
                let change = status(ServiceStatus::TemporarilyClosed, Some(reason), reopens_on);
                self.set_status(id, None, &who, change).await?
            }
            Answer::Closed => {
                let change = status(ServiceStatus::Defunct, None, None);
                self.set_status(id, None, &who, change).await?
            }
            Answer::Edit => opened.service.clone(),
        };
        let done = match link.action.as_str() {
            "edit" => Answered::EditAs(who.clone(), id),
            _ => Answered::Changed(Box::new(changed)),
        };
        if !self
            .store
            .use_reminder_link(link, now())
            .await
            .map_err(DirectoryError::from)?
        {
            return Err(LinkRefused::Used("just now".into()));
        }
        Ok(done)
    }
}

/// Reads a capacity answer from the confirmation page's fields.
pub fn capacity_answer(accepting: &str, weeks: Option<u16>) -> Result<Capacity, DirectoryError> {
    let accepting = match accepting {
        "open" => Accepting::Open,
        "waitlist" => Accepting::Waitlist,
        "closed" => Accepting::Closed,
        _ => {
            return Err(DirectoryError::field(
                "accepting",
                "choose open, waiting list or not taking referrals",
            ));
        }
    };
    Ok(Capacity {
        accepting,
        waiting_weeks: weeks.filter(|_| accepting == Accepting::Waitlist),
        places: None,
        updated_at: None,
    })
}

/// One person's email: every service that needs a look, why, and its links.
fn compose(
    person: &UpdateContact,
    organization: &str,
    services: &[AskedAbout],
    links: &[(Uuid, &str, String)],
    settings: &ReminderSettings,
) -> Email {
    let days = settings.link_valid_for.num_days();
    let what = match services.len() {
        1 => "this entry".to_string(),
        n => format!("these {n} entries"),
    };
    let mut text = format!(
        "Hello {},\n\nNHS Talking Therapies wellbeing navigators use signpost to tell people about {organization}'s services. \
         So that nobody is sent to a service that has changed, please check {what} and answer with one click each. \
         Each link opens a page where you confirm; it works once and for {days} days.\n",
        person.name,
    );
    let mut html = format!(
        "<p>Hello {},</p><p>NHS Talking Therapies wellbeing navigators use signpost to tell people about {}'s services. \
         So that nobody is sent to a service that has changed, please check {what} and answer with one click each. \
         Each link opens a page where you confirm; it works once and for {days} days.</p>",
        escape(&person.name),
        escape(organization)
    );
    for s in services {
        text.push_str(&format!("\n{}\n", s.name));
        html.push_str(&format!("<h2>{}</h2><ul>", escape(&s.name)));
        for r in &s.reasons {
            text.push_str(&format!("  - {r}\n"));
            html.push_str(&format!("<li>{}</li>", escape(r)));
        }
        html.push_str("</ul><ul>");
        for (_, action, url) in links.iter().filter(|(id, _, _)| *id == s.service_id) {
            let label = ACTIONS
                .iter()
                .find(|(a, _)| a == action)
                .map_or("", |(_, l)| *l);
            text.push_str(&format!("  {label}: {url}\n"));
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a></li>",
                escape(url),
                escape(label)
            ));
        }
        html.push_str("</ul>");
    }
    text.push_str("\nIf you are not the right person, reply and tell us who is.\n\nsignpost\n");
    html.push_str(
        "<p>If you are not the right person, reply and tell us who is.</p><p>signpost</p>",
    );
    Email {
        to: vec![(person.name.clone(), person.email.clone())],
        subject: format!(
            "Please check {organization}'s entries in the NHS Talking Therapies directory"
        ),
        text,
        html,
    }
}

/// When an opened link expires, for the page.
pub fn expires_text(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}
