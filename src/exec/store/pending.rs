//! A claimed task's work directory: [`Pending::publish`] turns it into a
//! published entry (see the protocol in the module above).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::UNIX_EPOCH;

use super::error::io_err;
use super::{
    hash_file, list_files, move_to_trash, Check, Manifest, OutputFile, Pending, Probe, StoreError,
    INCOMPLETE_MARKER, MANIFEST_FILE, MANIFEST_VERSION,
};

impl Pending {
    /// The work directory: write outputs (and checkpoints) here.
    pub fn dir(&self) -> &Path {
        &self.work
    }

    /// Whether the work directory was left by an earlier, interrupted attempt.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// Publishes the work directory as the entry (see the module doc) and releases the lock.
    pub fn publish(
        self,
        label: &str,
        inputs: BTreeMap<String, String>,
    ) -> Result<Manifest, StoreError> {
        let marker = self.work.join(INCOMPLETE_MARKER);
        fs::remove_file(&marker).map_err(io_err("remove", &marker))?;
        let mut files = Vec::new();
        list_files(&self.work, "", &mut files)?;
        let mut outputs = Vec::with_capacity(files.len());
        for rel in files.into_iter().filter(|f| f != MANIFEST_FILE) {
            let path = self.work.join(&rel);
            let bytes = fs::metadata(&path).map_err(io_err("stat", &path))?.len();
            let blake3 = hash_file(&path)?.to_hex().to_string();
            outputs.push(OutputFile {
                path: rel,
                bytes,
                blake3,
            });
        }
        let manifest = Manifest {
            format: MANIFEST_VERSION,
            kind: self.kind.clone(),
            key: self.key.clone(),
            label: label.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            inputs,
            outputs,
            started_unix: self
                .started
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            seconds: self.clock.elapsed().as_secs_f64(),
        };
        let text = serde_json::to_vec_pretty(&manifest).map_err(|source| StoreError::Manifest {
            kind: self.kind.clone(),
            key: self.key.clone(),
            source,
        })?;
        // A plain write: the work directory is private until the rename below
        // publishes it, and a crash before that leaves a directory without
        // marker, which is started over. Not synced: the outputs it describes
        // are not either, and a manifest a power cut damaged reads as corrupt,
        // so the entry is recomputed.
        let manifest_path = self.work.join(MANIFEST_FILE);
        fs::write(&manifest_path, &text).map_err(io_err("write", &manifest_path))?;
        if self.entry.exists() {
            // Claim checked under the lock, so this is a corrupt entry, unless
            // a process that ignores locks (another machine on a file system
            // without them) published meanwhile: a valid entry is kept.
            if let Some(existing) = self.existing_valid()? {
                return Ok(existing);
            }
            move_to_trash(
                &self.entry,
                &self.trash,
                &format!("{}-{}", self.kind, self.key),
            )?;
        }
        if let Some(parent) = self.entry.parent() {
            fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        if let Err(e) = fs::rename(&self.work, &self.entry) {
            // A rename onto a directory published meanwhile fails: keep theirs.
            if let Some(existing) = self.existing_valid()? {
                return Ok(existing);
            }
            return Err(io_err("publish", &self.entry)(e));
        }
        Ok(manifest)
    }

    /// The manifest of a valid entry already published under this key, after
    /// discarding this work directory; `None` when there is none.
    fn existing_valid(&self) -> Result<Option<Manifest>, StoreError> {
        match self.store.probe(&self.kind, &self.key, Check::Hashes)? {
            Probe::Present(existing) => {
                move_to_trash(
                    &self.work,
                    &self.trash,
                    &format!("work-{}-{}", self.kind, self.key),
                )?;
                Ok(Some(existing))
            }
            Probe::Missing | Probe::Corrupt(_) => Ok(None),
        }
    }
}
