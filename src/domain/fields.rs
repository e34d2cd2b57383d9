//! Field types that cannot hold a bad value: each parses from a string or refuses with
//! a message that says what would be valid.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

/// A string schema for the API description, which each field type narrows.
fn string_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// One line, not blank, no control characters (the rule `bounded` and `Name` apply).
const ONE_LINE: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";
/// Not blank, no control characters but line breaks and tabs.
const LINES: &str = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$";
/// What `WebUrl` accepts: http or https with a host.
pub const URL_PATTERN: &str = r"^https?://[^\s/?#]+";
/// What `Email` accepts, as a pattern.
const EMAIL_PATTERN: &str = r"^[^@\s]+@[^\s@.]+(\.[^\s@.]+)+$";
/// What `Phone` accepts, as a pattern.
const PHONE_PATTERN: &str = r"^\s*[\s\-()]*(0[\s\-()]*([0-9][\s\-()]*){9,10}|\+44[\s\-()]*([0-9][\s\-()]*){9,10}|1[\s\-()]*([0-9][\s\-()]*){2}|1[\s\-()]*([0-9][\s\-()]*){5})$";

macro_rules! string_type {
    ($(#[$doc:meta])* $name:ident, $parse:expr, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses and normalises the value.
            pub fn parse(raw: &str) -> Result<Self, String> {
                let f: fn(&str) -> Result<String, String> = $parse;
                f(raw).map(Self)
            }

            /// The normalised value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let schema: fn() -> ObjectBuilder = $schema;
                schema().build().into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn bounded(raw: &str, what: &str, max: usize) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if t.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters"));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!("{what} must not contain control characters"));
    }
    Ok(t.to_string())
}

string_type!(
    /// A name: not empty, at most 200 characters, one line.
    Name,
    |raw| {
        let t = bounded(raw, "a name", 200)?;
        if t.contains('\n') {
            return Err("a name must be on one line".into());
        }
        Ok(t)
    },
    || string_schema().min_length(Some(1)).max_length(Some(200)).pattern(Some(ONE_LINE)).description(Some("Not blank, one line, no control characters."))
);

string_type!(
    /// Free text such as a description: not empty, at most 10,000 characters.
    Text,
    |raw| bounded(raw, "the text", 10_000),
    || string_schema().min_length(Some(1)).max_length(Some(10_000)).pattern(Some(LINES)).description(Some("Not blank, no control characters but line breaks and tabs."))
);

string_type!(
    /// A short label such as a keyword or a phone's description: at most 100 characters.
    Label,
    |raw| bounded(raw, "the label", 100),
    || string_schema().max_length(Some(100)).pattern(Some(LINES))
);

string_type!(
    /// An absolute `http` or `https` URL with a host.
    WebUrl,
    |raw| {
        let t = raw.trim();
        if t.len() > 2000 {
            return Err("a URL must be at most 2000 characters".into());
        }
        let u = url::Url::parse(t).map_err(|e| {
            format!("'{t}' is not a valid URL ({e}): use a full address such as 'https://example.org/page'")
        })?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(format!("'{t}' must start with http:// or https://"));
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err(format!("'{t}' has no host name"));
        }
        Ok(u.to_string())
    },
    || string_schema().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uri))).max_length(Some(2000)).pattern(Some(URL_PATTERN)).description(Some("http or https, with a host."))
);

string_type!(
    /// An email address: one `@`, a local part, and a domain with a dot.
    Email,
    |raw| {
        let t = raw.trim();
        let bad = || format!("'{t}' is not a valid email address: use the form name@example.org");
        if t.len() > 254 || t.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = t.split_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.contains('@') || !domain_ok {
            return Err(bad());
        }
        Ok(t.to_string())
    },
    || string_schema().format(Some(SchemaFormat::KnownFormat(KnownFormat::Email))).max_length(Some(254)).pattern(Some(EMAIL_PATTERN))
);

string_type!(
    /// A UK phone number as people dial it: 10 or 11 digits starting 0 (or +44), or a
    /// short number such as 111 or 116 123. Spacing is kept as written.
    Phone,
    |raw| {
        let t = raw.trim();
        let bad = || {
            format!(
                "'{t}' is not a UK phone number: use 10 or 11 digits starting with 0 or +44 (e.g. 0161 234 5678), or a short number such as 116 123"
            )
        };
        if t.is_empty() || t.len() > 30 {
            return Err(bad());
        }
        let allowed = |c: char| c.is_ascii_digit() || " -()+".contains(c);
        if !t.chars().all(allowed) || t[1..].contains('+') {
            return Err(bad());
        }
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        let national = match digits.strip_prefix("44") {
            Some(rest) if t.starts_with('+') => format!("0{rest}"),
            _ if t.starts_with('+') => return Err(bad()),
            _ => digits,
        };
        let long = national.starts_with('0') && matches!(national.len(), 10 | 11);
        let short = national.starts_with('1') && matches!(national.len(), 3 | 6);
        if long || short { Ok(t.to_string()) } else { Err(bad()) }
    },
    || string_schema().pattern(Some(PHONE_PATTERN)).description(Some("UK number: 10 or 11 digits from 0 or +44, or 111 / 116 123 style short numbers (spaces, brackets and dashes are accepted between digits too)."))
);

string_type!(
    /// A language as an ISO 639 code, e.g. `en`, `ur`, `pl`.
    Language,
    |raw| {
        let t = raw.trim().to_ascii_lowercase();
        if matches!(t.len(), 2 | 3) && t.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(t)
        } else {
            Err(format!(
                "'{}' is not a language code: use the ISO 639 code, such as 'en', 'ur' or 'pl'",
                raw.trim()
            ))
        }
    },
    || string_schema().pattern(Some(r"^\s*[A-Za-z]{2,3}\s*$")).description(Some("ISO 639 code: en, ur, pl…"))
);

string_type!(
    /// A category from the seeded taxonomy.
    CategoryId,
    |raw| {
        let t = raw.trim().to_ascii_lowercase();
        match super::taxonomy::find(&t) {
            Some(c) => Ok(c.id.to_string()),
            None => Err(format!(
                "'{}' is not a category: use one of {} (GET /v1/taxonomy lists them)",
                raw.trim(),
                super::taxonomy::CATEGORIES
                    .iter()
                    .map(|c| c.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    },
    || string_schema().description(Some("A taxonomy id from GET /v1/taxonomy.")).enum_values(Some(super::taxonomy::CATEGORIES.iter().map(|c| c.id)))
);

string_type!(
    /// A time of day as `HH:MM` (24-hour clock).
    ClockTime,
    |raw| {
        let t = raw.trim();
        match chrono::NaiveTime::parse_from_str(t, "%H:%M") {
            Ok(v) => Ok(v.format("%H:%M").to_string()),
            Err(_) => Err(format!("'{t}' is not a time: use HH:MM on the 24-hour clock, such as 09:30")),
        }
    },
    || string_schema().pattern(Some(r"^\s*([01][0-9]|2[0-3]):[0-5][0-9]\s*$")).examples(["09:00"])
);

string_type!(
    /// A UK postcode, stored normalised (`M14 5AB`).
    PostalCode,
    |raw| crate::geo::Postcode::parse(raw).map(|p| p.to_string()),
    || string_schema().pattern(Some(crate::geo::postcode::PATTERN)).description(Some("A full UK postcode, e.g. M14 5AB."))
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        for ok in [
            "0161 234 5678",
            "+44 161 234 5678",
            "116 123",
            "111",
            "(0161) 234-5678",
            "07700 900123",
        ] {
            assert!(Phone::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "12345",
            "abc",
            "0161 234",
            "+1 555 123 4567",
            "01612345678901",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_and_emails() {
        assert!(WebUrl::parse("https://example.org/x").is_ok());
        assert!(WebUrl::parse("ftp://example.org").is_err());
        assert!(WebUrl::parse("example.org").is_err());
        assert!(Email::parse("help@example.org").is_ok());
        assert!(Email::parse("help@example").is_err());
        assert!(Email::parse("a b@example.org").is_err());
    }

    #[test]
    fn names_and_categories() {
        assert!(Name::parse("   ").is_err());
        assert_eq!(Name::parse(" Age UK ").unwrap().as_str(), "Age UK");
        assert!(CategoryId::parse("Debt").is_ok());
        assert!(
            CategoryId::parse("astrology")
                .unwrap_err()
                .contains("bereavement")
        );
        assert_eq!(ClockTime::parse("9:05").unwrap().as_str(), "09:05");
    }
}
