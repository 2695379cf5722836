#!/usr/bin/env bash
# Incident figures (issue 20), from the integration tests that measure them against the local
# fake networks (debug build, the test harness's Herald):
#   lockdown_100_queued_ms   pressing "lock down" (the API call) to the last step done, with
#                            100 posts queued on the account (goal: under 2 s);
#   unknown_post_to_alert_ms a post Herald did not make appearing at the fake to the alert,
#                            counted from when the clock passes the watcher's one-minute polling
#                            interval (goal: within one interval plus 1 s).
# Runs on SQLite, and on PostgreSQL too when HERALD_TEST_DATABASE_URL is set.
# Usage: bench/incident.sh   (from the repository root; CARGO_BUILD_JOBS is honoured)
set -euo pipefail
tests=(a_lockdown_with_a_hundred_posts_queued_finishes_within_two_seconds
       a_post_herald_did_not_make_and_a_changed_profile_raise_one_alert_within_a_polling_interval)
backends=(sqlite)
if [[ -n "${HERALD_TEST_DATABASE_URL:-}" ]]; then backends+=(postgres); fi
for backend in "${backends[@]}"; do
  for test in "${tests[@]}"; do
    HERALD_TEST_BACKEND="$backend" cargo test -q -p herald --test it "$test" -- --nocapture 2>&1 \
      | grep '^FIGURE' | sed "s/^/$backend /"
  done
done
