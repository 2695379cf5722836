//! The service unit in `deploy/`: systemd accepts it as written, and its exposure score (how
//! much a compromised Herald could reach, 0 safest to 10) stays in systemd's "OK" band.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::skip_or_fail;

fn systemd_analyze() -> Option<PathBuf> {
    ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

#[test]
fn the_systemd_unit_is_valid_and_exposes_little() {
    let Some(analyze) = systemd_analyze() else {
        skip_or_fail("systemd-analyze is not installed (Debian: the systemd package)");
        return;
    };
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/herald.service"),
    )
    .expect("deploy/herald.service");
    for hardening in [
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/herald",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.contains(hardening), "the unit lacks {hardening:?}");
    }
    // verify checks that the program exists: the one just built stands in for the installed.
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let path = dir.path().join("herald.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/herald", env!("CARGO_BIN_EXE_herald")),
    )
    .expect("unit written");

    let verified = Command::new(&analyze)
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze runs");
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success(), "systemd-analyze verify: {said}");
    assert!(
        !said.contains("Unknown key") && !said.contains("Failed to parse"),
        "{said}"
    );

    let security = Command::new(&analyze)
        .args(["security", "--offline=true"])
        .arg(&path)
        .output()
        .expect("systemd-analyze runs");
    let report = String::from_utf8_lossy(&security.stdout);
    let score: f64 = report
        .lines()
        .find_map(|line| {
            line.split("Overall exposure level for herald.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {report}"));
    #[allow(clippy::print_stderr)] // The figure belongs in the test log.
    {
        eprintln!("FIGURE systemd exposure level of deploy/herald.service: {score}");
    }
    assert!(score <= 2.0, "exposure {score} is above 2.0: {report}");
}
