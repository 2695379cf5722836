//! Each built-in detector: what it must find, and the near misses it must leave alone.

use crate::{findings_of, rules_in, rules_with, scanner_for};

fn fires(rule: &str, text: &str) {
    assert!(
        !findings_of(text, rule).is_empty(),
        "{rule} should fire on {text:?}; got {:?}",
        rules_in(text)
    );
}

fn silent(rule: &str, text: &str) {
    assert!(
        findings_of(text, rule).is_empty(),
        "{rule} should not fire on {text:?}"
    );
}

#[test]
fn an_email_address_is_personal_data() {
    fires(
        "pii.email",
        "Any questions? Email jane.doe@example.com directly.",
    );
    silent(
        "pii.email",
        "Find us on Instagram @cafe_example and say hi!",
    );
    // A fediverse handle is written like an address after an "@": a public name, not an address.
    silent(
        "pii.email",
        "Thanks @fan@mastodon.social, see you Saturday!",
    );
    fires(
        "pii.email",
        "Thanks @fan@mastodon.social, and write to jane.doe@example.com for bookings.",
    );
}

#[test]
fn phone_numbers_in_national_and_international_formats_are_found() {
    for text in [
        "Call Sam on +44 20 7946 0958 for a viewing.",
        "Ring (555) 123-4567 to book.",
        "Text +1-202-555-0143 any time.",
        "Our manager is on 020 7946 0958.",
        "Mobile: 07700 900123",
        "Call 555-123-4567 or 1-800-555-0199.",
        "WhatsApp +33 6 12 34 56 78",
    ] {
        fires("pii.phone", text);
    }
}

#[test]
fn dates_prices_versions_and_order_numbers_are_not_phone_numbers() {
    for text in [
        "Doors open 2026-11-23 at 7pm.",
        "See you on 23/11/2026!",
        "Now only £1,299.00 (was £1,499.00).",
        "Version 1.2.3 is out, and v10.4.1 fixes the sync bug.",
        "Order #10023456 has shipped.",
        "Open 09.00-17.30 every day, 2024 2025 2026 seasons.",
        "Release 2026.11.23 is live.",
        "Tracking number 1234 5678 9012 3456.",
    ] {
        silent("pii.phone", text);
        silent("pii.card", text);
    }
}

#[test]
fn a_card_number_is_found_only_when_the_luhn_check_passes() {
    fires("pii.card", "Card: 4111 1111 1111 1111 exp 12/28");
    fires("pii.card", "pay with 4111-1111-1111-1111 please");
    fires("pii.card", "amex 3782 822463 10005");
    silent("pii.card", "Gift card 4111 1111 1111 1112 is yours");
    silent("pii.card", "Order ref 1234567812345678 confirmed");
}

#[test]
fn an_iban_is_found_only_with_valid_check_digits_and_length() {
    fires("pii.iban", "Pay to GB82WEST12345698765432 by Friday");
    fires("pii.iban", "IBAN GB82 WEST 1234 5698 7654 32 thanks");
    fires("pii.iban", "DE89 3704 0044 0532 0130 00");
    silent("pii.iban", "Pay to GB82WEST12345698765433 by Friday");
    silent("pii.iban", "Code GB12ABCD1234 is not an account");
}

#[test]
fn a_national_insurance_number_follows_the_official_prefix_rules() {
    fires("pii.uk_nino", "Her NI number is AB 12 34 56 C.");
    fires("pii.uk_nino", "NI: JG103759A");
    silent("pii.uk_nino", "GB 12 34 56 A is not allocated");
    silent("pii.uk_nino", "QQ123456C is the sample HMRC uses");
}

#[test]
fn a_social_security_number_excludes_never_issued_ranges() {
    fires("pii.us_ssn", "SSN 123-45-6789 on file");
    silent("pii.us_ssn", "SSN 666-45-6789 on file");
    silent("pii.us_ssn", "SSN 000-12-3456 on file");
    silent("pii.us_ssn", "SSN 123-00-6789 on file");
}

#[test]
fn street_addresses_with_a_postcode_or_zip_are_found() {
    fires(
        "pii.address",
        "Parcel for 123 Main Street, Springfield, IL 62704 please",
    );
    fires(
        "pii.address",
        "Drop it at 42 Acacia Avenue, Bristol BS1 4DJ tomorrow",
    );
    fires("pii.address", "She lives at 7 Elm Road, London SW1A 1AA.");
    silent("pii.address", "Open 7 days a week on the High Street");
}

#[test]
fn the_companys_own_contact_details_never_trigger() {
    let scanner = scanner_for(
        r#"
        [company]
        emails = ["hello@cafe.example", "@staff.cafe.example"]
        phones = ["+44 20 7946 0000"]
        addresses = ["1 High Street, Bath BA1 1AA"]
        "#,
    );
    let text = "Book at hello@cafe.example or ann@staff.cafe.example, call 020 7946 0000 \
                or +44 (0)20 7946 0000, or visit 1 High Street, Bath BA1 1AA.";
    assert_eq!(rules_with(&scanner, text), Vec::<String>::new());
    assert_eq!(rules_with(&scanner, "or call 020 7946 0958"), ["pii.phone"]);
}

#[test]
fn provider_tokens_are_found_by_their_documented_prefixes() {
    let cases = [
        ("secret.aws_key", "key AKIAIOSFODNN7EXAMPLE here"),
        (
            "secret.aws_key",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        (
            "secret.github_token",
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 oops",
        ),
        (
            "secret.github_token",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
        ),
        (
            "secret.slack_token",
            "bot token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        ),
        (
            "secret.slack_token",
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        ),
        ("secret.stripe_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
        (
            "secret.google_api_key",
            "AIzaSyA1234567890abcdefghijklmnopqrstuv",
        ),
        (
            "secret.openai_key",
            "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz012345",
        ),
        ("secret.gitlab_token", "glpat-abcdefghij0123456789"),
        (
            "secret.npm_token",
            "npm_abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        (
            "secret.sendgrid_key",
            "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        ),
        (
            "secret.jwt",
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
    ];
    for (rule, text) in cases {
        fires(rule, text);
    }
}

#[test]
fn a_stripe_test_key_is_reported_at_a_lower_severity_than_a_live_key() {
    let live = findings_of("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "secret.stripe_key");
    let test = findings_of("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "secret.stripe_key");
    let (Some(live), Some(test)) = (live.first(), test.first()) else {
        panic!("both keys should be found");
    };
    assert!(test.severity < live.severity);
    assert!(test.action < live.action);
}

#[test]
fn a_private_key_block_is_one_finding() {
    let text = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n-----END RSA PRIVATE KEY-----";
    let rules = rules_in(text);
    assert_eq!(rules, ["secret.private_key"]);
    assert_eq!(
        findings_of(text, "secret.private_key")
            .first()
            .map(|f| f.span.clone()),
        Some(0..text.len())
    );
}

#[test]
fn shared_passwords_and_pins_are_found() {
    fires("secret.password_disclosure", "password: hunter2");
    fires("secret.password_disclosure", "pwd=Sup3rS3cret");
    fires(
        "secret.password_disclosure",
        "the wifi password is CoffeeTime2024",
    );
    fires("secret.password_disclosure", "Staff: the door code is 4821");
    silent(
        "secret.password_disclosure",
        "Your password is required to continue.",
    );
    silent(
        "secret.password_disclosure",
        "Forgot your password? Reset it below.",
    );
    silent(
        "secret.password_disclosure",
        "The wifi password is on the menu.",
    );
    silent(
        "secret.password_disclosure",
        "Use promo code SUMMER20 at the till.",
    );
}

#[test]
fn long_random_tokens_are_high_entropy_and_words_urls_hashtags_and_uuids_are_not() {
    fires(
        "secret.high_entropy",
        "temp key q8Zr2LpX0vN4tYw7Ks1MbC3d9Hf",
    );
    for text in [
        "Happy #SmallBusinessSaturday2024 everyone!",
        "Read it at https://example.com/blog/2024/our-summer-menu-is-here",
        "Your order 123e4567-e89b-12d3-a456-426614174000 is on its way",
        "Fixed in commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
        "Internationalisation and responsibilities",
        "https://drive.google.com/file/d/1A2b3C4d5E6f7G8h9I0jKlMnOpQrStUvW/view",
    ] {
        silent("secret.high_entropy", text);
    }
}

#[test]
fn confidential_terms_are_found_through_case_accents_spacing_and_lookalikes() {
    let scanner = scanner_for(
        r#"
        [terms]
        confidential = ["Project Falcon", "Acme Corp", "internal only"]
        "#,
    );
    for text in [
        "Sneak peek of project falcon!",
        "Sneak peek of P r o j e c t  F a l c o n!",
        "Sneak peek of proj-ect fal-con!",
        "Sneak peek of PR0J3CT F4LC0N!",
        "Sneak peek of Prоject Fаlcon!",
        "Sneak peek of Projéct Fälcon!",
        "Thanks to our friends at @AcmeCorp",
        "INTERNAL ONLY: new rota",
    ] {
        assert_eq!(rules_with(&scanner, text), ["term.confidential"], "{text}");
    }
    for text in [
        "Falcons are lovely birds",
        "Projection falconry",
        "acme corporation",
    ] {
        assert_ne!(rules_with(&scanner, text), ["term.confidential"], "{text}");
    }
}

#[test]
fn a_confidential_term_span_covers_the_original_text() {
    let scanner = scanner_for("[terms]\nconfidential = [\"Project Falcon\"]\n");
    let text = "Big news: Prоjéct  F-a-l-c-o-n launches!";
    let findings = scanner.scan(text);
    let span = findings.first().map(|f| f.span.clone()).unwrap_or_default();
    assert_eq!(text.get(span), Some("Prоjéct  F-a-l-c-o-n"));
}

#[test]
fn shortened_links_raw_ips_punycode_and_mixed_scripts_are_flagged() {
    fires("link.shortened", "Grab the deal at bit.ly/3xYz12 today");
    fires("link.shortened", "https://t.co/abc123");
    fires("link.ip_address", "Menu at http://192.168.10.20/menu.pdf");
    fires("link.punycode", "Log in at https://xn--pple-43d.com/");
    fires("link.mixed_script", "Log in at https://аpple.com/ now");
    silent("link.shortened", "Our site is https://example.com");
}

#[test]
fn link_not_allowed_fires_only_when_an_allow_list_is_set() {
    let text = "See https://example.com and https://shop.cafe.example/menu";
    assert!(rules_in(text).is_empty(), "{:?}", rules_in(text));
    let scanner = scanner_for("[links]\nallow = [\"cafe.example\"]\n");
    assert_eq!(rules_with(&scanner, text), ["link.not_allowed"]);
}

#[test]
fn personal_tone_is_a_warning() {
    let findings = findings_of("So hungover after last night lol", "tone.personal");
    assert_eq!(
        findings.first().map(|f| f.action),
        Some(guard::Action::Warn)
    );
    fires("tone.personal", "Everyone vote Labour on Thursday!");
    silent("tone.personal", "Our hangover brunch is back this Sunday!");
    silent(
        "tone.personal",
        "Please vote for us in the Best Café awards!",
    );
}

#[test]
fn profanity_is_found_on_word_boundaries_and_through_disguises() {
    fires("tone.profanity", "This is sh1t service");
    fires("tone.profanity", "What the f u c k");
    fires("tone.profanity", "absolutely fucking brilliant");
    silent(
        "tone.profanity",
        "First class assessment of the Scunthorpe shiitake harvest",
    );
    silent("tone.profanity", "Tickets £455 each");
}

#[test]
fn ordinary_prose_and_a_normal_link_raise_nothing() {
    let text = "Fresh sourdough is out of the oven! Pop in before 11am for a warm loaf and a \
                flat white. Full menu at https://example.com/menu - see you soon. #ShopLocal";
    assert_eq!(rules_in(text), Vec::<String>::new());
}
