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
    /// The rules as a form (owners): contacts, lists and each built-in rule's action.
    form: Option<RulesFormView>,
    /// The organisation's domains and handles, one a line, for the owners' editor.
    domains: String,
    handles: String,
    acknowledgements: Vec<Acknowledgement>,
    draft: String,
    findings: Option<Vec<FindingRow>>,
    error: Option<String>,
    script: String,
}

impl PolicyPage {
    fn actions(&self) -> [(&'static str, &'static str); 4] {
        RULE_ACTIONS
    }
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
    /// The "ask everyone to list their own profiles" box, when ticked.
    #[serde(default)]
    asks_for_staff_profiles: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RulesForm {
    #[serde(default)]
    rules: String,
}

/// The rules form: one entry a line in each list, and `rule.<id>` = `off`, `warn`,
/// `require_approval` or `block` for each built-in rule. Every value is text, so the rule
/// choices are read from the flattened rest.
#[derive(Debug, Deserialize)]
pub struct RuleChoicesForm {
    #[serde(default)]
    company_emails: String,
    #[serde(default)]
    company_phones: String,
    #[serde(default)]
    company_addresses: String,
    #[serde(default)]
    links_allow: String,
    #[serde(default)]
    confidential: String,
    #[serde(default)]
    profanity: String,
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, String>,
}

/// The rules form as the page fills it in.
#[derive(Debug, Default)]
struct RulesFormView {
    company_emails: String,
    company_phones: String,
    company_addresses: String,
    links_allow: String,
    confidential: String,
    profanity: String,
    rules: Vec<RuleChoice>,
}

#[derive(Debug)]
struct RuleChoice {
    id: String,
    title: &'static str,
    message: String,
    /// `off`, `warn`, `require_approval` or `block`.
    chosen: String,
}

/// The actions a rule may take in the form, in people's words.
const RULE_ACTIONS: [(&str, &str); 4] = [
    ("block", "Blocks posting"),
    ("require_approval", "Needs approval"),
    ("warn", "Warning"),
    ("off", "Off"),
];

fn lines(list: &[String]) -> String {
    list.join("\n")
}

fn listed(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

impl RulesFormView {
    fn of(policy: &guard::Policy) -> RulesFormView {
        let rules = guard::Scanner::built_in_rules()
            .into_iter()
            .map(|rule| {
                let setting = policy.rules.iter().find(|setting| setting.id == rule.id);
                let chosen = match setting {
                    Some(setting) if !setting.enabled => "off",
                    Some(setting) => setting.action.unwrap_or(rule.action).as_str(),
                    None => rule.action.as_str(),
                };
                RuleChoice {
                    title: rule.id.title(),
                    id: rule.id.as_str().to_owned(),
                    message: rule.message,
                    chosen: chosen.to_owned(),
                }
            })
            .collect();
        RulesFormView {
            company_emails: lines(&policy.company.emails),
            company_phones: lines(&policy.company.phones),
            company_addresses: lines(&policy.company.addresses),
            links_allow: lines(&policy.links.allow),
            confidential: lines(&policy.terms.confidential),
            profanity: lines(&policy.terms.profanity.words),
            rules,
        }
    }
}

/// The form's choices applied to `policy`: its lists replaced, each built-in rule's override
/// written only where it differs from the rule's default; custom rules kept as they are.
fn apply(mut policy: guard::Policy, form: &RuleChoicesForm) -> Result<guard::Policy, AppError> {
    policy.company.emails = listed(&form.company_emails);
    policy.company.phones = listed(&form.company_phones);
    policy.company.addresses = listed(&form.company_addresses);
    policy.links.allow = listed(&form.links_allow);
    policy.terms.confidential = listed(&form.confidential);
    policy.terms.profanity.words = listed(&form.profanity);
    for rule in guard::Scanner::built_in_rules() {
        let Some(chosen) = form.rest.get(&format!("rule.{}", rule.id.as_str())) else {
            continue;
        };
        let (enabled, action) = match chosen.as_str() {
            "off" => (false, None),
            "warn" => (true, Some(guard::Action::Warn)),
            "require_approval" => (true, Some(guard::Action::RequireApproval)),
            "block" => (true, Some(guard::Action::Block)),
            other => {
                return Err(AppError::invalid(
                    "rules",
                    format!(
                        "\"{other}\" is not an action for {}; choose one from the list",
                        rule.id
                    ),
                ));
            }
        };
        let existing = policy
            .rules
            .iter()
            .position(|setting| setting.id == rule.id);
        let default = enabled && action == Some(rule.action);
        match existing {
            Some(at)
                if default
                    && policy.rules[at].severity.is_none()
                    && policy.rules[at].message.is_none() =>
            {
                policy.rules.remove(at);
            }
            Some(at) => {
                policy.rules[at].enabled = enabled;
                policy.rules[at].action = action;
            }
            None if default => {}
            None => policy.rules.push(guard::RuleSetting {
                id: rule.id.clone(),
                enabled,
                severity: None,
                action,
                pattern: None,
                message: None,
                location: None,
            }),
        }
    }
    Ok(policy)
}

/// Saves the rules form: the same rules as the TOML editor writes, read back the same way.
pub async fn save_rule_choices(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<RuleChoicesForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManagePolicy)?;
    let now = state.clock.now();
    let current = policy::rules(&state.store).await?.source;
    let (policy_now, _) = guard::Policy::from_toml_lenient(&current)
        .map_err(|error| AppError::Internal(format!("stored policy rules: {error}")))?;
    let saved = match apply(policy_now, &form) {
        Ok(changed) => match changed.to_toml() {
            Ok(source) => {
                policy::save(&state.store, &state.policy, &caller.user, &source, now).await
            }
            Err(error) => Err(AppError::Internal(error.to_string())),
        },
        Err(error) => Err(error),
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/policy#rules-form").into_response()),
        Err(error) => failed(&state, &caller, error, View::default()).await,
    }
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
    let asks = form.asks_for_staff_profiles.is_some();
    match policy::publish(&state.store, &caller.user, &form.markdown, asks, now).await {
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
    let form = if is_owner {
        let source = policy::rules(&state.store).await?.source;
        guard::Policy::from_toml_lenient(&source)
            .ok()
            .map(|(policy, _)| RulesFormView::of(&policy))
    } else {
        None
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
        layout: Layout::signed_in("Social media policy · Herald", "/policy", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        document_html: document
            .as_ref()
            .map(|document| markdown_to_safe_html(&document.markdown))
            .unwrap_or_default(),
        document,
        is_owner,
        form,
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
