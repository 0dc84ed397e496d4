//! The engine: configuration, scheduling, execution and run history. It knows nothing of HTTP,
//! terminals or command-line parsing; interfaces call it and listen to it.

pub mod clock;
pub mod config;
pub mod datadir;
pub mod model;
pub mod runner;
pub mod schedule;
pub mod store;
