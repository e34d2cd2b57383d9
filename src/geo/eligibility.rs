//! Can this service see this caller? Coverage rules checked against where the caller
//! lives and where they are registered with a GP, plus age and gender, with a reason a
//! navigator can read out.
//!
//! Postcodes are compared by their parsed parts, never by string prefix: a `district`
//! rule `M1` covers `M1 1AD` but not `M11 1AA`. A district rule without a sub-district
//! letter (`EC1`) covers the whole district, sub-districts included (`EC1A 1BB`); a rule
//! with one (`EC1A`) covers only that sub-district.
//!
//! The search index answers "which services could see this caller" with the same logic:
//! each rule is indexed as a [`rule_token`], a caller meets the rules whose tokens are in
//! [`Caller::tokens`], and rules of a kind the caller cannot be checked against
//! ([`Caller::why_unknown`]) make the answer `unknown`.

use super::Postcode;
use super::reference::PracticeStatus;
use crate::domain::coverage::{Coverage, CoverageRule};
use crate::domain::service::Gender;
use serde::Serialize;

/// What ONSPD says of a postcode.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostcodeInfo {
    /// Its centre as (latitude, longitude) in degrees; None without a grid reference.
    pub location: Option<(f64, f64)>,
    /// ONS code of its local authority district, e.g. `E08000003`.
    pub local_authority: Option<String>,
    /// ONS code (E38…).
    pub sub_icb: Option<String>,
    /// ONS code (E54…).
    pub icb: Option<String>,
    /// `YYYYMM` when the postcode was terminated.
    pub terminated: Option<String>,
}

/// A GP practice and the groupings it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PracticeInfo {
    /// ODS practice code, e.g. `P84004`.
    pub code: String,
    /// The practice's name as ODS publishes it, usually in capitals.
    pub name: String,
    /// The practice's postcode.
    pub postcode: String,
    // Not `///`: utoipa would put a field description beside the inlined enum in an
    // `allOf` with an object schema, which no string matches; it skips `concat!` docs.
    #[doc = concat!("Whether the practice is open, as ODS records it.")]
    #[serde(serialize_with = "status_str")]
    #[schema(inline)]
    pub status: PracticeStatus,
    /// ODS code of its Primary Care Network, e.g. `U49529`; null when it is in none.
    pub pcn: Option<String>,
    /// The network's name as ePCN gives it.
    pub pcn_name: Option<String>,
    /// ODS code, e.g. `14L`.
    pub sub_icb: Option<String>,
    /// ONS codes of the same sub-ICB location (E38…).
    pub sub_icb_ons: Vec<String>,
    /// ODS code, e.g. `QOP`.
    pub icb: Option<String>,
    /// ONS code (E54…), where the practice's postcode is known.
    pub icb_ons: Option<String>,
}

fn status_str<S: serde::Serializer>(s: &PracticeStatus, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

/// What is known of the person being helped.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// Where the person lives, if given.
    pub postcode: Option<Postcode>,
    /// What ONSPD says of that postcode; None when not given or not in the loaded data.
    pub postcode_info: Option<PostcodeInfo>,
    /// The GP practice code as given (validated).
    pub gp: Option<String>,
    /// The practice, when the reference data knows it.
    pub practice: Option<PracticeInfo>,
    /// The person's age in years, if given.
    pub age: Option<u8>,
    /// The person's gender, if given.
    pub gender: Option<Gender>,
}

/// Every rule kind as the index names it. ONS-coded sub-ICB and ICB rules are kinds of
/// their own, as checking them needs other reference data than ODS-coded ones.
pub const RULE_KINDS: &[&str] = &[
    "national",
    "area",
    "district",
    "sector",
    "unit",
    "local_authority",
    "gp_practice",
    "pcn",
    "sub_icb",
    "sub_icb_ons",
    "icb",
    "icb_ons",
];

/// The kind a rule is checked as.
pub fn rule_kind(rule: &CoverageRule) -> &'static str {
    match rule {
        CoverageRule::National => "national",
        CoverageRule::Area(_) => "area",
        CoverageRule::District(_) => "district",
        CoverageRule::Sector(_) => "sector",
        CoverageRule::Unit(_) => "unit",
        CoverageRule::LocalAuthority(_) => "local_authority",
        CoverageRule::GpPractice(_) => "gp_practice",
        CoverageRule::Pcn(_) => "pcn",
        CoverageRule::SubIcb(v) if v.starts_with("E38") => "sub_icb_ons",
        CoverageRule::SubIcb(_) => "sub_icb",
        CoverageRule::Icb(v) if v.starts_with("E54") => "icb_ons",
        CoverageRule::Icb(_) => "icb",
    }
}

fn rule_value(rule: &CoverageRule) -> &str {
    match rule {
        CoverageRule::National => "",
        CoverageRule::Area(v)
        | CoverageRule::District(v)
        | CoverageRule::Sector(v)
        | CoverageRule::Unit(v)
        | CoverageRule::LocalAuthority(v)
        | CoverageRule::GpPractice(v)
        | CoverageRule::Pcn(v)
        | CoverageRule::SubIcb(v)
        | CoverageRule::Icb(v) => v,
    }
}

/// The index token of a rule, e.g. `district:M14`, `sub_icb:14L`, `national:`.
pub fn rule_token(rule: &CoverageRule) -> String {
    let kind = match rule_kind(rule) {
        "sub_icb_ons" => "sub_icb",
        "icb_ons" => "icb",
        k => k,
    };
    format!("{kind}:{}", rule_value(rule))
}

fn is_residence(kind: &str) -> bool {
    matches!(
        kind,
        "area" | "district" | "sector" | "unit" | "local_authority"
    )
}

impl Caller {
    /// A usable home postcode: given and not an NHS pseudo-postcode.
    fn home(&self) -> Option<&Postcode> {
        self.postcode.as_ref().filter(|p| !p.is_pseudo())
    }

    /// Tokens of every rule this caller meets.
    pub fn tokens(&self) -> Vec<String> {
        let mut out = vec!["national:".to_string()];
        if let Some(p) = self.home() {
            out.push(format!("area:{}", p.area()));
            out.push(format!("district:{}", p.district()));
            if let Some(sub) = p.sub_district() {
                out.push(format!("district:{sub}"));
            }
            out.push(format!("sector:{}", p.sector()));
            out.push(format!("unit:{p}"));
            if let Some(la) = self
                .postcode_info
                .as_ref()
                .and_then(|i| i.local_authority.as_ref())
            {
                out.push(format!("local_authority:{la}"));
            }
        }
        if let Some(gp) = &self.gp {
            out.push(format!("gp_practice:{gp}"));
        }
        if let Some(p) = &self.practice {
            out.extend(p.pcn.iter().map(|c| format!("pcn:{c}")));
            out.extend(p.sub_icb.iter().map(|c| format!("sub_icb:{c}")));
            out.extend(p.sub_icb_ons.iter().map(|c| format!("sub_icb:{c}")));
            out.extend(p.icb.iter().map(|c| format!("icb:{c}")));
            out.extend(p.icb_ons.iter().map(|c| format!("icb:{c}")));
        }
        out
    }

    /// Why rules of `kind` cannot be checked for this caller; `None` when they can.
    pub fn why_unknown(&self, kind: &str) -> Option<String> {
        if kind == "national" {
            return None;
        }
        if is_residence(kind) {
            let Some(p) = &self.postcode else {
                return Some("no postcode given".into());
            };
            if p.is_pseudo() {
                return Some(format!(
                    "{p} is an NHS pseudo-postcode (no fixed abode or not known), so where they live is not known"
                ));
            }
            if kind == "local_authority"
                && self
                    .postcode_info
                    .as_ref()
                    .and_then(|i| i.local_authority.as_ref())
                    .is_none()
            {
                return Some(format!(
                    "the local authority of {p} is not in the loaded postcode data"
                ));
            }
            return None;
        }
        let Some(gp) = &self.gp else {
            return Some("no GP practice given".into());
        };
        if kind == "gp_practice" {
            return None;
        }
        let Some(p) = &self.practice else {
            return Some(format!("{gp} is not in the loaded GP practice list"));
        };
        let known = match kind {
            "pcn" => p.pcn.is_some(),
            "sub_icb" => p.sub_icb.is_some(),
            "sub_icb_ons" => !p.sub_icb_ons.is_empty(),
            "icb" => p.icb.is_some(),
            "icb_ons" => p.icb_ons.is_some(),
            _ => false,
        };
        (!known).then(|| {
            let what = match kind {
                "pcn" => "Primary Care Network",
                "sub_icb" | "sub_icb_ons" => "sub-ICB location (by that kind of code)",
                _ => "ICB (by that kind of code)",
            };
            format!("the {what} of {gp} is not in the loaded reference data")
        })
    }

    /// Things a navigator should know about what they typed.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(p), Some(when)) = (
            &self.postcode,
            self.postcode_info
                .as_ref()
                .and_then(|i| i.terminated.as_ref()),
        ) {
            out.push(format!(
                "{p} is no longer in use (terminated {}); check the caller's current postcode",
                month(when)
            ));
        }
        if let Some(p) = &self.practice
            && p.status != PracticeStatus::Active
        {
            out.push(format!(
                "{} ({}) is {} in the NHS practice list; check where the caller is registered now",
                p.code,
                title_case(&p.name),
                p.status.as_str()
            ));
        }
        out
    }
}

fn month(yyyymm: &str) -> String {
    match (yyyymm.get(..4), yyyymm.get(4..6)) {
        (Some(y), Some(m)) => format!("{m}/{y}"),
        _ => yyyymm.to_string(),
    }
}

/// NHS files shout; people read "Five Oaks Family Practice" more easily.
pub fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let lower = w.to_lowercase();
            if w.len() <= 3 && w.chars().all(|c| c.is_ascii_uppercase()) && w != "THE" {
                // Initialisms such as PCN or NHS.
                return w.to_string();
            }
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a service can see a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The service covers the caller.
    Eligible,
    /// A coverage rule, the caller's age or their gender rules them out.
    NotEligible,
    /// Not decidable from what is known (no GP given, postcode not loaded…); never guessed.
    Unknown,
}

/// One part of the answer: where they live or are registered, age, gender.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// What the check is about: `coverage`, `age` or `gender`.
    pub about: &'static str,
    /// This check's answer.
    pub verdict: Verdict,
    /// The sentence a navigator can read out for this check.
    pub reason: String,
    /// The coverage rule that decided this check, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<CoverageRule>,
}

/// Whether a service can see a caller, and why.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Answer {
    /// `not_eligible` if any check says so, else `unknown` if any does, else `eligible`.
    pub verdict: Verdict,
    /// The sentence a navigator can read out.
    pub reason: String,
    /// The coverage rule that decided, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<CoverageRule>,
    /// Every check made: coverage always, age and gender when the caller gave them.
    pub checks: Vec<Check>,
}

enum Outcome {
    Met,
    NotMet,
    Unknown(String),
}

/// The people a rule is about, in words.
fn describe(rule: &CoverageRule, caller: &Caller) -> String {
    let practice = caller.practice.as_ref();
    match rule {
        CoverageRule::National => "anyone in the UK".into(),
        CoverageRule::Area(a) => format!("residents of the {a} postcode area"),
        CoverageRule::District(d) => format!("residents of postcode district {d}"),
        CoverageRule::Sector(s) => format!("residents of postcode sector {s}"),
        CoverageRule::Unit(u) => format!("residents of postcode {u}"),
        CoverageRule::LocalAuthority(la) => format!("residents of local authority {la}"),
        CoverageRule::GpPractice(code) => match practice.filter(|p| &p.code == code) {
            Some(p) => format!("patients registered with {} ({code})", title_case(&p.name)),
            None => format!("patients registered with practice {code}"),
        },
        CoverageRule::Pcn(code) => {
            match practice
                .filter(|p| p.pcn.as_ref() == Some(code))
                .and_then(|p| p.pcn_name.as_ref())
            {
                Some(name) => format!(
                    "patients registered with practices in {} ({code})",
                    title_case(name)
                ),
                None => {
                    format!("patients registered with practices in Primary Care Network {code}")
                }
            }
        }
        CoverageRule::SubIcb(code) => {
            format!("patients registered with practices in sub-ICB location {code}")
        }
        CoverageRule::Icb(code) => format!("patients registered with practices in ICB {code}"),
    }
}

/// Who the caller is, for the rule's kind: "M14 5AB" or "P84001 (Five Oaks…)".
fn subject(rule: &CoverageRule, caller: &Caller) -> String {
    if is_residence(rule_kind(rule)) {
        return caller
            .postcode
            .as_ref()
            .map_or("the caller".into(), |p| p.to_string());
    }
    match (&caller.gp, &caller.practice) {
        (Some(gp), Some(p)) => format!("{gp} ({})", title_case(&p.name)),
        (Some(gp), None) => gp.clone(),
        _ => "the caller's practice".into(),
    }
}

fn test(rule: &CoverageRule, caller: &Caller, tokens: &[String]) -> Outcome {
    if let Some(why) = caller.why_unknown(rule_kind(rule)) {
        return Outcome::Unknown(why);
    }
    let token = rule_token(rule);
    if tokens.contains(&token) {
        Outcome::Met
    } else {
        Outcome::NotMet
    }
}

fn met_phrase(rule: &CoverageRule, caller: &Caller) -> String {
    match rule {
        CoverageRule::National => "the caller is".into(),
        CoverageRule::GpPractice(_) => "the caller is registered there".into(),
        r if is_residence(rule_kind(r)) => format!("{} is in it", subject(r, caller)),
        r => format!("{} is one of them", subject(r, caller)),
    }
}

fn coverage_check(coverage: &Coverage, caller: &Caller) -> Check {
    let tokens = caller.tokens();
    let check = |verdict, reason: String, rule: Option<&CoverageRule>| Check {
        about: "coverage",
        verdict,
        reason,
        rule: rule.cloned(),
    };
    let mut exclude_unknown = None;
    for rule in &coverage.exclude {
        match test(rule, caller, &tokens) {
            Outcome::Met => {
                return check(
                    Verdict::NotEligible,
                    format!(
                        "Does not cover {}; {}",
                        describe(rule, caller),
                        met_phrase(rule, caller)
                    ),
                    Some(rule),
                );
            }
            Outcome::Unknown(why) => {
                exclude_unknown.get_or_insert((rule, why));
            }
            Outcome::NotMet => {}
        }
    }
    if coverage.include.is_empty() {
        return check(
            Verdict::Unknown,
            "The service has not said who it covers; ask them before referring".into(),
            None,
        );
    }
    let mut include_unknown = None;
    for rule in &coverage.include {
        match test(rule, caller, &tokens) {
            Outcome::Met => {
                return match exclude_unknown {
                    Some((ex, why)) => check(
                        Verdict::Unknown,
                        format!(
                            "Covers {} but not {}, and {why}",
                            describe(rule, caller),
                            describe(ex, caller)
                        ),
                        Some(ex),
                    ),
                    None => check(
                        Verdict::Eligible,
                        format!(
                            "Covers {}; {}",
                            describe(rule, caller),
                            met_phrase(rule, caller)
                        ),
                        Some(rule),
                    ),
                };
            }
            Outcome::Unknown(why) => {
                include_unknown.get_or_insert((rule, why));
            }
            Outcome::NotMet => {}
        }
    }
    if let Some((rule, why)) = include_unknown {
        return check(
            Verdict::Unknown,
            format!("Covers {}, but {why}", describe(rule, caller)),
            Some(rule),
        );
    }
    let first = &coverage.include[0];
    let others = match coverage.include.len() - 1 {
        0 => String::new(),
        1 => " and one other group".into(),
        n => format!(" and {n} other groups"),
    };
    let who = subject(first, caller);
    check(
        Verdict::NotEligible,
        format!(
            "Covers only {}{others}; {who} is not among them",
            describe(first, caller)
        ),
        Some(first),
    )
}

fn age_check(min: Option<u8>, max: Option<u8>, age: u8) -> Check {
    let range = match (min, max) {
        (Some(a), Some(b)) => format!("For ages {a} to {b}"),
        (Some(a), None) => format!("For ages {a} and over"),
        (None, Some(b)) => format!("For ages up to {b}"),
        (None, None) => "No age limit".into(),
    };
    let ok = min.is_none_or(|a| age >= a) && max.is_none_or(|b| age <= b);
    Check {
        about: "age",
        verdict: if ok {
            Verdict::Eligible
        } else {
            Verdict::NotEligible
        },
        reason: format!("{range}; the caller is {age}"),
        rule: None,
    }
}

fn gender_check(service: Gender, caller: Gender) -> Check {
    let ok = service == Gender::Any || caller == Gender::Any || service == caller;
    let reason = match service {
        Gender::Any => "Open to all genders".to_string(),
        Gender::Female => "For women only".to_string(),
        Gender::Male => "For men only".to_string(),
    };
    Check {
        about: "gender",
        verdict: if ok {
            Verdict::Eligible
        } else {
            Verdict::NotEligible
        },
        reason,
        rule: None,
    }
}

/// The whole answer: not eligible if any part says so, unknown if any part cannot be
/// checked, else eligible. Age and gender count only when the caller's are given.
pub fn assess(
    coverage: &Coverage,
    min_age: Option<u8>,
    max_age: Option<u8>,
    gender: Gender,
    caller: &Caller,
) -> Answer {
    let mut checks = vec![coverage_check(coverage, caller)];
    if let Some(age) = caller.age {
        checks.push(age_check(min_age, max_age, age));
    }
    if let Some(g) = caller.gender {
        checks.push(gender_check(gender, g));
    }
    let decisive = checks
        .iter()
        .find(|c| c.verdict == Verdict::NotEligible)
        .or_else(|| checks.iter().find(|c| c.verdict == Verdict::Unknown))
        .unwrap_or(&checks[0]);
    Answer {
        verdict: decisive.verdict,
        reason: decisive.reason.clone(),
        rule: decisive.rule.clone(),
        checks: checks.clone(),
    }
}

/// Great-circle distance in kilometres.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: &str, value: &str) -> CoverageRule {
        serde_json::from_value(serde_json::json!({"type": kind, "value": value})).unwrap()
    }

    fn at(postcode: &str) -> Caller {
        Caller {
            postcode: Some(Postcode::parse(postcode).unwrap()),
            ..Caller::default()
        }
    }

    fn verdict(include: Vec<CoverageRule>, exclude: Vec<CoverageRule>, c: &Caller) -> Verdict {
        assess(&Coverage { include, exclude }, None, None, Gender::Any, c).verdict
    }

    #[test]
    fn districts_compare_by_parts_not_prefixes() {
        let m1 = vec![rule("district", "M1")];
        assert_eq!(
            verdict(m1.clone(), vec![], &at("M1 1AD")),
            Verdict::Eligible
        );
        assert_eq!(verdict(m1, vec![], &at("M11 1AA")), Verdict::NotEligible);
        let ec1 = vec![rule("district", "EC1")];
        assert_eq!(verdict(ec1, vec![], &at("EC1A 1BB")), Verdict::Eligible);
        let ec1a = vec![rule("district", "EC1A")];
        assert_eq!(
            verdict(ec1a.clone(), vec![], &at("EC1A 1BB")),
            Verdict::Eligible
        );
        assert_eq!(verdict(ec1a, vec![], &at("EC1M 6BQ")), Verdict::NotEligible);
        let sector = vec![rule("sector", "M1 1")];
        assert_eq!(
            verdict(sector, vec![], &at("M11 1AA")),
            Verdict::NotEligible
        );
    }

    #[test]
    fn exclusions_win_and_unknowns_are_explained() {
        let c = at("M14 5AB");
        let answer = assess(
            &Coverage {
                include: vec![rule("area", "M")],
                exclude: vec![rule("district", "M14")],
            },
            None,
            None,
            Gender::Any,
            &c,
        );
        assert_eq!(answer.verdict, Verdict::NotEligible);
        assert_eq!(
            answer.reason,
            "Does not cover residents of postcode district M14; M14 5AB is in it"
        );
        let gp_only = vec![rule("sub_icb", "14L")];
        let answer = assess(
            &Coverage {
                include: gp_only,
                exclude: vec![],
            },
            None,
            None,
            Gender::Any,
            &c,
        );
        assert_eq!(answer.verdict, Verdict::Unknown);
        assert!(
            answer.reason.ends_with("no GP practice given"),
            "{}",
            answer.reason
        );
        let pseudo = at("ZZ99 3VZ");
        assert_eq!(
            verdict(vec![rule("area", "M")], vec![], &pseudo),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(vec![CoverageRule::National], vec![], &pseudo),
            Verdict::Eligible
        );
    }

    #[test]
    fn age_and_gender_join_the_answer() {
        let mut c = at("M14 5AB");
        c.age = Some(16);
        c.gender = Some(Gender::Male);
        let answer = assess(
            &Coverage {
                include: vec![CoverageRule::National],
                exclude: vec![],
            },
            Some(18),
            None,
            Gender::Female,
            &c,
        );
        assert_eq!(answer.verdict, Verdict::NotEligible);
        assert_eq!(answer.reason, "For ages 18 and over; the caller is 16");
        assert_eq!(answer.checks.len(), 3);
    }

    #[test]
    fn distance() {
        let manchester = (53.4808, -2.2426);
        let london = (51.5074, -0.1278);
        let d = distance_km(manchester, london);
        assert!((d - 262.0).abs() < 3.0, "{d}");
    }
}
