//! What the OpenAPI document says about every operation beyond its own `#[utoipa::path]`:
//! the statuses that Herald's extractors and authentication answer for any route of a given
//! shape (a malformed parameter, a body that is not JSON, a caller who is not signed in), and the
//! two ways to authenticate. Written once here, so no operation can forget one.

use serde_json::{Map, Value, json};

use crate::domain::access::Scope;

/// The pattern every text field without one of its own gets: Herald refuses NUL characters
/// (PostgreSQL cannot store them), so the document says so.
const NO_NUL: &str = "^[^\\x00]*$";

/// Adds the shared responses to every operation, the security schemes to the components, and
/// the refusal of NUL characters to every free text field.
pub fn complete(document: &mut Value) {
    refuse_nul_in_text(document);
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for operations in paths.values_mut() {
            let Some(operations) = operations.as_object_mut() else {
                continue;
            };
            for operation in operations.values_mut() {
                add_shared_responses(operation);
            }
        }
    }
    let components = document
        .as_object_mut()
        .map(|document| document.entry("components").or_insert_with(|| json!({})));
    if let Some(components) = components.and_then(Value::as_object_mut) {
        let schemes = components
            .entry("securitySchemes")
            .or_insert_with(|| json!({}));
        if let (Some(schemes), Value::Object(ours)) = (schemes.as_object_mut(), security_schemes())
        {
            schemes.extend(ours);
        }
    }
}

/// Gives every string schema that has no format, pattern or list of values the [`NO_NUL`] pattern.
fn refuse_nul_in_text(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            let is_string = match fields.get("type") {
                Some(Value::String(kind)) => kind == "string",
                Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "string"),
                _ => false,
            };
            let constrained = ["format", "pattern", "enum", "const", "contentMediaType"]
                .iter()
                .any(|key| fields.contains_key(*key));
            if is_string && !constrained {
                fields.insert("pattern".to_owned(), Value::from(NO_NUL));
            }
            for (key, field) in fields.iter_mut() {
                // Examples are values, not schemas.
                if key != "example" && key != "examples" {
                    refuse_nul_in_text(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(refuse_nul_in_text),
        _ => {}
    }
}

fn add_shared_responses(operation: &mut Value) {
    // Operations for members (a token or a session); `/metrics` has a scheme of its own and
    // documents its own answers.
    let secured = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|requirements| {
            requirements.iter().any(|requirement| {
                requirement.get("token").is_some() || requirement.get("session").is_some()
            })
        });
    let takes_parameters = operation
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|parameters| !parameters.is_empty());
    let body_types: Vec<String> = operation
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
        .map(|content| content.keys().cloned().collect())
        .unwrap_or_default();
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if takes_parameters {
        add(
            responses,
            "400",
            "A path or query parameter is missing or malformed (`field` names it)",
        );
    }
    if body_types.iter().any(|kind| kind == "application/json") {
        add(
            responses,
            "400",
            "The body is not valid JSON, or a path or query parameter is malformed",
        );
        add(
            responses,
            "415",
            "The body is not sent as `Content-Type: application/json`",
        );
        add(
            responses,
            "422",
            "A field is missing, of the wrong type, or not acceptable (`field` names it)",
        );
    }
    if !body_types.is_empty() {
        add(
            responses,
            "413",
            "The body is larger than Herald accepts (`http.max_body_bytes`, 1 MiB by default; 20 MiB for media)",
        );
    }
    if secured {
        add(
            responses,
            "401",
            "Not signed in: no session cookie or bearer token, or it has expired or been revoked",
        );
        add(
            responses,
            "403",
            "Signed in, but not allowed: the member's role, the token's scopes, the member's \
             access to the social account, or a missing `X-CSRF-Token` on a session's change",
        );
    }
}

/// Adds a problem+json response for `status` unless the operation documents that status itself.
fn add(responses: &mut Map<String, Value>, status: &str, description: &str) {
    responses.entry(status.to_owned()).or_insert_with(|| {
        json!({
            "description": description,
            "content": {
                "application/problem+json": {
                    "schema": { "$ref": "#/components/schemas/Problem" }
                }
            }
        })
    });
}

fn security_schemes() -> Value {
    let scopes: Vec<String> = Scope::ALL
        .iter()
        .map(|scope| format!("`{}` ({})", scope.as_str(), scope.description()))
        .collect();
    json!({
        "token": {
            "type": "http",
            "scheme": "bearer",
            "description": format!(
                "An API token, sent as `Authorization: Bearer <secret>`. A member makes one, signed \
                 in, with `POST /api/v1/tokens` and chooses its scopes; the secret is shown once. \
                 An operation's security requirement names the scope it needs. The scopes: {}. \
                 A token never does more than its member's role allows, and no token can reveal \
                 credentials, manage sessions, tokens or second factors, or change the policy.",
                scopes.join("; ")
            ),
        },
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "herald_session",
            "description": "The browser session that signing in sets (`POST /api/v1/auth/login`; \
                named `__Host-herald_session` when Herald is served over HTTPS). Every request \
                that changes something must also send the session's `csrf_token` (from the \
                sign-in answer or `GET /api/v1/me`) as the `X-CSRF-Token` header."
        }
    })
}
