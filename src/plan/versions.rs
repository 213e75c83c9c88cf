//! Code versions of the task kinds (placeholder until the digest guard lands).

use super::task::TaskKind;

/// The version of the code that computes `kind`.
pub fn code_version(kind: TaskKind) -> u32 {
    match kind {
        TaskKind::Features => crate::features::FEATURE_CODE_VERSION,
        _ => 1,
    }
}
