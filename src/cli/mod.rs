//! The binary's commands, one file per command.

pub mod gc;
pub mod plan;
pub mod run;
pub mod status;
