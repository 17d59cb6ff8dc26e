//! The integration tests, as one binary (it compiles and links far faster than one per file):
//! each module is one suite, named in the README's table of tests. Run one suite with
//! `cargo test --test tests cli::`.

mod common;

mod analysis;
mod cli;
mod exact;
mod forecasting;
mod fuzz;
mod hostile;
mod outputs;
mod report;
mod shards;
mod statistics;
mod uncertainty;
