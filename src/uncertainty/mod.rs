//! Uncertain inputs: a `p` or `factor` given as a distribution instead of a number.
//!
//! A scenario with uncertain inputs compiles to a model holding each input's median, plus the
//! list of inputs and their distributions ([`crate::Model::uncertain`]).

mod distribution;

pub use distribution::{uniform, Distribution, Shape, Uncertain, U_MAX, U_MIN};
