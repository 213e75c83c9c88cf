//! The binary's commands, one file per command.

pub mod datasets;
