//! Herald's one integration-test binary. `helpers.rs` starts real servers; each other file
//! tests one feature the way a user would reach it: HTTP, the command line, or a browser.

mod abuse;
mod accounts;
mod api_contract;
mod audit;
mod authorization;
mod bluesky_oauth;
mod bluesky_pds;
mod breaches;
mod browser;
mod composer_pages;
mod config_cli;
mod credentials;
mod group_commit;
mod health_and_metrics;
mod helpers;
mod import;
mod jobs;
mod media;
mod oauth;
mod openapi;
mod outbound;
mod page_forms;
#[path = "../../../networks/tests/pds/harness.rs"]
mod pds;
mod people;
mod policy;
mod posts;
mod publishing;
mod publishing_faults;
mod publishing_processes;
mod rekey;
mod reverse_proxy;
mod schedule_pages;
mod secrets;
mod security_headers;
mod self_service;
mod setup_code;
mod shutdown;
mod sign_in_throttle;
mod startup;
mod step_up;
mod store_contract;
mod store_workflow;
mod totp;
mod webdriver;
