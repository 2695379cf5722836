//! Talking to the SMTP server (lettre over rustls): the transport `[mail]` describes, the
//! message as sent (both parts, a stable Message-ID, `List-Unsubscribe` for digests), and what
//! a failure means in the operator's words. The password never leaves the transport.

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::compose::Parts;
use crate::config::{MailConfig, MailSecurity};

/// Why a message was not sent, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub explanation: String,
    /// Trying again cannot help (the server refused the address itself).
    pub permanent: bool,
}

impl SendError {
    fn retry(explanation: impl Into<String>) -> SendError {
        SendError {
            explanation: explanation.into(),
            permanent: false,
        }
    }

    fn permanent(explanation: impl Into<String>) -> SendError {
        SendError {
            explanation: explanation.into(),
            permanent: true,
        }
    }
}

/// Sends one message to `recipient`. `message_id` is the same on every try, so a server or
/// reader that sees one message twice (a crash between sending and recording it) can tell.
pub async fn send(
    config: &MailConfig,
    recipient: &str,
    subject: &str,
    parts: &Parts,
    message_id: &str,
) -> Result<(), SendError> {
    let message = build(config, recipient, subject, parts, message_id)?;
    let transport = transport(config)?;
    transport
        .send(message)
        .await
        .map(drop)
        .map_err(|error| explain(config, recipient, &error))
}

fn build(
    config: &MailConfig,
    recipient: &str,
    subject: &str,
    parts: &Parts,
    message_id: &str,
) -> Result<Message, SendError> {
    let from: Mailbox = config
        .from
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|_| SendError::retry("mail.from is not an e-mail address Herald can send from"))?;
    let to = address(recipient).ok_or_else(|| {
        SendError::permanent(format!(
            "{recipient} is not an e-mail address Herald can send to"
        ))
    })?;
    let domain = from.email.domain().to_owned();
    let mut builder = Message::builder()
        .from(from)
        .to(Mailbox::new(None, to))
        .subject(subject)
        .message_id(Some(format!("<{message_id}@{domain}>")))
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")).to_owned());
    if let Some(unsubscribe) = &parts.unsubscribe {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{unsubscribe}>"),
        ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            parts.text.clone(),
            parts.html.clone(),
        ))
        .map_err(|error| {
            SendError::retry(format!("the message could not be put together: {error}"))
        })
}

/// The address as sent: a domain with letters beyond ASCII goes in its ASCII (punycode) form,
/// so only a local part beyond ASCII needs a server that takes SMTPUTF8.
fn address(recipient: &str) -> Option<Address> {
    let (local, domain) = recipient.trim().rsplit_once('@')?;
    let domain = idna::domain_to_ascii(domain).ok()?;
    Address::new(local, domain).ok()
}

fn transport(config: &MailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
    let host = config
        .host
        .clone()
        .ok_or_else(|| SendError::retry("no mail server is configured ([mail] host)"))?;
    let tls = match config.security {
        MailSecurity::None => Tls::None,
        MailSecurity::Tls => Tls::Wrapper(tls_parameters(config, &host)?),
        MailSecurity::Starttls => Tls::Required(tls_parameters(config, &host)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(config.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(config.timeout_seconds)));
    if let Some(username) = &config.username {
        let password = config
            .password
            .as_ref()
            .map(|password| password.expose_secret().to_owned())
            .unwrap_or_default();
        builder = builder
            .credentials(Credentials::new(username.clone(), password))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(builder.build())
}

fn tls_parameters(config: &MailConfig, host: &str) -> Result<TlsParameters, SendError> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path).map_err(|error| {
            SendError::retry(format!(
                "mail.ca_file {} cannot be read: {error}",
                path.display()
            ))
        })?;
        let certificate = Certificate::from_pem(&pem).map_err(|_| {
            SendError::retry(format!(
                "mail.ca_file {} holds no PEM certificate",
                path.display()
            ))
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|error| SendError::retry(format!("TLS could not be set up: {error}")))
}

/// What a failure means. SMTP codes: 535/534/530 refuse the sign-in; 550/551/553 at RCPT
/// refuse the address; 4xx is "try later".
fn explain(
    config: &MailConfig,
    recipient: &str,
    error: &lettre::transport::smtp::Error,
) -> SendError {
    let server = format!(
        "{}:{}",
        config.host.as_deref().unwrap_or_default(),
        config.port
    );
    let said = error.to_string();
    let code = error.status().map(|code| code.to_string());
    match code.as_deref() {
        Some("535" | "534" | "530" | "538") => {
            return SendError::retry(format!(
                "The mail server {server} refused the user name or password Herald signs in with (mail.username, mail.password). Check them; waiting messages are sent once it accepts them. The server said: {said}"
            ));
        }
        Some("550" | "551" | "553" | "501" | "554") => {
            return SendError::permanent(format!(
                "The mail server {server} refused the address {recipient}. The server said: {said}"
            ));
        }
        _ => {}
    }
    if said.contains("STARTTLS is not supported") {
        return SendError::retry(format!(
            "The mail server {server} does not offer STARTTLS, and Herald does not send mail unencrypted. Use security = \"tls\" if it takes TLS from the first byte (often port 465), or another server."
        ));
    }
    if said.contains("SMTPUTF8") {
        return SendError::permanent(format!(
            "The mail server {server} cannot take the address {recipient}: it has letters beyond ASCII before the @, and the server does not support SMTPUTF8."
        ));
    }
    if error.is_tls() {
        return SendError::retry(format!(
            "TLS with the mail server {server} failed (is its certificate valid for this name, or trusted through mail.ca_file? is security = \"tls\" or \"starttls\" right for port {}?). {said}",
            config.port
        ));
    }
    if error.is_timeout() {
        return SendError::retry(format!(
            "The mail server {server} did not answer in {} seconds; Herald tries again later.",
            config.timeout_seconds
        ));
    }
    if error.is_transient() {
        return SendError::retry(format!(
            "The mail server {server} asked Herald to try again later. The server said: {said}"
        ));
    }
    SendError::retry(format!(
        "Herald could not send through the mail server {server}; it tries again later. {said}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_beyond_ascii_is_sent_in_its_ascii_form() {
        let sent = address("bea@café.example").expect("address");
        assert_eq!(sent.to_string(), "bea@xn--caf-dma.example");
        assert!(address("not an address").is_none());
    }
}
