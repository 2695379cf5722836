//! Checks that turn a pattern's candidate into a finding: check digits (Luhn, IBAN mod-97),
//! the official number rules (NINO prefixes, SSN ranges) and Shannon entropy.
//!
//! A pattern alone fires on every sixteen-digit order number; these checks are why the scanner
//! can afford to look at every number in a post.

/// True when the ASCII digits pass the Luhn check used by every payment card.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (position, digit) in digits.iter().rev().enumerate() {
        let mut value = u32::from(digit.wrapping_sub(b'0'));
        if value > 9 {
            return false;
        }
        if position % 2 == 1 {
            value *= 2;
            if value > 9 {
                value -= 9;
            }
        }
        sum += value;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// True when `iban` (uppercase letters and digits, no spaces) has its country's length and
/// passes the ISO 13616 mod-97 check.
pub fn iban(iban: &[u8]) -> bool {
    let Some(country) = iban.get(..2) else {
        return false;
    };
    let Some(expected) = iban_length(country) else {
        return false;
    };
    if iban.len() != expected {
        return false;
    }
    // Move the country code and check digits to the end, turn letters into 10..35, and keep a
    // running remainder so the number never needs more than a u32.
    let rotated = iban.iter().skip(4).chain(iban.iter().take(4));
    let mut remainder = 0u32;
    for &byte in rotated {
        let value = match byte {
            b'0'..=b'9' => u32::from(byte - b'0'),
            b'A'..=b'Z' => u32::from(byte - b'A') + 10,
            _ => return false,
        };
        remainder = if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        };
    }
    remainder == 1
}

/// The IBAN length for a country code (SWIFT IBAN registry), or `None` for a country that does
/// not use IBANs.
fn iban_length(country: &[u8]) -> Option<usize> {
    let length = match country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FO" | b"GL" | b"NL" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"XK" => 20,
        b"CH" | b"CR" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" => 22,
        b"AE" | b"GI" | b"IL" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"PT" | b"ST" => 25,
        b"IS" | b"TR" => 26,
        b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"PL" | b"SV" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        _ => return None,
    };
    Some(length)
}

/// True when `nino` (nine uppercase ASCII characters, no spaces) is a possible UK National
/// Insurance number under HMRC's allocation rules.
pub fn uk_nino(nino: &[u8]) -> bool {
    let &[first, second, d1, d2, d3, d4, d5, d6, suffix] = nino else {
        return false;
    };
    // HMRC never uses D, F, I, Q, U or V in either prefix letter, nor O as the second letter.
    let never = |letter: u8| matches!(letter, b'D' | b'F' | b'I' | b'Q' | b'U' | b'V');
    if !first.is_ascii_uppercase() || !second.is_ascii_uppercase() {
        return false;
    }
    if never(first) || never(second) || second == b'O' {
        return false;
    }
    // These prefixes are not allocated (BG, GB, NK, KN, TN, NT, ZZ are administrative).
    if matches!(
        [first, second],
        [b'B', b'G']
            | [b'G', b'B']
            | [b'K', b'N']
            | [b'N', b'K']
            | [b'N', b'T']
            | [b'T', b'N']
            | [b'Z', b'Z']
    ) {
        return false;
    }
    [d1, d2, d3, d4, d5, d6].iter().all(u8::is_ascii_digit) && matches!(suffix, b'A'..=b'D')
}

/// True when the area, group and serial form a possibly issued US Social Security number.
pub fn us_ssn(area: u16, group: u16, serial: u16) -> bool {
    // Area 000, 666 and 900-999 are never issued; group 00 and serial 0000 neither. 078-05-1120
    // and 219-09-9999 were printed in advertising and are void.
    let advertised =
        (area, group, serial) == (78, 5, 1120) || (area, group, serial) == (219, 9, 9999);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !advertised
}

/// Shannon entropy of the bytes in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &byte in bytes {
        if let Some(count) = counts.get_mut(usize::from(byte)) {
            *count += 1;
        }
    }
    let total = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_the_visa_test_card_and_rejects_a_changed_digit() {
        assert!(luhn(b"4111111111111111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b""));
    }

    #[test]
    fn iban_accepts_the_documented_uk_example_and_rejects_a_typo() {
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(iban(b"DE89370400440532013000"));
        assert!(!iban(b"GB82WEST12345698765433"));
        assert!(!iban(b"GB82WEST1234569876543"), "wrong length for GB");
        assert!(!iban(b"XX82WEST12345698765432"), "unknown country");
    }

    #[test]
    fn nino_follows_the_prefix_rules() {
        assert!(uk_nino(b"AB123456C"));
        assert!(!uk_nino(b"GB123456C"), "GB is not allocated");
        assert!(!uk_nino(b"AO123456C"), "O is never the second letter");
        assert!(!uk_nino(b"DA123456C"), "D is never used");
        assert!(!uk_nino(b"AB123456E"), "the suffix is A to D");
    }

    #[test]
    fn ssn_excludes_never_issued_numbers() {
        assert!(us_ssn(123, 45, 6789));
        assert!(!us_ssn(0, 45, 6789));
        assert!(!us_ssn(666, 45, 6789));
        assert!(!us_ssn(901, 45, 6789));
        assert!(!us_ssn(123, 0, 6789));
        assert!(!us_ssn(123, 45, 0));
        assert!(!us_ssn(78, 5, 1120));
    }

    #[test]
    fn entropy_of_a_repeated_byte_is_zero_and_of_random_text_is_high() {
        assert!(shannon_entropy(b"aaaaaaaa").abs() < f64::EPSILON);
        assert!(shannon_entropy(b"q8Zr2LpX0vN4tYw7Ks1MbC3d") > 4.0);
    }
}
