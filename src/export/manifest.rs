//! The manifest: what it takes to reproduce an output folder.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const FILE_NAME: &str = "manifest.toml";
/// A manifest is a few hundred bytes; this is far beyond any that pathcast writes.
pub const MAX_BYTES: u64 = 1 << 20;
/// The resolved scenario, written beside the results: a standalone scenario file.
pub const SCENARIO_FILE: &str = "scenario.toml";
/// The first line of `scenario.toml`; the resolved scenario follows it.
pub const SCENARIO_HEADER: &str =
    "# The scenario of this run with every extends and --set applied.\n";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub pathcast_version: String,
    /// "monte-carlo" or "exact".
    pub method: String,
    /// The command line that produced the folder.
    pub command: String,
    pub scenario: String,
    /// The files and presets the scenario was read from.
    pub scenario_files: Vec<String>,
    /// SHA-256 of the resolved scenario (`scenario.toml` in this folder).
    pub scenario_sha256: String,
    /// The `--set` overrides applied to the scenario files (already in `scenario.toml`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_path: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<u64>,
    /// Threads used; the numbers do not depend on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// The half-width a run to a precision aimed at, and the most paths it could take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_paths: Option<u64>,
    /// For an analysis: "exact" or "monte-carlo".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// With uncertain inputs: the number of samples drawn of them (from `seed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// When the run finished (UTC).
    pub created: String,
    /// The files of this run, in the folder.
    pub files: Vec<String>,
    /// For a shard folder (`run --shard`): which part of which run it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::ShardOfRun>,
    /// For a folder written by `pathcast merge`: the shards it adds up, in path order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_shards: Vec<crate::shard::MergedShard>,
}

pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Bytes (a digest) in lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    pub fn to_toml(&self) -> String {
        format!(
            "# pathcast run manifest: rerun `command` with the same version to get the same \
             numbers.\n{}",
            toml::to_string(self).unwrap_or_default()
        )
    }

    /// The manifest at `path`, or `None` when there is no readable manifest. Only a regular
    /// file of at most [`MAX_BYTES`] is read, without following a link and without blocking:
    /// the folder is the user's, and a FIFO or a link to `/dev/zero` there must neither hang
    /// pathcast nor fill its memory. (pathcast never writes anything else as a manifest.)
    pub fn read(path: &std::path::Path) -> Option<Manifest> {
        let bytes = crate::files::read_regular(path, MAX_BYTES, false).ok()?;
        toml::from_str(std::str::from_utf8(&bytes).ok()?).ok()
    }
}
