//! NHS ODS and ONS codes that coverage rules name.

fn upper(raw: &str) -> String {
    raw.trim().to_ascii_uppercase()
}

fn is_ons(code: &str, prefix: &str) -> bool {
    code.len() == 9 && code.starts_with(prefix) && code[3..].bytes().all(|b| b.is_ascii_digit())
}

/// What [`parse_gp_practice`] accepts, as a pattern for the API description.
pub const GP_PRACTICE_PATTERN: &str = r"^ *[A-Za-z][0-9]{5} *$";

/// An ODS GP practice code: one letter and five digits, e.g. `P84001`.
pub fn parse_gp_practice(raw: &str) -> Result<String, String> {
    let c = upper(raw);
    let b = c.as_bytes();
    if b.len() == 6 && b[0].is_ascii_alphabetic() && b[1..].iter().all(u8::is_ascii_digit) {
        Ok(c)
    } else {
        Err(format!(
            "'{}' is not a GP practice code: an ODS practice code is a letter and five digits, such as 'P84001'",
            raw.trim()
        ))
    }
}

/// A Primary Care Network code: `U` and five digits, e.g. `U49529`.
pub fn parse_pcn(raw: &str) -> Result<String, String> {
    let c = upper(raw);
    let b = c.as_bytes();
    if b.len() == 6 && b[0] == b'U' && b[1..].iter().all(u8::is_ascii_digit) {
        Ok(c)
    } else {
        Err(format!(
            "'{}' is not a PCN code: a Primary Care Network code is U and five digits, such as 'U49529'",
            raw.trim()
        ))
    }
}

/// A sub-ICB location: the three-character ODS code (e.g. `14L`) or the ONS code (`E38…`).
pub fn parse_sub_icb(raw: &str) -> Result<String, String> {
    let c = upper(raw);
    let b = c.as_bytes();
    let ods = b.len() == 3 && b.iter().all(u8::is_ascii_alphanumeric) && b[0].is_ascii_digit();
    if ods || is_ons(&c, "E38") {
        Ok(c)
    } else {
        Err(format!(
            "'{}' is not a sub-ICB location: use the three-character ODS code such as '14L' or the ONS code such as 'E38000217'",
            raw.trim()
        ))
    }
}

/// An integrated care board: the ODS code (e.g. `QOP`) or the ONS code (`E54…`).
pub fn parse_icb(raw: &str) -> Result<String, String> {
    let c = upper(raw);
    let b = c.as_bytes();
    let ods = b.len() == 3 && b[0] == b'Q' && b.iter().all(u8::is_ascii_alphanumeric);
    if ods || is_ons(&c, "E54") {
        Ok(c)
    } else {
        Err(format!(
            "'{}' is not an ICB code: use the ODS code such as 'QOP' or the ONS code such as 'E54000057'",
            raw.trim()
        ))
    }
}

/// A local authority district by its ONS code, e.g. `E08000003` (Manchester).
pub fn parse_local_authority(raw: &str) -> Result<String, String> {
    let c = upper(raw);
    let b = c.as_bytes();
    let ok = b.len() == 9
        && matches!(b[0], b'E' | b'W' | b'S' | b'N')
        && b[1..].iter().all(u8::is_ascii_digit);
    if ok {
        Ok(c)
    } else {
        Err(format!(
            "'{}' is not a local authority code: use the nine-character ONS code such as 'E08000003'",
            raw.trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_normalise_and_reject() {
        assert_eq!(parse_gp_practice(" p84001 ").unwrap(), "P84001");
        assert!(parse_gp_practice("P8400").is_err());
        assert_eq!(parse_pcn("u49529").unwrap(), "U49529");
        assert!(parse_pcn("P49529").is_err());
        assert_eq!(parse_sub_icb("14l").unwrap(), "14L");
        assert!(parse_sub_icb("L14").is_err());
        assert_eq!(parse_icb("qop").unwrap(), "QOP");
        assert_eq!(parse_local_authority("e08000003").unwrap(), "E08000003");
        assert!(parse_local_authority("E0800000").is_err());
    }
}
