//! Any standard authenticator app works with Herald's TOTP: codes computed independently by
//! `oathtool` (Debian's oath-toolkit) are accepted, and Herald's codes match oathtool's.

use std::process::Command;

use herald::domain::totp::{TotpSecret, step_at, verify};
use jiff::Timestamp;

use crate::helpers::skip_or_fail;

fn oathtool(secret: &TotpSecret, at: Timestamp) -> Option<String> {
    let output = Command::new("oathtool")
        .args(["--totp", "-b", &secret.base32(), "--now"])
        .arg(format!("@{}", at.as_second()))
        .output();
    match output {
        Ok(output) if output.status.success() => {
            Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        }
        Ok(output) => panic!(
            "oathtool failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(_) => {
            skip_or_fail("oathtool is not installed (apt-get install oathtool)");
            None
        }
    }
}

#[test]
fn codes_computed_by_oathtool_are_accepted_and_match_heralds() {
    for offset in 0..20 {
        let secret = TotpSecret::generate(&mut rand::rngs::OsRng);
        let at = Timestamp::from_second(1_800_000_000 + offset * 977).expect("time");
        let Some(independent) = oathtool(&secret, at) else {
            return;
        };
        assert_eq!(independent.len(), 6);
        assert_eq!(secret.code_at_step(step_at(at)), independent);
        assert_eq!(verify(&secret, &independent, at, 0), Ok(step_at(at)));
    }
}
