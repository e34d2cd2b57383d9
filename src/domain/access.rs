//! Who is calling: API keys, their roles, and what each role may do.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What a key may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Create and edit the services of one organisation; see its part of the review queue.
    Partner,
    /// Read staff-only fields (named contacts, referral instructions); report problems.
    Navigator,
}

impl Role {
    /// The name the API and the database use.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Partner => "partner",
            Role::Navigator => "navigator",
        }
    }

    /// The role with this name, if any.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "partner" => Some(Role::Partner),
            "navigator" => Some(Role::Navigator),
            _ => None,
        }
    }
}

/// An authenticated caller of the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The key's public id (never the secret), or `admin-key` for the configured key.
    pub key_id: String,
    /// What the caller may do, from its key.
    pub role: Role,
    /// For partners: the organisation whose services they keep.
    pub organization_id: Option<Uuid>,
}

impl Principal {
    /// Who made a change, for the audit trail, when no API key did.
    pub fn system(name: &str) -> Self {
        Principal {
            key_id: name.to_string(),
            role: Role::Admin,
            organization_id: None,
        }
    }

    /// May this caller change the services of `organization`?
    pub fn may_edit(&self, organization: Uuid) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Partner => self.organization_id == Some(organization),
            Role::Navigator => false,
        }
    }
}

/// A stored key, without its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// The key's public id, `key_` and 12 hex digits; never the secret.
    pub id: String,
    /// A label the administrator gave it, e.g. who holds it.
    pub name: String,
    /// What the key may do.
    pub role: Role,
    /// For a partner key, the organisation whose services it keeps; null otherwise.
    pub organization_id: Option<Uuid>,
    /// When it was issued (UTC).
    pub created_at: DateTime<Utc>,
    /// When it stops working (UTC); null if it never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// When an administrator revoked it (UTC); null unless revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Why the key cannot be used now, if it cannot.
    pub fn refusal(&self, now: DateTime<Utc>) -> Option<&'static str> {
        if self.revoked_at.is_some() {
            Some("this API key has been revoked")
        } else if self.expires_at.is_some_and(|t| t <= now) {
            Some("this API key has expired")
        } else {
            None
        }
    }
}

/// Keys look like `sp_` and 64 hex digits: 256 random bits.
pub const KEY_PREFIX: &str = "sp_";

/// A new random key and its public id.
pub fn generate_key() -> (String, String) {
    let secret = super::text::random_hex();
    let id = format!("key_{}", &Uuid::now_v7().simple().to_string()[20..]);
    (id, format!("{KEY_PREFIX}{secret}"))
}

/// A key's SHA-256, so keys are compared and stored without keeping the secret.
pub fn key_digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The stored form of a key: its digest, hex.
pub fn hash_key(key: &str) -> String {
    super::text::hex(&key_digest(key))
}

/// True when `key` has the shape of a key this service issues.
pub fn well_formed(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX)
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_well_formed_and_hashed() {
        let (id1, k1) = generate_key();
        let (id2, k2) = generate_key();
        assert_ne!(k1, k2);
        assert_ne!(id1, id2);
        assert!(well_formed(&k1));
        assert!(!well_formed("sp_123"));
        assert_eq!(hash_key(&k1).len(), 64);
        assert_ne!(hash_key(&k1), hash_key(&k2));
    }

    #[test]
    fn partners_edit_only_their_organisation() {
        let org = Uuid::now_v7();
        let p = Principal {
            key_id: "k".into(),
            role: Role::Partner,
            organization_id: Some(org),
        };
        assert!(p.may_edit(org));
        assert!(!p.may_edit(Uuid::now_v7()));
        let n = Principal {
            role: Role::Navigator,
            ..p.clone()
        };
        assert!(!n.may_edit(org));
    }
}
