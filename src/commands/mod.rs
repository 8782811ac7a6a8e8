//! One module per command. Each takes its parsed arguments and the store and
//! returns records; only `output` prints them.

pub mod accounts;
pub mod audit;
pub mod cutover;
pub mod import;
pub mod report;
pub mod signin;
