//! When checks become a flag: hard failures repeated across days, closure wording or a
//! parked domain seen, or a long run of transient failures. Any success clears the run.
//! Nothing is ever hidden or deleted: a flag is a warning and a review-queue item.

use super::checker::{CheckResult, Outcome};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Thresholds, in distinct days with such a result.
#[derive(Debug, Clone)]
pub struct LinkPolicy {
    /// Hard failures before `link_broken`.
    pub hard_days: u32,
    /// The same for 410 Gone and domains that no longer exist.
    pub hard_days_certain: u32,
    /// Transient failures before `unreachable`.
    pub transient_days: u32,
}

impl Default for LinkPolicy {
    fn default() -> Self {
        Self {
            hard_days: 3,
            hard_days_certain: 2,
            transient_days: 7,
        }
    }
}

/// What a link check concluded about a URL, shown as a warning on the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Hard failures on several different days (3 by default; 2 for 410 or a vanished domain).
    LinkBroken,
    /// Closure wording or a parked domain seen, even once.
    PossiblyClosed,
    /// Transient failures on several different days (7 by default).
    Unreachable,
}

impl Flag {
    /// The name the API and the warnings use.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::LinkBroken => "link_broken",
            Flag::PossiblyClosed => "possibly_closed",
            Flag::Unreachable => "unreachable",
        }
    }
}

/// A URL's running record across checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkState {
    /// Different days with a hard failure in the current run; a success resets it.
    pub hard_days: u32,
    /// The latest of those days.
    pub last_hard_day: Option<NaiveDate>,
    /// Different days with a transient failure in the current run; a success resets it.
    pub transient_days: u32,
    /// The latest of those days.
    pub last_transient_day: Option<NaiveDate>,
    /// What the checks concluded, if anything yet; a success clears it.
    pub flag: Option<Flag>,
    /// What raised the flag, in words.
    pub evidence: Option<String>,
    /// The latest check's outcome; None before the first.
    pub last_outcome: Option<Outcome>,
    /// The latest check's finding, e.g. `not_found` (see `CheckResult::finding`).
    pub last_finding: Option<String>,
    /// Where a moved page lives now.
    pub suggested_url: Option<String>,
}

fn count_day(count: &mut u32, last: &mut Option<NaiveDate>, day: NaiveDate) {
    if *last != Some(day) {
        *count += 1;
        *last = Some(day);
    }
}

/// Folds one check, made on `day`, into a URL's state.
pub fn apply(state: &mut LinkState, result: &CheckResult, day: NaiveDate, policy: &LinkPolicy) {
    state.last_outcome = Some(result.outcome);
    state.last_finding = Some(result.finding.to_string());
    match result.outcome {
        Outcome::Ok | Outcome::Moved => {
            *state = LinkState {
                last_outcome: state.last_outcome,
                last_finding: state.last_finding.take(),
                suggested_url: result.suggested_url.clone(),
                ..LinkState::default()
            };
        }
        Outcome::Hard => {
            count_day(&mut state.hard_days, &mut state.last_hard_day, day);
            let evidence = format!("{}: {} ({day})", result.finding, result.detail);
            if matches!(result.finding, "closure_wording" | "parked") {
                state.flag = Some(Flag::PossiblyClosed);
                state.evidence = Some(evidence);
                return;
            }
            let needed = if matches!(result.finding, "gone" | "no_such_domain") {
                policy.hard_days_certain
            } else {
                policy.hard_days
            };
            if state.hard_days >= needed && state.flag != Some(Flag::PossiblyClosed) {
                state.flag = Some(Flag::LinkBroken);
                state.evidence = Some(format!(
                    "{evidence}; failed on {} different days",
                    state.hard_days
                ));
            }
        }
        Outcome::Transient => {
            count_day(
                &mut state.transient_days,
                &mut state.last_transient_day,
                day,
            );
            if state.transient_days >= policy.transient_days && state.flag.is_none() {
                state.flag = Some(Flag::Unreachable);
                state.evidence = Some(format!(
                    "{}: {} on {} different days",
                    result.finding, result.detail, state.transient_days
                ));
            }
        }
        Outcome::Unverifiable => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(outcome: Outcome, finding: &'static str) -> CheckResult {
        CheckResult {
            url: "https://example.org/".into(),
            outcome,
            finding,
            status: None,
            hops: Vec::new(),
            final_url: None,
            suggested_url: None,
            detail: finding.into(),
            attempts: 1,
            elapsed_ms: 0,
        }
    }

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, n).unwrap()
    }

    #[test]
    fn hard_failures_flag_only_across_days() {
        let p = LinkPolicy::default();
        let mut s = LinkState::default();
        let nf = result(Outcome::Hard, "not_found");
        apply(&mut s, &nf, day(1), &p);
        apply(&mut s, &nf, day(1), &p);
        apply(&mut s, &nf, day(2), &p);
        assert_eq!(s.flag, None, "two days is not enough");
        apply(&mut s, &nf, day(3), &p);
        assert_eq!(s.flag, Some(Flag::LinkBroken));
        apply(&mut s, &result(Outcome::Ok, "ok"), day(4), &p);
        assert_eq!(s.flag, None, "a success clears the run");
        assert_eq!(s.hard_days, 0);
    }

    #[test]
    fn gone_flags_sooner_and_closure_at_once() {
        let p = LinkPolicy::default();
        let mut s = LinkState::default();
        apply(&mut s, &result(Outcome::Hard, "gone"), day(1), &p);
        assert_eq!(s.flag, None);
        apply(&mut s, &result(Outcome::Hard, "gone"), day(2), &p);
        assert_eq!(s.flag, Some(Flag::LinkBroken));
        let mut s = LinkState::default();
        apply(
            &mut s,
            &result(Outcome::Hard, "closure_wording"),
            day(1),
            &p,
        );
        assert_eq!(s.flag, Some(Flag::PossiblyClosed));
    }

    #[test]
    fn transient_failures_never_flag_quickly() {
        let p = LinkPolicy::default();
        let mut s = LinkState::default();
        for d in 1..=6 {
            apply(&mut s, &result(Outcome::Transient, "timeout"), day(d), &p);
            apply(
                &mut s,
                &result(Outcome::Unverifiable, "forbidden"),
                day(d),
                &p,
            );
        }
        assert_eq!(s.flag, None);
        apply(
            &mut s,
            &result(Outcome::Transient, "server_error"),
            day(7),
            &p,
        );
        assert_eq!(s.flag, Some(Flag::Unreachable));
    }
}
