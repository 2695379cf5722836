//! The policy page: the company's social media policy to read and acknowledge, a box to check
//! a draft against it (live as you type where JavaScript runs, by a button where it does not),
//! and for owners the editors for the policy's words and its rules.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use pulldown_cmark::{Event, Options, Parser, Tag};
use serde::Deserialize;

use super::{Layout, PageError, message, render, status_of};
use crate::domain::access::Permission;
use crate::domain::people::Role;
use crate::http::auth::{Caller, CsrfForm};
use crate::http::{ApiError, AppState, assets};
use crate::services::AppError;
use crate::services::policy::{self, Acknowledgement, Document};

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    layout: Layout,
    csrf: String,
    document: Option<Document>,
    /// The document rendered to HTML with raw HTML escaped: safe to include as is.
    document_html: String,
    is_owner: bool,
    rules: String,
    /// The organisation's domains and handles, one a line, for the owners' editor.
    domains: String,
    handles: String,
    acknowledgements: Vec<Acknowledgement>,
    draft: String,
    findings: Option<Vec<FindingRow>>,
    error: Option<String>,
    script: String,
}

struct FindingRow {
    rule: String,
    action: String,
    excerpt: String,
    message: String,
}

#[derive(Debug, Deserialize)]
pub struct AcknowledgeForm {
    #[serde(default)]
    version: i64,
}

#[derive(Debug, Deserialize)]
pub struct DocumentForm {
    #[serde(default)]
    markdown: String,
}

#[derive(Debug, Deserialize)]
pub struct RulesForm {
    #[serde(default)]
    rules: String,
}

#[derive(Debug, Deserialize)]
pub struct NamesForm {
    #[serde(default)]
    domains: String,
    #[serde(default)]
    handles: String,
}

#[derive(Debug, Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    draft: String,
}

pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::UsePolicy)?;
    view(&state, &caller, View::default(), StatusCode::OK).await
}

pub async fn acknowledge(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<AcknowledgeForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::UsePolicy)?;
    let now = state.clock.now();
    match policy::acknowledge(&state.store, &caller.user, form.version, now).await {
        Ok(()) => Ok(Redirect::to("/policy").into_response()),
        Err(error) => failed(&state, &caller, error, View::default()).await,
    }
}

pub async fn publish(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<DocumentForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManagePolicy)?;
    let now = state.clock.now();
    match policy::publish(&state.store, &caller.user, &form.markdown, now).await {
        Ok(_) => Ok(Redirect::to("/policy").into_response()),
        Err(error) => failed(&state, &caller, error, View::default()).await,
    }
}

pub async fn save_rules(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<RulesForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManagePolicy)?;
    let now = state.clock.now();
    match policy::save(&state.store, &state.policy, &caller.user, &form.rules, now).await {
        Ok(_) => Ok(Redirect::to("/policy").into_response()),
        Err(error) => {
            // The owner's text stays in the editor so nothing they typed is lost.
            let kept = View {
                rules: Some(form.rules),
                ..View::default()
            };
            failed(&state, &caller, error, kept).await
        }
    }
}

/// The organisation's own domains and handles (owners), one a line.
pub async fn save_names(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<NamesForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManagePolicy)?;
    let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<String>>();
    let (domains, handles) = (lines(&form.domains), lines(&form.handles));
    let now = state.clock.now();
    match crate::services::links::save_names(&state.store, &caller.user, &domains, &handles, now)
        .await
    {
        Ok(_) => Ok(Redirect::to("/policy#names-heading").into_response()),
        Err(error) => {
            // What the owner typed stays in the boxes.
            let kept = View {
                names: Some((form.domains, form.handles)),
                ..View::default()
            };
            failed(&state, &caller, error, kept).await
        }
    }
}

pub async fn check(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<CheckForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::UsePolicy)?;
    let (findings, _) = policy::scan_reaching(
        &state.store,
        &state.policy,
        &form.draft,
        state.clock.now(),
        crate::services::links::Reach::ShortLinksWithin(crate::services::links::LIVE_EXPANSION),
    )
    .await
    .map_err(ApiError::from)?;
    let rows = findings
        .into_iter()
        .map(|finding| FindingRow {
            rule: finding.rule.as_str().to_owned(),
            action: action_label(finding.action).to_owned(),
            excerpt: finding.excerpt,
            message: finding.message,
        })
        .collect();
    let shown = View {
        draft: form.draft,
        findings: Some(rows),
        ..View::default()
    };
    view(&state, &caller, shown, StatusCode::OK).await
}

/// What a page shows beyond the stored state: a checked draft, an owner's rejected rules.
#[derive(Default)]
struct View {
    draft: String,
    findings: Option<Vec<FindingRow>>,
    rules: Option<String>,
    /// The owner's rejected domains and handles, as typed.
    names: Option<(String, String)>,
    error: Option<String>,
}

async fn failed(
    state: &AppState,
    caller: &Caller,
    error: AppError,
    shown: View,
) -> Result<Response, PageError> {
    let status = status_of(&error);
    let shown = View {
        error: Some(message(error)),
        ..shown
    };
    view(state, caller, shown, status).await
}

async fn view(
    state: &AppState,
    caller: &Caller,
    shown: View,
    status: StatusCode,
) -> Result<Response, PageError> {
    let document = policy::document(&state.store, &caller.user)
        .await
        .map_err(ApiError::from)?;
    let is_owner = caller.user.role == Role::Owner;
    let rules = match shown.rules {
        Some(rules) => rules,
        None if is_owner => {
            policy::rules(&state.store)
                .await
                .map_err(ApiError::from)?
                .source
        }
        None => String::new(),
    };
    let (domains, handles) = match shown.names {
        Some(typed) => typed,
        None if is_owner => {
            let names = crate::services::links::names(&state.store)
                .await
                .map_err(ApiError::from)?;
            (names.domains.join("\n"), names.handles.join("\n"))
        }
        None => (String::new(), String::new()),
    };
    let acknowledgements = if caller.user.role >= Role::Admin {
        policy::acknowledgements(&state.store)
            .await
            .map_err(ApiError::from)?
    } else {
        Vec::new()
    };
    let page = PolicyPage {
        layout: Layout::signed_in("Social media policy · Herald", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        document_html: document
            .as_ref()
            .map(|document| markdown_to_safe_html(&document.markdown))
            .unwrap_or_default(),
        document,
        is_owner,
        rules,
        domains,
        handles,
        acknowledgements,
        draft: shown.draft,
        findings: shown.findings,
        error: shown.error,
        script: assets::url("draft.js"),
    };
    Ok(render(status, &page))
}

fn action_label(action: guard::Action) -> &'static str {
    match action {
        guard::Action::Warn => "warning",
        guard::Action::RequireApproval => "needs approval",
        guard::Action::Block => "blocks posting",
    }
}

/// Markdown to HTML for the policy page. Raw HTML in the text is shown as text, and links
/// other than http(s), mailto and relative ones lose their target, so the policy's author
/// cannot put script into other members' pages.
pub fn markdown_to_safe_html(markdown: &str) -> String {
    let events = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: if safe_link(&dest_url) {
                dest_url
            } else {
                "#".into()
            },
            title,
            id,
        }),
        Event::Start(Tag::Image { title, .. }) => Event::Text(title),
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

fn safe_link(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || lower.starts_with('/')
        || lower.starts_with('#')
        || !lower.contains(':')
}

#[cfg(test)]
mod tests {
    use super::markdown_to_safe_html;

    #[test]
    fn markdown_keeps_formatting_but_not_html_or_script_links() {
        let html = markdown_to_safe_html(
            "# Our policy\n\n**Never** post <script>alert(1)</script> or [this](javascript:alert(1)); see [the guide](https://example.com/guide).",
        );
        assert!(html.contains("<h1>Our policy</h1>"), "{html}");
        assert!(html.contains("<strong>Never</strong>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            html.contains("href=\"https://example.com/guide\""),
            "{html}"
        );
    }
}
