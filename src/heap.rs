//! The C allocator's settings for training: keep freed buffers in the process.
//!
//! A training step allocates and frees the same large buffers every step: a
//! Black-box step writes a fresh 13 MB weight gradient, 3 MB activations and
//! their gradients, and 6 MB of arg-max indices. glibc's `malloc` serves
//! blocks above its mmap threshold (128 KiB at first, raised on the fly to at
//! most 32 MiB) with a fresh `mmap` and gives them back with `munmap`, and it
//! trims the heap's free top back to the system above 128 KiB. Either way the
//! next step's buffers start as untouched pages: every 4 KiB page then costs
//! a page fault and the kernel zeroing it. On a 2-core machine that was a
//! fifth of a Black-box step.
//!
//! [`keep_freed_memory`] raises both thresholds once, at process start, so
//! such buffers come from the heap and are reused step after step. The peak
//! resident memory is unchanged (the same buffers are live at the peak);
//! what changes is that the heap keeps up to [`TRIM_THRESHOLD`] of free
//! memory instead of returning it at once. Other allocators (musl, macOS)
//! are left as they are.

/// Blocks at or below this size come from the heap, not from `mmap`: the
/// largest glibc accepts (`HEAP_MAX_SIZE / 2` on 64-bit targets), above
/// every per-step buffer of the paper's models.
pub const MMAP_THRESHOLD: usize = 32 << 20;

/// Free memory the heap may keep at its top before giving it back.
pub const TRIM_THRESHOLD: usize = 128 << 20;

/// Keeps freed training buffers in the process (see the module docs).
///
/// Call it once, before training, from a binary's `main`: it changes a
/// process-wide setting. Returns whether the allocator accepted the settings
/// (always `false` where the C library is not glibc).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set = |param, value: usize| {
            let value = libc::c_int::try_from(value).expect("threshold fits a C int");
            // SAFETY: mallopt only changes allocator parameters; glibc
            // validates the value and returns 0 when it rejects it.
            unsafe { libc::mallopt(param, value) == 1 }
        };
        let mmap = set(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        let trim = set(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        mmap && trim
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_accepts_the_settings() {
        let accepted = keep_freed_memory();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(accepted, "glibc rejected the thresholds");
        } else {
            println!("SKIPPED: not glibc; the allocator keeps its defaults");
            assert!(!accepted);
        }
    }
}
