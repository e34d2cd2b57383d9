//! Update contacts, the reminders sent to them, the one-click links in those reminders,
//! and the server's secrets.

use super::on_pool;
use super::{Backend, Store, parse_ts, parse_uuid, ts};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

/// Someone who keeps an organisation's entries current (staff only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdateContact {
    /// The person's name, as reminders greet them.
    pub name: String,
    /// Where their reminders go.
    pub email: String,
}

/// A service a reminder asks about, and why.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AskedAbout {
    /// The service asked about.
    pub service_id: Uuid,
    /// Its name when the reminder was made.
    pub name: String,
    /// Why it needs a look, one sentence each, e.g. "never confirmed as accurate".
    pub reasons: Vec<String>,
}

/// A reminder as kept.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reminder {
    /// The reminder's UUID.
    pub id: Uuid,
    /// The organisation reminded.
    pub organization_id: Uuid,
    /// When the run made it (UTC).
    pub created_at: DateTime<Utc>,
    /// `sent`, `failed` (retried next run) or `dry_run` (written to a folder).
    pub state: String,
    /// The email addresses of the update contacts it went to.
    pub recipients: Vec<String>,
    /// Each service it asked about, and why.
    pub services: Vec<AskedAbout>,
    /// Why it could not be sent, when `state` is `failed`.
    pub error: Option<String>,
    /// When the first of its links was used; null while unanswered.
    pub answered_at: Option<DateTime<Utc>>,
}

/// A one-click link as kept.
#[derive(Debug, Clone)]
pub struct ReminderLink {
    /// The link's random UUID (v4); its URL carries it with a signature.
    pub id: Uuid,
    /// The reminder it was sent in.
    pub reminder_id: Uuid,
    /// The service it answers for.
    pub service_id: Uuid,
    /// What it does: accurate, capacity, closed_until, closed or edit.
    pub action: String,
    /// The email address it was sent to, so an answer says who gave it.
    pub contact: String,
    /// When it stops working (UTC).
    pub expires_at: DateTime<Utc>,
    /// When it was used; None until then, as a link works once.
    pub used_at: Option<DateTime<Utc>>,
}

fn reminder_from_row<R: Row>(r: &R) -> anyhow::Result<Reminder>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Reminder {
        id: parse_uuid(&r.try_get::<String, _>(0)?)?,
        organization_id: parse_uuid(&r.try_get::<String, _>(1)?)?,
        created_at: parse_ts(&r.try_get::<String, _>(2)?)?,
        state: r.try_get(3)?,
        recipients: serde_json::from_str(&r.try_get::<String, _>(4)?)?,
        services: serde_json::from_str(&r.try_get::<String, _>(5)?)?,
        error: r.try_get(6)?,
        answered_at: r
            .try_get::<Option<String>, _>(7)?
            .as_deref()
            .map(parse_ts)
            .transpose()?,
    })
}

const REMINDER_SELECT: &str = "SELECT id, organization_id, created_at, state, recipients, services, error, answered_at FROM reminders";

impl Store {
    /// Replaces an organisation's update contacts.
    pub async fn set_update_contacts(
        &self,
        organization_id: Uuid,
        contacts: &[UpdateContact],
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        on_pool!(self, write, pool => {
            let mut tx = pool.begin().await.context("starting a transaction")?;
            sqlx::query("DELETE FROM update_contacts WHERE organization_id = $1")
                .bind(organization_id.to_string())
                .execute(&mut *tx)
                .await
                .context("clearing update contacts")?;
            if !contacts.is_empty() {
                let mut q = QueryBuilder::new(
                    "INSERT INTO update_contacts (organization_id, email, name, added_at) ",
                );
                q.push_values(contacts, |mut b, c| {
                    b.push_bind(organization_id.to_string())
                        .push_bind(c.email.clone())
                        .push_bind(c.name.clone())
                        .push_bind(ts(&at));
                });
                q.build().execute(&mut *tx).await.context("writing update contacts")?;
            }
            tx.commit().await.context("committing")?;
        });
        Ok(())
    }

    /// Every organisation's update contacts, by organisation (`None`: all of them).
    pub async fn update_contacts(
        &self,
        organization_id: Option<Uuid>,
    ) -> anyhow::Result<Vec<(Uuid, UpdateContact)>> {
        on_pool!(self, read, pool => {
            let mut q = QueryBuilder::new("SELECT organization_id, name, email FROM update_contacts");
            if let Some(o) = organization_id {
                q.push(" WHERE organization_id = ").push_bind(o.to_string());
            }
            q.push(" ORDER BY organization_id, email");
            let rows = q.build().fetch_all(pool).await.context("reading update contacts")?;
            rows.iter()
                .map(|r| {
                    Ok((
                        parse_uuid(&r.try_get::<String, _>(0)?)?,
                        UpdateContact { name: r.try_get(1)?, email: r.try_get(2)? },
                    ))
                })
                .collect()
        })
    }

    /// Keeps a reminder and its links in one transaction.
    pub async fn insert_reminder(
        &self,
        reminder: &Reminder,
        links: &[ReminderLink],
    ) -> anyhow::Result<()> {
        on_pool!(self, write, pool => {
            let mut tx = pool.begin().await.context("starting a transaction")?;
            sqlx::query(
                "INSERT INTO reminders (id, organization_id, created_at, state, recipients, services, error) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(reminder.id.to_string())
            .bind(reminder.organization_id.to_string())
            .bind(ts(&reminder.created_at))
            .bind(&reminder.state)
            .bind(serde_json::to_string(&reminder.recipients)?)
            .bind(serde_json::to_string(&reminder.services)?)
            .bind(&reminder.error)
            .execute(&mut *tx)
            .await
            .context("keeping a reminder")?;
            for chunk in links.chunks(500) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO reminder_links (id, reminder_id, service_id, action, contact, expires_at) ",
                );
                q.push_values(chunk, |mut b, l| {
                    b.push_bind(l.id.to_string())
                        .push_bind(l.reminder_id.to_string())
                        .push_bind(l.service_id.to_string())
                        .push_bind(l.action.clone())
                        .push_bind(l.contact.clone())
                        .push_bind(ts(&l.expires_at));
                });
                q.build().execute(&mut *tx).await.context("keeping reminder links")?;
            }
            tx.commit().await.context("committing")?;
        });
        Ok(())
    }

    /// Says how sending a kept reminder went.
    pub async fn set_reminder_state(
        &self,
        id: Uuid,
        state: &str,
        error: Option<&str>,
    ) -> anyhow::Result<()> {
        on_pool!(self, write, pool => {
            sqlx::query("UPDATE reminders SET state = $2, error = $3 WHERE id = $1")
                .bind(id.to_string())
                .bind(state)
                .bind(error)
                .execute(pool)
                .await
                .context("recording a reminder's delivery")?;
        });
        Ok(())
    }

    /// Marks a reminder as the one that asked the administrators to step in.
    pub async fn escalate_reminder(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()> {
        on_pool!(self, write, pool => {
            sqlx::query("UPDATE reminders SET escalated_at = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(ts(&at))
                .execute(pool)
                .await
                .context("escalating a reminder")?;
        });
        Ok(())
    }

    /// Escalated reminders that neither they nor a later reminder to the organisation
    /// got an answer to.
    pub async fn escalated_reminders(&self) -> anyhow::Result<Vec<Reminder>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(&format!(
                "{REMINDER_SELECT} r WHERE escalated_at IS NOT NULL AND answered_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM reminders later WHERE later.organization_id = r.organization_id \
                 AND later.answered_at IS NOT NULL AND later.created_at >= r.created_at) ORDER BY created_at"
            ))
            .fetch_all(pool)
            .await
            .context("reading escalated reminders")?;
            rows.iter().map(reminder_from_row).collect()
        })
    }

    /// Reminders, newest first, at most `limit`.
    pub async fn reminders(&self, limit: u32) -> anyhow::Result<Vec<Reminder>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(&format!("{REMINDER_SELECT} ORDER BY created_at DESC LIMIT $1"))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .context("reading reminders")?;
            rows.iter().map(reminder_from_row).collect()
        })
    }

    /// Each organisation's reminders that reached it (sent or written in a dry run),
    /// newest first.
    pub async fn delivered_reminders(&self) -> anyhow::Result<Vec<Reminder>> {
        on_pool!(self, read, pool => {
            let rows = sqlx::query(&format!(
                "{REMINDER_SELECT} WHERE state IN ('sent', 'dry_run') ORDER BY organization_id, created_at DESC"
            ))
            .fetch_all(pool)
            .await
            .context("reading reminders")?;
            rows.iter().map(reminder_from_row).collect()
        })
    }

    /// A reminder link by id, if it exists.
    pub async fn reminder_link(&self, id: Uuid) -> anyhow::Result<Option<ReminderLink>> {
        on_pool!(self, read, pool => {
            let row = sqlx::query(
                "SELECT id, reminder_id, service_id, action, contact, expires_at, used_at FROM reminder_links WHERE id = $1",
            )
            .bind(id.to_string())
            .fetch_optional(pool)
            .await
            .context("reading a reminder link")?;
            row.map(|r| {
                Ok(ReminderLink {
                    id: parse_uuid(&r.try_get::<String, _>(0)?)?,
                    reminder_id: parse_uuid(&r.try_get::<String, _>(1)?)?,
                    service_id: parse_uuid(&r.try_get::<String, _>(2)?)?,
                    action: r.try_get(3)?,
                    contact: r.try_get(4)?,
                    expires_at: parse_ts(&r.try_get::<String, _>(5)?)?,
                    used_at: r.try_get::<Option<String>, _>(6)?.as_deref().map(parse_ts).transpose()?,
                })
            })
            .transpose()
        })
    }

    /// Uses a link once: false when it was used already (by a click racing this one).
    /// The reminder counts as answered.
    pub async fn use_reminder_link(
        &self,
        link: &ReminderLink,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        on_pool!(self, write, pool => {
            let mut tx = pool.begin().await.context("starting a transaction")?;
            let done = sqlx::query("UPDATE reminder_links SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
                .bind(link.id.to_string())
                .bind(ts(&at))
                .execute(&mut *tx)
                .await
                .context("using a reminder link")?
                .rows_affected() == 1;
            sqlx::query("UPDATE reminders SET answered_at = $2 WHERE id = $1 AND answered_at IS NULL")
                .bind(link.reminder_id.to_string())
                .bind(ts(&at))
                .execute(&mut *tx)
                .await
                .context("answering a reminder")?;
            tx.commit().await.context("committing")?;
            Ok(done)
        })
    }

    /// The secret called `name`, made from `make` the first time (the first replica to
    /// store it wins; the others read it).
    pub async fn secret(
        &self,
        name: &str,
        make: impl FnOnce() -> String,
    ) -> anyhow::Result<String> {
        on_pool!(self, write, pool => {
            sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(make())
                .execute(pool)
                .await
                .context("keeping a secret")?;
            let value: String = sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await
                .context("reading a secret")?;
            Ok(value)
        })
    }
}
