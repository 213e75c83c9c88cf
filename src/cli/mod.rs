//! The binary's commands, one file per command (minimal wiring by the report
//! helper; the lead owns this file).

pub mod report;
