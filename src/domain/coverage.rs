//! Typed coverage rules: who a service will see, by where they live or where their GP is.

use crate::geo::{Postcode, codes, postcode};
use serde::{Deserialize, Serialize};

/// One rule, e.g. "lives in district M14" or "registered with a practice in sub-ICB 14L".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRule", into = "RawRule")]
pub enum CoverageRule {
    /// Anyone in the UK.
    National,
    /// Residents of a postcode area, e.g. `M`.
    Area(String),
    /// Residents of a postcode district, e.g. `M14`; a sub-district such as `EC1A` is also a district rule.
    District(String),
    /// Residents of a postcode sector, e.g. `M14 5`.
    Sector(String),
    /// Residents of one postcode, e.g. `M14 5AB`.
    Unit(String),
    /// Residents of a local authority district, by ONS code.
    LocalAuthority(String),
    /// Patients registered with one GP practice, by ODS code.
    GpPractice(String),
    /// Patients registered with a practice in a Primary Care Network.
    Pcn(String),
    /// Patients registered with a practice in a sub-ICB location.
    SubIcb(String),
    /// Patients registered with a practice in an integrated care board.
    Icb(String),
}

/// The kinds of rule, as the API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleType {
    /// Anyone in the UK; takes no value.
    National,
    /// Residents of a postcode area, e.g. `M`.
    Area,
    /// Residents of a postcode district, e.g. `M14`, or sub-district, e.g. `EC1A`.
    District,
    /// Residents of a postcode sector, e.g. `M14 5`.
    Sector,
    /// Residents of one full postcode, e.g. `M14 5AB`.
    Unit,
    /// Residents of a local authority district, by ONS code, e.g. `E08000003`.
    LocalAuthority,
    /// Patients of one GP practice, by ODS code, e.g. `P84001`.
    GpPractice,
    /// Patients of a practice in a Primary Care Network, by ODS code, e.g. `U49529`.
    Pcn,
    /// Patients of a practice in a sub-ICB location, by ODS (`14L`) or ONS code (`E38…`).
    SubIcb,
    /// Patients of a practice in an ICB, by ODS code (`QOP`) or ONS code (`E54…`).
    Icb,
}

/// The wire shape of a rule: `{"type": "district", "value": "M14"}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CoverageRule)]
pub struct RawRule {
    /// Which kind of rule, sent as `type`; decides what `value` must be.
    #[serde(rename = "type")]
    pub kind: RuleType,
    /// M (area), M14 or EC1A (district), M14 5 (sector), M14 5AB (unit), E08000003 (local
    /// authority), P84001 (GP practice), U49529 (PCN), 14L (sub-ICB), QOP (ICB). Omitted
    /// for national.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A rule is described by its wire shape.
impl utoipa::PartialSchema for CoverageRule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <RawRule as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for CoverageRule {
    fn name() -> std::borrow::Cow<'static, str> {
        <RawRule as utoipa::ToSchema>::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <RawRule as utoipa::ToSchema>::schemas(schemas)
    }
}

impl TryFrom<RawRule> for CoverageRule {
    type Error = String;

    fn try_from(raw: RawRule) -> Result<Self, String> {
        let value = match (raw.kind, raw.value) {
            (RuleType::National, None) => return Ok(CoverageRule::National),
            (RuleType::National, Some(_)) => {
                return Err("a 'national' rule takes no value".into());
            }
            (_, None) => return Err("this rule type needs a 'value'".into()),
            (_, Some(v)) => v,
        };
        Ok(match raw.kind {
            RuleType::National => unreachable!("handled above"),
            RuleType::Area => CoverageRule::Area(postcode::parse_area(&value)?),
            RuleType::District => CoverageRule::District(postcode::parse_district(&value)?),
            RuleType::Sector => CoverageRule::Sector(postcode::parse_sector(&value)?),
            RuleType::Unit => CoverageRule::Unit(Postcode::parse(&value)?.to_string()),
            RuleType::LocalAuthority => {
                CoverageRule::LocalAuthority(codes::parse_local_authority(&value)?)
            }
            RuleType::GpPractice => CoverageRule::GpPractice(codes::parse_gp_practice(&value)?),
            RuleType::Pcn => CoverageRule::Pcn(codes::parse_pcn(&value)?),
            RuleType::SubIcb => CoverageRule::SubIcb(codes::parse_sub_icb(&value)?),
            RuleType::Icb => CoverageRule::Icb(codes::parse_icb(&value)?),
        })
    }
}

impl From<CoverageRule> for RawRule {
    fn from(rule: CoverageRule) -> RawRule {
        let (kind, value) = match rule {
            CoverageRule::National => (RuleType::National, None),
            CoverageRule::Area(v) => (RuleType::Area, Some(v)),
            CoverageRule::District(v) => (RuleType::District, Some(v)),
            CoverageRule::Sector(v) => (RuleType::Sector, Some(v)),
            CoverageRule::Unit(v) => (RuleType::Unit, Some(v)),
            CoverageRule::LocalAuthority(v) => (RuleType::LocalAuthority, Some(v)),
            CoverageRule::GpPractice(v) => (RuleType::GpPractice, Some(v)),
            CoverageRule::Pcn(v) => (RuleType::Pcn, Some(v)),
            CoverageRule::SubIcb(v) => (RuleType::SubIcb, Some(v)),
            CoverageRule::Icb(v) => (RuleType::Icb, Some(v)),
        };
        RawRule { kind, value }
    }
}

/// Who a service covers: it sees a person matched by any `include` rule and by no
/// `exclude` rule. No include rules means the service has not said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Rules a person must match at least one of; empty means the service has not said.
    #[serde(default)]
    pub include: Vec<CoverageRule>,
    /// Rules that leave a person out even when an include rule matches; `national` is refused.
    #[serde(default)]
    pub exclude: Vec<CoverageRule>,
}

impl Coverage {
    /// Rules that parse one by one but make no sense together.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, r) in self.exclude.iter().enumerate() {
            if *r == CoverageRule::National {
                out.push((
                    format!("coverage.exclude[{i}]"),
                    "'national' cannot be excluded; retire the service instead".into(),
                ));
            }
            if self.include.contains(r) {
                out.push((
                    format!("coverage.exclude[{i}]"),
                    "the same rule is both included and excluded".into(),
                ));
            }
        }
        if self.include.len() + self.exclude.len() > 2000 {
            out.push(("coverage".into(), "at most 2000 rules in all".into()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> Result<CoverageRule, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn rules_parse_and_normalise() {
        assert_eq!(
            rule(r#"{"type":"district","value":"m14"}"#).unwrap(),
            CoverageRule::District("M14".into())
        );
        assert_eq!(
            rule(r#"{"type":"unit","value":"m145ab"}"#).unwrap(),
            CoverageRule::Unit("M14 5AB".into())
        );
        assert!(rule(r#"{"type":"national"}"#).is_ok());
        assert!(rule(r#"{"type":"national","value":"x"}"#).is_err());
        assert!(rule(r#"{"type":"district"}"#).is_err());
        assert!(rule(r#"{"type":"gp_practice","value":"nope"}"#).is_err());
        assert!(rule(r#"{"type":"planet","value":"earth"}"#).is_err());
    }

    #[test]
    fn round_trips() {
        let r = CoverageRule::SubIcb("14L".into());
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(j, r#"{"type":"sub_icb","value":"14L"}"#);
        assert_eq!(rule(&j).unwrap(), r);
    }
}
