//! pathcast: seeded, parallel Monte Carlo simulation of negotiation scenarios.
//!
//! A scenario file ([`scenario`]) is checked into a [`model::Model`]; the [`simulate`] kernel
//! draws paths of it, each from its own random stream; [`report`] turns the counts into
//! estimates; [`export`] writes them as CSV. [`exact`] computes the same numbers exactly.

pub mod analysis;
pub mod check_exact;
pub mod error;
pub mod exact;
pub mod export;
pub(crate) mod files;
pub mod forecast;
pub mod job;
pub mod merge;
pub mod model;
pub mod output;
pub mod parameters;
pub mod rate;
pub mod report;
pub mod scenario;
pub mod shard;
pub mod simulate;
pub mod stats;
pub mod text;
pub mod uncertainty;

pub use error::{OutputError, ScenarioError};
pub use model::Model;
pub use scenario::{load, Loaded};
