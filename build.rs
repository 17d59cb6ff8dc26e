//! Records the git revision a binary is built from, for `pathcast --version`.

use std::process::Command;

fn main() {
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| o.status.success() && !o.stdout.is_empty());
    let version = env!("CARGO_PKG_VERSION");
    let long = match revision {
        Some(r) if dirty => format!("{version} (git {r}, with uncommitted changes)"),
        Some(r) => format!("{version} (git {r})"),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=PATHCAST_LONG_VERSION={long}");
    // A new commit or checkout changes the revision.
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
}
