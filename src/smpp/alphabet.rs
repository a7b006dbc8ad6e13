//! The text of a USSD PDU on the wire: `short_message` bytes in the alphabet `data_coding`
//! names, read into a `String` and written from one.
//!
//! Out: GSM 7-bit unpacked (data_coding 0, one septet an octet, as the npm `smpp` gateway and
//! vumi's Mica tests use it) through `rusmpp`'s encoder, or UCS-2 (8) as UTF-16BE; `auto`
//! picks GSM-7 when `text::gsm7` says every character is in the alphabet. In: the same two,
//! plus IA5 (1) and Latin-1 (3) read as Latin-1, and anything else read as UTF-8, lossily.
//! `rusmpp` has no decoder, so the GSM 03.38 table for reading is here (3GPP TS 23.038
//! §6.2.1). Pure: a byte a gateway sends can make odd text, never a panic.

use rusmpp::extra::encoding::gsm7bit::Gsm7BitUnpacked;

use super::config::Coding;
use crate::text::gsm7::gsm7_len;

/// data_coding 0: the SMSC's default alphabet, GSM 03.38 for USSD.
pub(crate) const GSM7: u8 = 0;
/// data_coding 8: UCS-2, sent as UTF-16BE.
pub(crate) const UCS2: u8 = 8;

/// The GSM 03.38 basic table, by septet (0x1B, the escape, is a space here: it only
/// introduces the extension table).
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ' ', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

const ESCAPE: u8 = 0x1B;

/// The extension table: the septet after an escape, and its character.
fn extension(septet: u8) -> Option<char> {
    Some(match septet {
        0x0A => '\u{0C}',
        0x14 => '^',
        0x28 => '{',
        0x29 => '}',
        0x2F => '\\',
        0x3C => '[',
        0x3D => '~',
        0x3E => ']',
        0x40 => '|',
        0x65 => '€',
        _ => return None,
    })
}

/// The text of `bytes` sent with `data_coding`.
pub(crate) fn decode(data_coding: u8, bytes: &[u8]) -> String {
    match data_coding {
        GSM7 => decode_gsm7(bytes),
        UCS2 => char::decode_utf16(
            bytes
                .chunks(2)
                .map(|pair| u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])),
        )
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect(),
        1 | 3 => bytes.iter().map(|&b| char::from(b)).collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// GSM 7-bit unpacked: one septet an octet, the top bit ignored.
fn decode_gsm7(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    let mut septets = bytes.iter().map(|b| b & 0x7F);
    while let Some(septet) = septets.next() {
        if septet == ESCAPE {
            match septets.next() {
                Some(next) => text.push(extension(next).unwrap_or(BASIC[usize::from(next)])),
                None => text.push(' '),
            }
        } else {
            text.push(BASIC[usize::from(septet)]);
        }
    }
    text
}

/// `text` on the wire as `coding` asks: its data_coding and bytes.
pub(crate) fn encode(coding: Coding, text: &str) -> (u8, Vec<u8>) {
    let gsm = match coding {
        Coding::Ucs2 => None,
        Coding::Auto => gsm7_len(text).and_then(|_| encode_gsm7(text)),
        Coding::Gsm7 => encode_gsm7(&text.chars().map(gsm_or_question).collect::<String>()),
    };
    match gsm {
        Some(bytes) => (GSM7, bytes),
        None => (
            UCS2,
            text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        ),
    }
}

fn encode_gsm7(text: &str) -> Option<Vec<u8>> {
    Gsm7BitUnpacked::new().encode_to_vec(text).ok()
}

/// A character of the GSM alphabet as itself, any other as `?`.
fn gsm_or_question(c: char) -> char {
    let mut one = [0u8; 4];
    match gsm7_len(c.encode_utf8(&mut one)) {
        Some(_) => c,
        None => '?',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_text_goes_as_gsm7_and_comes_back() {
        let text = "1. Inquiry\n2. Help @ £5 {x} €";
        let (coding, bytes) = encode(Coding::Auto, text);
        assert_eq!(coding, GSM7);
        assert_eq!(bytes[0], b'1');
        assert_eq!(decode(GSM7, &bytes), text);
    }

    #[test]
    fn persian_text_goes_as_ucs2_unless_gsm7_is_forced() {
        let text = "۱. استعلام";
        let (coding, bytes) = encode(Coding::Auto, text);
        assert_eq!(coding, UCS2);
        assert_eq!(bytes.len(), 2 * text.chars().count());
        assert_eq!(decode(UCS2, &bytes), text);
        let (coding, bytes) = encode(Coding::Gsm7, "ok ۱");
        assert_eq!(coding, GSM7);
        assert_eq!(decode(GSM7, &bytes), "ok ?");
        assert_eq!(encode(Coding::Ucs2, "1").0, UCS2);
    }

    #[test]
    fn odd_bytes_make_odd_text_not_a_panic() {
        assert_eq!(decode(UCS2, &[0x00]), "\u{0}");
        assert_eq!(decode(UCS2, &[0xD8, 0x00]), "\u{FFFD}");
        assert_eq!(decode(GSM7, &[0xFF, ESCAPE]), "à ");
        assert_eq!(decode(GSM7, &[ESCAPE, b'A']), "A");
        assert_eq!(decode(3, &[0xE9]), "é");
        assert_eq!(decode(4, &[0xFF, b'1']), "\u{FFFD}1");
    }
}
