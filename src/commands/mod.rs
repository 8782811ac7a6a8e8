//! One module per command. Each takes its parsed arguments and the store and
//! returns records; only `output` prints them.

pub mod accounts;
pub mod audit;
pub mod checks;
pub mod confirm;
pub mod cutover;
pub mod export;
pub mod history;
pub mod import;
pub mod log;
pub mod plan;
pub mod reinstate;
pub mod replace;
pub mod report;
pub mod revert;
pub mod signin;
pub mod verify;
