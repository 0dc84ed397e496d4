//! runwisp: one binary that replaces cron, a process supervisor and a deploy-hook server.
//!
//! The [`engine`] does all the work and knows nothing of its interfaces; [`cli`] is the command
//! line on top of it. See `DESIGN.md` in the shared folder for the module map.

pub mod api;
pub mod cli;
pub mod client;
pub mod daemon;
pub mod engine;
pub mod notify;
pub mod server;
pub mod tui;
