//! UK postcodes: normalisation, BS 7666 validation and the parts coverage rules match on.

use std::fmt;

/// Letters that never appear in the first position of a postcode area.
const NOT_FIRST: &[u8] = b"QVX";
/// Letters that never appear in the second position of a two-letter area.
const NOT_SECOND: &[u8] = b"IJZ";
/// Letters allowed in the third position of an `A9A` outward code.
const THIRD_ALLOWED: &[u8] = b"ABCDEFGHJKPSTUW";
/// Letters allowed in the fourth position of an `AA9A` outward code.
const FOURTH_ALLOWED: &[u8] = b"ABEHMNPRVWXY";
/// Letters that never appear in the inward code's unit.
const NOT_IN_UNIT: &[u8] = b"CIKMOV";

/// The shape of a full postcode as a pattern (any case, spaces anywhere between parts),
/// for the API description; [`Postcode::parse`] also applies the letter rules above.
pub const PATTERN: &str = r"^ *[A-Za-z]{1,2}[0-9][A-Za-z0-9]? *[0-9][A-Za-z]{2} *$";

/// A valid UK postcode, split into the parts that coverage rules compare.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Postcode {
    outward: String,
    inward: String,
    area_len: usize,
    district_len: usize,
}

impl Postcode {
    /// Parses free text ("m14 5ab", "M145AB", " M14  5AB ") into a postcode.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let shown = raw.trim();
        if compact.is_empty() {
            return Err("a postcode is required, for example 'M14 5AB'".into());
        }
        if !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!(
                "'{shown}' is not a valid postcode: only letters, digits and one space are allowed"
            ));
        }
        if compact == "GIR0AA" {
            return Ok(Self {
                outward: "GIR".into(),
                inward: "0AA".into(),
                area_len: 3,
                district_len: 3,
            });
        }
        // Written with a space, the part after it is the inward code: say what is wrong
        // with that part rather than with the length.
        if let Some((_, inward)) = shown.rsplit_once(char::is_whitespace) {
            let ib = inward.as_bytes();
            let shaped = ib.len() == 3
                && ib[0].is_ascii_digit()
                && ib[1..].iter().all(u8::is_ascii_alphabetic);
            if !shaped && compact.len() >= 4 {
                return Err(format!(
                    "'{shown}' is not a valid postcode: the inward part must be a digit and two letters, like the '1AE' of 'M1 1AE'"
                ));
            }
        }
        if compact.len() < 5 || compact.len() > 7 {
            return Err(format!(
                "'{shown}' is not a valid postcode: a postcode has 5 to 7 letters and digits, like 'M1 1AE' or 'EC1A 1BB'"
            ));
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        let ib = inward.as_bytes();
        if !(ib[0].is_ascii_digit() && ib[1].is_ascii_alphabetic() && ib[2].is_ascii_alphabetic()) {
            return Err(format!(
                "'{shown}' is not a valid postcode: the inward part must be a digit and two letters"
            ));
        }
        // NHS pseudo-postcodes (ZZ99 3VZ no fixed abode, …) break the letter rules on purpose.
        let pseudo = outward.starts_with("ZZ99");
        if !pseudo && ib[1..].iter().any(|b| NOT_IN_UNIT.contains(b)) {
            return Err(format!(
                "'{shown}' is not a valid postcode: the last two letters never include C, I, K, M, O or V"
            ));
        }
        let (area_len, district_len) = if pseudo && outward.len() == 4 {
            (2, 4)
        } else {
            parse_outward(outward)
                .map_err(|why| format!("'{shown}' is not a valid postcode: {why}"))?
        };
        Ok(Self {
            outward: outward.to_string(),
            inward: inward.to_string(),
            area_len,
            district_len,
        })
    }

    /// The postcode area, e.g. `M` or `EC`.
    pub fn area(&self) -> &str {
        &self.outward[..self.area_len]
    }

    /// The outward code, e.g. `M14` or `EC1A`.
    pub fn outward(&self) -> &str {
        &self.outward
    }

    /// The inward code, e.g. `5AB`.
    pub fn inward(&self) -> &str {
        &self.inward
    }

    /// The district without any sub-district letter, e.g. `M14`, `EC1` for `EC1A 1BB`.
    pub fn district(&self) -> &str {
        &self.outward[..self.district_len]
    }

    /// The sub-district for outward codes ending in a letter, e.g. `EC1A`.
    pub fn sub_district(&self) -> Option<&str> {
        (self.district_len < self.outward.len()).then_some(self.outward.as_str())
    }

    /// The sector, e.g. `M14 5`.
    pub fn sector(&self) -> String {
        format!("{} {}", self.outward, &self.inward[..1])
    }

    /// The two unit letters, e.g. `AB`.
    pub fn unit_letters(&self) -> &str {
        &self.inward[1..]
    }

    /// NHS pseudo-postcodes (`ZZ99 …`) stand for no fixed abode, not known and the like.
    pub fn is_pseudo(&self) -> bool {
        self.outward.starts_with("ZZ99")
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.outward, self.inward)
    }
}

/// Checks an outward code against the BS 7666 shapes (A9, A99, AA9, AA99, A9A, AA9A) and
/// letter rules; returns the lengths of its area and its district.
pub fn parse_outward(outward: &str) -> Result<(usize, usize), String> {
    let b = outward.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphabetic() {
        return Err("the outward part must start with a letter".into());
    }
    if NOT_FIRST.contains(&b[0]) {
        return Err(format!("no postcode area starts with {}", b[0] as char));
    }
    let area_len = if b.len() > 1 && b[1].is_ascii_alphabetic() {
        2
    } else {
        1
    };
    if area_len == 2 && NOT_SECOND.contains(&b[1]) {
        return Err(format!(
            "{} is not a postcode area: the second letter is never I, J or Z",
            &outward[..2]
        ));
    }
    let rest = &b[area_len..];
    let shape_error = || {
        "the outward part must be one or two letters, then one or two digits, or a digit and a letter (e.g. M1, M14, EC1A)".to_string()
    };
    match rest {
        [d] if d.is_ascii_digit() => Ok((area_len, b.len())),
        [d1, d2] if d1.is_ascii_digit() && d2.is_ascii_digit() => Ok((area_len, b.len())),
        [d, l] if d.is_ascii_digit() && l.is_ascii_alphabetic() => {
            let allowed = if area_len == 1 {
                THIRD_ALLOWED
            } else {
                FOURTH_ALLOWED
            };
            if !allowed.contains(l) {
                return Err(format!(
                    "{} is not a valid outward code: {} cannot follow the district digit",
                    outward, *l as char
                ));
            }
            Ok((area_len, b.len() - 1))
        }
        _ => Err(shape_error()),
    }
}

/// A postcode area such as `M` or `EC`.
pub fn parse_area(raw: &str) -> Result<String, String> {
    let up = raw.trim().to_ascii_uppercase();
    let b = up.as_bytes();
    let ok = matches!(b.len(), 1 | 2)
        && b.iter().all(|c| c.is_ascii_alphabetic())
        && !NOT_FIRST.contains(&b[0])
        && (b.len() == 1 || !NOT_SECOND.contains(&b[1]));
    if ok {
        Ok(up)
    } else {
        Err(format!(
            "'{}' is not a postcode area: use one or two letters such as 'M' or 'SK'",
            raw.trim()
        ))
    }
}

/// A postcode district (outward code) such as `M14` or `EC1A`.
pub fn parse_district(raw: &str) -> Result<String, String> {
    let up = raw.trim().to_ascii_uppercase();
    parse_outward(&up)
        .map(|_| up)
        .map_err(|why| format!("'{}' is not a postcode district: {why}", raw.trim()))
}

/// A postcode sector such as `M14 5`.
pub fn parse_sector(raw: &str) -> Result<String, String> {
    let up = raw.trim().to_ascii_uppercase();
    let bad = || {
        format!(
            "'{}' is not a postcode sector: use the outward code, a space and one digit, such as 'M14 5'",
            raw.trim()
        )
    };
    let mut parts = up.split_whitespace();
    let (Some(outward), Some(digit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if digit.len() != 1 || !digit.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    parse_outward(outward).map_err(|_| bad())?;
    Ok(format!("{outward} {digit}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_a_sub_district_postcode() {
        let p = Postcode::parse("ec1a1bb").unwrap();
        assert_eq!(p.to_string(), "EC1A 1BB");
        assert_eq!(p.area(), "EC");
        assert_eq!(p.district(), "EC1");
        assert_eq!(p.sub_district(), Some("EC1A"));
        assert_eq!(p.sector(), "EC1A 1");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = Postcode::parse("M1 1A").unwrap_err();
        assert!(
            e.starts_with(
                "'M1 1A' is not a valid postcode: the inward part must be a digit and two letters"
            ),
            "{e}"
        );
        let e = Postcode::parse("M11A").unwrap_err();
        assert!(e.contains("5 to 7"), "{e}");
        let e = Postcode::parse("M1 AAA").unwrap_err();
        assert!(
            e.contains("inward part must be a digit and two letters"),
            "{e}"
        );
        let e = Postcode::parse("QA1 1AA").unwrap_err();
        assert!(e.contains("no postcode area starts with Q"), "{e}");
    }

    #[test]
    fn special_and_pseudo_postcodes() {
        assert_eq!(Postcode::parse("gir 0aa").unwrap().to_string(), "GIR 0AA");
        assert!(Postcode::parse("ZZ99 3VZ").unwrap().is_pseudo());
    }

    #[test]
    fn district_is_not_a_prefix() {
        assert_eq!(Postcode::parse("M11 1AA").unwrap().district(), "M11");
        assert_ne!(Postcode::parse("M11 1AA").unwrap().district(), "M1");
    }

    #[test]
    fn sectors_and_areas() {
        assert_eq!(parse_sector("m14 5").unwrap(), "M14 5");
        assert!(parse_sector("M14").is_err());
        assert!(parse_sector("M14 55").is_err());
        assert_eq!(parse_area("sk").unwrap(), "SK");
        assert!(parse_area("S1").is_err());
    }
}
