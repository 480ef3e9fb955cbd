//! EIP-2335 password processing: NFKD normalisation, then removal of the C0 (`0x00..=0x1F`),
//! Delete (`0x7F`) and C1 (`0x80..=0x9F`) control codes, then UTF-8. Space stays.

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// Whether `c` is one of the control codes EIP-2335 strips.
fn is_stripped_control(c: char) -> bool {
    matches!(c as u32, 0x00..=0x1F | 0x7F..=0x9F)
}

/// The bytes the KDF receives for `password`.
pub fn process_password(password: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(password.len()));
    let mut buf = [0u8; 4];
    for c in password.nfkd().filter(|c| !is_stripped_control(*c)) {
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    out
}

/// The password in a password file: everything but trailing line-ending characters.
pub(crate) fn trim_password_file(contents: &str) -> &str {
    contents.trim_end_matches(['\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_control_codes_keeps_space() {
        let processed = process_password("a b\u{0}\u{1f}\u{7f}\u{80}\u{9f}c\t\n");
        assert_eq!(processed.as_slice(), b"a bc");
        // U+00A0 (NBSP) is not a control code; NFKD turns it into a plain space.
        assert_eq!(process_password("x\u{a0}y").as_slice(), b"x y");
    }

    #[test]
    fn password_file_trailing_newline() {
        assert_eq!(trim_password_file("secret\n"), "secret");
        assert_eq!(trim_password_file("secret\r\n"), "secret");
        assert_eq!(trim_password_file(" secret "), " secret ");
    }
}
