//! Small text helpers shared by every front door: hex digits, random tokens, HTML escaping.

/// Bytes as lower-case hex digits.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// 256 random bits as 64 hex digits: session tokens, secrets, keys.
pub fn random_hex() -> String {
    let bytes: [u8; 32] = rand::random();
    hex(&bytes)
}

/// Appends plain text to `out` escaped for HTML text and attribute values.
pub fn escape_html_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// Plain text as HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_html_into(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_escaping() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(random_hex().len(), 64);
        assert_ne!(random_hex(), random_hex());
        assert_eq!(
            escape_html("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
