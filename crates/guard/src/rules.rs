//! The catalogue of built-in rules: each id with its default severity, action and message.
//!
//! Detectors name rules by the [`Builtin`] variants here, and the scanner looks the policy's
//! overrides up by the same ids, so a rule's defaults live in exactly one place.

use crate::finding::{Action, RuleId, Severity};

/// Every built-in rule. The discriminant indexes the scanner's settings table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    Email,
    Phone,
    Card,
    Iban,
    UkNino,
    UsSsn,
    Address,
    PrivateKey,
    AwsKey,
    GithubToken,
    SlackToken,
    StripeKey,
    GoogleApiKey,
    OpenaiKey,
    AnthropicKey,
    GitlabToken,
    NpmToken,
    SendgridKey,
    ShopifyToken,
    MailchimpKey,
    Jwt,
    PasswordDisclosure,
    HighEntropy,
    Confidential,
    Shortened,
    NotAllowed,
    IpAddress,
    Punycode,
    MixedScript,
    Personal,
    Profanity,
}

/// A built-in rule's id and defaults, as shipped.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Defaults {
    pub id: &'static str,
    pub severity: Severity,
    pub action: Action,
    pub message: &'static str,
}

impl Builtin {
    pub const ALL: [Builtin; 31] = [
        Builtin::Email,
        Builtin::Phone,
        Builtin::Card,
        Builtin::Iban,
        Builtin::UkNino,
        Builtin::UsSsn,
        Builtin::Address,
        Builtin::PrivateKey,
        Builtin::AwsKey,
        Builtin::GithubToken,
        Builtin::SlackToken,
        Builtin::StripeKey,
        Builtin::GoogleApiKey,
        Builtin::OpenaiKey,
        Builtin::AnthropicKey,
        Builtin::GitlabToken,
        Builtin::NpmToken,
        Builtin::SendgridKey,
        Builtin::ShopifyToken,
        Builtin::MailchimpKey,
        Builtin::Jwt,
        Builtin::PasswordDisclosure,
        Builtin::HighEntropy,
        Builtin::Confidential,
        Builtin::Shortened,
        Builtin::NotAllowed,
        Builtin::IpAddress,
        Builtin::Punycode,
        Builtin::MixedScript,
        Builtin::Personal,
        Builtin::Profanity,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn find(id: &str) -> Option<Builtin> {
        Builtin::ALL
            .into_iter()
            .find(|rule| rule.defaults().id == id)
    }

    pub fn rule_id(self) -> RuleId {
        RuleId::builtin(self.defaults().id)
    }

    pub fn defaults(self) -> Defaults {
        use Action::{Block, RequireApproval, Warn};
        use Severity::{Critical, High, Low, Medium};
        let (id, severity, action, message) = match self {
            Builtin::Email => (
                "pii.email",
                Medium,
                RequireApproval,
                "This looks like a personal email address. Remove it unless the person agreed to have it posted; use the company's own address instead.",
            ),
            Builtin::Phone => (
                "pii.phone",
                Medium,
                RequireApproval,
                "This looks like a personal phone number. Remove it unless the person agreed to have it posted; use the company's own number instead.",
            ),
            Builtin::Card => (
                "pii.card",
                Critical,
                Block,
                "This looks like a payment card number. Delete it: card numbers must never be posted, and the card should be treated as exposed if this was already shared.",
            ),
            Builtin::Iban => (
                "pii.iban",
                High,
                Block,
                "This looks like a bank account number (IBAN). Remove it; share bank details privately, never in a public post.",
            ),
            Builtin::UkNino => (
                "pii.uk_nino",
                High,
                Block,
                "This looks like a UK National Insurance number. Remove it: it identifies a person to the tax authorities and must stay private.",
            ),
            Builtin::UsSsn => (
                "pii.us_ssn",
                Critical,
                Block,
                "This looks like a US Social Security number. Remove it: it can be used to steal someone's identity.",
            ),
            Builtin::Address => (
                "pii.address",
                Medium,
                RequireApproval,
                "This looks like a postal address. Remove it unless it is a public business address and the owner agreed to have it posted.",
            ),
            Builtin::PrivateKey => (
                "secret.private_key",
                Critical,
                Block,
                "This is a private key. Delete it from the post and ask whoever looks after your systems to replace the key, since anyone who saw it can use it.",
            ),
            Builtin::AwsKey => (
                "secret.aws_key",
                Critical,
                Block,
                "This is an Amazon Web Services access key. Delete it and ask whoever runs your AWS account to deactivate the key straight away.",
            ),
            Builtin::GithubToken => (
                "secret.github_token",
                Critical,
                Block,
                "This is a GitHub access token. Delete it and revoke the token in GitHub's settings, since anyone who saw it can act as its owner.",
            ),
            Builtin::SlackToken => (
                "secret.slack_token",
                Critical,
                Block,
                "This is a Slack token or webhook address. Delete it and ask your Slack admin to regenerate it, or strangers could post into your workspace.",
            ),
            Builtin::StripeKey => (
                "secret.stripe_key",
                Critical,
                Block,
                "This is a Stripe secret key. Delete it and roll the key in the Stripe dashboard: it gives access to your payments.",
            ),
            Builtin::GoogleApiKey => (
                "secret.google_api_key",
                High,
                Block,
                "This is a Google API key. Delete it and restrict or regenerate the key in the Google Cloud console.",
            ),
            Builtin::OpenaiKey => (
                "secret.openai_key",
                Critical,
                Block,
                "This is an OpenAI API key. Delete it and revoke the key on the OpenAI platform; others could run up charges with it.",
            ),
            Builtin::AnthropicKey => (
                "secret.anthropic_key",
                Critical,
                Block,
                "This is an Anthropic API key. Delete it and revoke the key in the Anthropic console; others could run up charges with it.",
            ),
            Builtin::GitlabToken => (
                "secret.gitlab_token",
                Critical,
                Block,
                "This is a GitLab access token. Delete it and revoke the token in GitLab's settings.",
            ),
            Builtin::NpmToken => (
                "secret.npm_token",
                Critical,
                Block,
                "This is an npm access token. Delete it and revoke the token on npmjs.com, or others could publish packages in your name.",
            ),
            Builtin::SendgridKey => (
                "secret.sendgrid_key",
                Critical,
                Block,
                "This is a SendGrid API key. Delete it and revoke the key, or others could send email as your company.",
            ),
            Builtin::ShopifyToken => (
                "secret.shopify_token",
                Critical,
                Block,
                "This is a Shopify access token. Delete it and rotate it in your Shopify admin, since it opens your shop's data.",
            ),
            Builtin::MailchimpKey => (
                "secret.mailchimp_key",
                Critical,
                Block,
                "This is a Mailchimp API key. Delete it and regenerate the key in Mailchimp, since it opens your mailing lists.",
            ),
            Builtin::Jwt => (
                "secret.jwt",
                High,
                Block,
                "This is a login token (JWT). Delete it: whoever holds it may be able to sign in as someone else until it expires.",
            ),
            Builtin::PasswordDisclosure => (
                "secret.password_disclosure",
                Critical,
                Block,
                "This post seems to share a password or PIN. Delete it, and change that password, since anyone who saw the post could use it.",
            ),
            Builtin::HighEntropy => (
                "secret.high_entropy",
                Medium,
                RequireApproval,
                "This long random-looking code may be a password, key or access token. Remove it unless you are sure it is safe to share.",
            ),
            Builtin::Confidential => (
                "term.confidential",
                High,
                RequireApproval,
                "This mentions something on your company's confidential list (a code name, client or internal-only topic). Remove it or ask for approval.",
            ),
            Builtin::Shortened => (
                "link.shortened",
                Medium,
                Warn,
                "This is a shortened link, which hides where it really goes. Use the full address so readers (and you) can see the destination.",
            ),
            Builtin::NotAllowed => (
                "link.not_allowed",
                Medium,
                RequireApproval,
                "This link goes to a website that is not on your company's approved list. Check it is safe and ask for approval, or link to an approved site.",
            ),
            Builtin::IpAddress => (
                "link.ip_address",
                High,
                RequireApproval,
                "This link points at a bare server address instead of a website name, which is unusual and often unsafe. Use the website's normal address.",
            ),
            Builtin::Punycode => (
                "link.punycode",
                High,
                RequireApproval,
                "This link's address uses an encoded international name (xn--), which is often used to imitate well-known sites. Check it carefully before posting.",
            ),
            Builtin::MixedScript => (
                "link.mixed_script",
                High,
                Block,
                "This link's address mixes letters from different alphabets, a common trick to imitate a real site. Do not post it; type the real address instead.",
            ),
            Builtin::Personal => (
                "tone.personal",
                Low,
                Warn,
                "This sounds like a personal post (private life, drinking or politics). Check you are posting from the right account.",
            ),
            Builtin::Profanity => (
                "tone.profanity",
                Medium,
                RequireApproval,
                "This contains a word on your company's language list. Rephrase it before posting from the company account.",
            ),
        };
        Defaults {
            id,
            severity,
            action,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_rule_has_a_unique_dotted_id_and_is_documented_in_the_readme() {
        let readme = include_str!("../README.md");
        for (index, rule) in Builtin::ALL.iter().enumerate() {
            assert_eq!(rule.index(), index, "ALL must be in declaration order");
            let id = rule.defaults().id;
            assert!(RuleId::parse(id).is_ok(), "{id}");
            assert_eq!(Builtin::find(id), Some(*rule));
            assert!(
                readme.contains(&format!("| `{id}` |")),
                "{id} is missing from README.md"
            );
        }
    }
}
