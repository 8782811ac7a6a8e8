//! Integration tests: each runs the real binary against a temporary store.

// Tests may unwrap: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

mod common;

mod audit;
mod cli_conventions;
mod completions;
mod confirmations;
mod fuzz;
mod hostile;
mod import;
mod inputs_as_they_come;
mod layers;
mod notes;
mod notify;
mod pg_audit_speed;
mod pg_commands;
mod pg_foundation;
mod pg_import_speed;
mod pg_notify_progress;
mod pg_read_speed;
mod pg_replace_speed;
mod pg_scope;
mod pg_server;
mod pg_speed2;
mod pg_speed_and_retry;
mod pg_throwaway;
mod pg_tls;
mod pg_write_speed;
mod pg_writes;
mod plan_memory;
mod plan_rate;
mod plumbing;
mod progress;
mod read_speed;
mod readme_tour;
mod reconcile;
mod replace;
mod report;
mod safety_checks;
mod safety_files;
mod safety_store;
mod signin;
mod smtp_server;
mod store;
mod store_copy;
mod typed_output;
mod workbooks_out;
