//! Integration tests: each runs the real binary against a temporary store.

mod common;

mod audit;
mod completions;
mod import;
mod report;
mod signin;
mod store;
