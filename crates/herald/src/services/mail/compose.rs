//! A message's two parts, plain text and HTML, from one description: the organisation's name
//! at the top, paragraphs, an optional button-like link, and why the reader gets it. Nothing
//! secret goes in, except an invitation's own link, which is the point of that message.

/// What a message says.
#[derive(Clone, PartialEq)]
pub struct Letter {
    pub organisation: String,
    pub subject: String,
    pub paragraphs: Vec<String>,
    /// A link to act on, with what it does (`Open the invitation`).
    pub action: Option<(String, String)>,
    /// Why the reader gets this, at the bottom.
    pub footer: String,
}

debug_without_secrets!(Letter);

/// The two parts of a letter.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Parts {
    pub text: String,
    pub html: String,
    /// For digests: where to choose fewer messages (`List-Unsubscribe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<String>,
}

debug_without_secrets!(Parts);

impl Letter {
    pub fn parts(&self) -> Parts {
        let mut text = format!("{}\n\n", self.organisation);
        let mut html = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
             <body style=\"font-family: sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 40em\">\
             <p style=\"color: #555\">{}</p>",
            escape(&self.subject),
            escape(&self.organisation)
        );
        for paragraph in &self.paragraphs {
            text.push_str(paragraph);
            text.push_str("\n\n");
            html.push_str(&format!(
                "<p>{}</p>",
                escape(paragraph).replace('\n', "<br>")
            ));
        }
        if let Some((label, url)) = &self.action {
            text.push_str(&format!("{label}:\n{url}\n\n"));
            html.push_str(&format!(
                "<p><a href=\"{}\" style=\"display: inline-block; padding: 0.5em 1em; background: #1d4ed8; color: #fff; text-decoration: none; border-radius: 4px\">{}</a></p>\
                 <p style=\"font-size: 0.9em; color: #555\">{}</p>",
                escape(url),
                escape(label),
                escape(url)
            ));
        }
        text.push_str(&format!("-- \n{}\n", self.footer));
        html.push_str(&format!(
            "<hr><p style=\"font-size: 0.9em; color: #555\">{}</p></body></html>",
            escape(&self.footer)
        ));
        Parts {
            text,
            html,
            unsubscribe: None,
        }
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_carry_the_organisation_the_text_and_the_link_with_html_escaped() {
        let parts = Letter {
            organisation: "Sunny <Café>".to_owned(),
            subject: "Hello".to_owned(),
            paragraphs: vec!["Fish & chips".to_owned()],
            action: Some(("Open".to_owned(), "https://h.example/a?b=1&c=2".to_owned())),
            footer: "Because.".to_owned(),
        }
        .parts();
        assert!(parts.text.starts_with("Sunny <Café>\n"));
        assert!(parts.text.contains("Fish & chips"));
        assert!(parts.text.contains("https://h.example/a?b=1&c=2"));
        assert!(parts.html.contains("Sunny &lt;Café&gt;"));
        assert!(parts.html.contains("Fish &amp; chips"));
        assert!(
            parts
                .html
                .contains("href=\"https://h.example/a?b=1&amp;c=2\"")
        );
        assert!(!parts.html.contains("<Café>"));
    }
}
