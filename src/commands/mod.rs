//! One module per command. Each takes its parsed arguments and the store and
//! returns a record (serde `Serialize`); only `output` prints it. None
//! prints, prompts or draws: progress goes through the handle it is given
//! (`reporting::Reporter`), and a change that needs confirming is two steps,
//! a proposal the caller (`app`) shows and asks about, then the commit.

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
