//! One module per command. Each takes its parsed arguments and the store and
//! returns a record (serde `Serialize`); only `output` prints it. None
//! prints, prompts or draws: progress goes through the handle it is given
//! (`reporting::Reporter`), and a change that needs confirming is two steps,
//! a proposal the caller (`app`) shows and asks about, then the commit.

pub(crate) mod accounts;
pub mod audit;
pub(crate) mod checks;
pub mod completions;
pub(crate) mod confirm;
pub(crate) mod cutover;
pub(crate) mod export;
pub(crate) mod history;
pub mod import;
pub(crate) mod log;
pub(crate) mod man;
pub(crate) mod notify;
pub(crate) mod operators;
pub(crate) mod plan;
pub(crate) mod progress;
pub(crate) mod reinstate;
pub(crate) mod replace;
pub(crate) mod report;
pub(crate) mod revert;
pub(crate) mod signin;
pub(crate) mod store_copy;
pub(crate) mod verify;
