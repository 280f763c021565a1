//! deckhand keeps a fleet of DECNET deckies in the state a TOML file describes.
//!
//! The pipeline: `config` (desired state) and `observe` (live state) feed the
//! pure `plan`; `render` draws it; `apply` executes exactly it and reports each
//! step as an event that `render` draws again. `fleet` runs that pipeline once
//! over every engine of a fleet, for every command and each watch pass.
//! `engine` is the only module that speaks to Docker.

pub mod adopt;
pub mod apply;
pub mod budget;
pub mod build;
pub mod canary;
pub mod cli;
pub mod commands;
pub mod config;
pub mod craft;
pub mod decnet_state;
pub mod desired;
pub mod engagement;
pub mod engine;
pub mod export;
pub mod fleet;
pub mod graph;
mod holder;
pub mod hosts;
pub mod import;
pub mod interrupt;
pub mod labels;
pub mod lint;
pub mod live;
pub mod lock;
pub mod observe;
pub mod own_opens;
pub mod persona;
pub mod plan;
pub mod record;
pub mod render;
pub mod rotation;
pub mod safe;
pub mod saved;
pub mod schema;
pub mod settings;
pub mod stale;
pub mod verbose;
pub mod watch;
