//! Keeping an entry current in a click or two: capacity, status (a temporary closure
//! with its reason and reopening date), and "still accurate".

use super::{Directory, DirectoryError, now};
use crate::domain::access::Principal;
use crate::domain::fields::Text;
use crate::domain::{
    Capacity, Service, ServiceContent, ServiceStatus, TemporaryClosure, merge_patch,
};
use chrono::NaiveDate;
use uuid::Uuid;

/// A change of status as a partner states it.
#[derive(Debug, Clone)]
pub struct StatusChange {
    /// The new status; `temporarily_closed` needs `reason`.
    pub status: ServiceStatus,
    /// Why it is closed; required for a temporary closure.
    pub reason: Option<Text>,
    /// When it reopens, if known; only for a temporary closure, and in the future.
    pub reopens_on: Option<NaiveDate>,
}

impl StatusChange {
    /// The closure this change describes, or why it cannot be made.
    fn closure(&self) -> Result<Option<TemporaryClosure>, DirectoryError> {
        let closure = match (self.status, &self.reason) {
            (ServiceStatus::TemporarilyClosed, Some(reason)) => Some(TemporaryClosure {
                reason: reason.clone(),
                reopens_on: self.reopens_on,
            }),
            (ServiceStatus::TemporarilyClosed, None) => {
                return Err(DirectoryError::field(
                    "reason",
                    "say why the service is closed, e.g. \"staff shortage\"; add reopens_on if known",
                ));
            }
            (_, _) if self.reopens_on.is_some() => {
                return Err(DirectoryError::field(
                    "reopens_on",
                    "only a temporarily_closed service has a reopening date",
                ));
            }
            _ => None,
        };
        if let Some(date) = closure.as_ref().and_then(|c| c.reopens_on)
            && date <= now().date_naive()
        {
            return Err(DirectoryError::field(
                "reopens_on",
                format!("{date} is not in the future; to reopen now, set status to active"),
            ));
        }
        Ok(closure)
    }
}

/// Fields a merge patch may not touch: the server keeps them.
const SERVER_FIELDS: &[&str] = &[
    "id",
    "organization_id",
    "organization",
    "version",
    "created_at",
    "last_modified",
];

impl Directory {
    /// Changes the fields a JSON merge patch (RFC 7396) names; the result is checked as a
    /// whole service. `expected` is the version the editor saw (a conflict otherwise).
    #[tracing::instrument(name = "directory.patch_service", skip_all, fields(service = %id))]
    pub async fn patch_service(
        &self,
        id: Uuid,
        expected: Option<i64>,
        actor: &Principal,
        patch: &serde_json::Value,
    ) -> Result<Service, DirectoryError> {
        for key in SERVER_FIELDS {
            if patch.get(key).is_some() {
                return Err(DirectoryError::field(
                    *key,
                    format!("'{key}' cannot be changed with PATCH"),
                ));
            }
        }
        let patch = patch.clone();
        self.edit_service(id, expected, actor, "update", move |current| {
            let mut merged =
                serde_json::to_value(&current.content).unwrap_or(serde_json::Value::Null);
            merge_patch(&mut merged, &patch);
            serde_path_to_error::deserialize::<_, ServiceContent>(merged).map_err(|e| {
                let path = e.path().to_string();
                DirectoryError::field(
                    if path == "." { "body".into() } else { path },
                    e.into_inner().to_string(),
                )
            })
        })
        .await
    }

    /// Taking referrals, waiting time, places; stamped with the server's time, so saying
    /// it again today makes it fresh. `expected` is the version the editor saw.
    #[tracing::instrument(name = "directory.set_capacity", skip_all, fields(service = %id))]
    pub async fn set_capacity(
        &self,
        id: Uuid,
        expected: Option<i64>,
        actor: &Principal,
        mut capacity: Capacity,
    ) -> Result<Service, DirectoryError> {
        capacity.updated_at = Some(now());
        self.edit_service(id, expected, actor, "capacity", move |s| {
            let mut c = s.content.clone();
            c.capacity = Some(capacity.clone());
            Ok(c)
        })
        .await
    }

    /// Open, temporarily closed (why, and until when), inactive or closed for good.
    #[tracing::instrument(name = "directory.set_status", skip_all, fields(service = %id))]
    pub async fn set_status(
        &self,
        id: Uuid,
        expected: Option<i64>,
        actor: &Principal,
        change: StatusChange,
    ) -> Result<Service, DirectoryError> {
        let closure = change.closure()?;
        self.edit_service(id, expected, actor, "status", move |s| {
            let mut c = s.content.clone();
            c.status = change.status;
            c.temporary_closure = closure.clone();
            Ok(c)
        })
        .await
    }

    /// "Still accurate": the entry is confirmed as of today.
    #[tracing::instrument(name = "directory.verify", skip_all, fields(service = %id))]
    pub async fn verify(
        &self,
        id: Uuid,
        expected: Option<i64>,
        actor: &Principal,
    ) -> Result<Service, DirectoryError> {
        let today = now().date_naive();
        self.edit_service(id, expected, actor, "verify", move |s| {
            let mut c = s.content.clone();
            c.assured_date = Some(today);
            Ok(c)
        })
        .await
    }
}
