//! One fleet pass (SPEC §6), written once for every caller: each engine of the
//! fleet is reached, locked when the caller changes things, observed and
//! planned, all at once; one engine that fails fails only its own part. The
//! pass returns values (what each engine observed and planned, which failed
//! and why, and after an apply a [`FleetReport`]); the commands and watch hand
//! them to views and choose exit codes.

mod failure;
mod pass;
mod report;
mod site;

pub use failure::{Failure, HostFailure};
pub use pass::{Options, Pass, Planned};
pub use report::FleetReport;
pub use site::{connect, Site};
