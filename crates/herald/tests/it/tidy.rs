//! The house rules of ARCHITECTURE.md, checked on the source: where a kind of code may live,
//! that the map names every file, and that no service writes an audit entry outside a unit of
//! work. Each failure names the file and the rule.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, with its path relative to `dir`.
fn sources(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<(String, String)>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("source folder")
            .map(|entry| entry.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path
                    .strip_prefix(root)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).expect("source");
                found.push((relative, text));
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found
}

fn herald_sources() -> Vec<(String, String)> {
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// The code of a file without its comments, so that prose may name anything.
fn code_of(text: &str) -> String {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn only_the_store_speaks_sql() {
    let offenders: Vec<String> = herald_sources()
        .into_iter()
        .filter(|(path, text)| !path.starts_with("store/") && code_of(text).contains("sqlx::"))
        .map(|(path, _)| path)
        .collect();
    assert!(
        offenders.is_empty(),
        "sqlx is used outside src/store/ in {offenders:?}; add a store function instead"
    );
}

#[test]
fn only_http_speaks_http_statuses() {
    let offenders: Vec<String> = herald_sources()
        .into_iter()
        .filter(|(path, text)| !path.starts_with("http/") && code_of(text).contains("StatusCode"))
        .map(|(path, _)| path)
        .collect();
    assert!(
        offenders.is_empty(),
        "HTTP statuses are chosen outside src/http/ in {offenders:?}; return a service error and map it in http/error.rs"
    );
}

/// A use case that needs many things takes the `Services` context, not a parameter for each;
/// clippy's limit of seven parameters holds in services/ without exceptions.
#[test]
fn services_take_the_context_rather_than_long_parameter_lists() {
    let offenders: Vec<String> = herald_sources()
        .into_iter()
        .filter(|(path, text)| {
            path.starts_with("services/") && code_of(text).contains("clippy::too_many_arguments")
        })
        .map(|(path, _)| path)
        .collect();
    assert!(
        offenders.is_empty(),
        "{offenders:?} allow too many arguments; take `services: &Services` instead of its parts"
    );
}

#[test]
fn the_code_map_names_every_source_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    // A map line starts with a path: `src/config.rs`, `api/people.rs`, or `audit.rs` under
    // its folder's line.
    let entries: Vec<&str> = map
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|first| first.ends_with(".rs"))
        .collect();
    let named = |path: &str| {
        let parts: Vec<&str> = path.split('/').collect();
        (0..parts.len()).any(|skip| {
            let tail = parts[skip..].join("/");
            entries.iter().any(|entry| {
                *entry == tail
                    || *entry == format!("src/{tail}")
                    || entry.ends_with(&format!("/{tail}"))
            })
        })
    };
    let missing: Vec<String> = herald_sources()
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| !named(path))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not name {missing:?}"
    );
}

/// Functions that append to the audit log without opening a unit of work, each for a reason:
/// helpers their callers call inside a unit, and audits that are the whole change.
const AUDITS_ALONE: &[(&str, &str)] = &[
    // Helpers: every caller holds a unit of work.
    ("audit.rs", "record_for_post"),
    ("audit.rs", "record_for_member"),
    ("credentials.rs", "audit_account"),
    // A refused submission, recorded alone: the post does not move.
    ("posts.rs", "blocked"),
    // A refusal, recorded alone: nothing else changes.
    ("connections.rs", "require_registered_account"),
    // The import's summary: each row was its own unit, kept whatever the rows after it do.
    ("import.rs", "import"),
];

#[test]
fn no_service_writes_an_audit_entry_outside_a_unit_of_work() {
    let mut offenders = Vec::new();
    for (path, text) in herald_sources() {
        if path.starts_with("http/")
            || path.starts_with("store/")
            || path == "services/people/mod.rs"
        {
            continue;
        }
        let code = code_of(&text);
        let mut function = String::new();
        let mut opened = false;
        for line in code.lines() {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed
                .split_once("fn ")
                .filter(|(before, _)| before.is_empty() || before.ends_with(' '))
                .map(|(_, rest)| rest)
            {
                function = rest
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                opened = false;
            }
            opened |= trimmed.contains(".write().await");
            // `record(` and its helpers (`record_for_post(`, `record_for_member(`), not their
            // definitions.
            let calls =
                |name: &str| trimmed.starts_with(name) || trimmed.contains(&format!(" {name}"));
            let appends = !trimmed.contains("fn record")
                && !trimmed.starts_with("use ")
                && (calls("record(") || calls("record_for_"));
            let allowed = AUDITS_ALONE
                .iter()
                .any(|(file, name)| path.ends_with(file) && *name == function);
            if appends && !opened && !allowed {
                offenders.push(format!("{path}: {function}"));
            }
        }
    }
    offenders.dedup();
    assert!(
        offenders.is_empty(),
        "these append to the audit log outside a unit of work (store.write()): {offenders:?}"
    );
}

/// Store functions that choose their backend from the configuration: the server's and the
/// CLI's tests run them on both databases (`HERALD_TEST_BACKEND`), and every function they
/// call is in a contract test.
const OPENED_FROM_THE_CONFIGURATION: [&str; 2] = ["open", "open_existing"];

#[test]
fn every_store_function_is_called_in_a_contract_test() {
    let tests = sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it"));
    let contract: String = tests
        .iter()
        .filter(|(path, text)| text.contains("contract_test!") || path == "helpers.rs")
        .map(|(_, text)| code_of(text))
        .collect();
    let mut missing = Vec::new();
    for (path, text) in herald_sources() {
        if !path.starts_with("store/") {
            continue;
        }
        for line in code_of(&text).lines() {
            let Some(rest) = line.trim_start().strip_prefix("pub async fn ") else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let called = [".", "::"]
                .iter()
                .any(|sep| contract.contains(&format!("{sep}{name}(")));
            if !called && !OPENED_FROM_THE_CONFIGURATION.contains(&name.as_str()) {
                missing.push(format!("{path}: {name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "these store functions are called in no contract test (a test written with \
         contract_test!, which runs on SQLite and PostgreSQL): {missing:?}"
    );
}

/// utoipa names each schema in the OpenAPI document after its type alone: two types of one
/// name in different files would silently describe one with the other's fields.
#[test]
fn every_schema_in_the_api_document_has_a_name_of_its_own() {
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut clashes = Vec::new();
    let mut found = 0;
    for (path, text) in herald_sources() {
        let code = code_of(&text);
        let lines: Vec<&str> = code.lines().map(str::trim).collect();
        for (at, line) in lines.iter().enumerate() {
            if !(line.starts_with("#[derive(") && line.contains("ToSchema")) {
                continue;
            }
            // The type follows its attributes (some span several lines).
            let name = lines[at + 1..].iter().find_map(|line| {
                let rest = line
                    .trim_start_matches("pub(crate) ")
                    .trim_start_matches("pub ");
                let rest = rest
                    .strip_prefix("struct ")
                    .or_else(|| rest.strip_prefix("enum "))?;
                Some(
                    rest.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect::<String>(),
                )
            });
            let Some(name) = name else { continue };
            found += 1;
            if let Some(first) = seen.insert(name.clone(), path.clone()) {
                clashes.push(format!("{name} in {first} and {path}"));
            }
        }
    }
    assert!(found > 100, "the scan found the schemas: {found}");
    assert!(clashes.is_empty(), "schema names used twice: {clashes:?}");
}
