//! Writing a report directory as a whole or not at all.
//!
//! Every file is written into a fresh temporary directory beside the target
//! (`<parent>/.<name>.tmp-XXXXXX`, same file system). Only when all of them
//! are written is the directory moved into place:
//!
//! 1. the previous report, if any, is renamed to `.<name>.old-XXXXXX`;
//! 2. the new one is renamed to `<name>`;
//! 3. the previous one is deleted.
//!
//! A failure while writing leaves the previous report untouched and removes
//! the temporary directory; a failure in step 2 moves the previous report
//! back. Between steps 1 and 2 the target briefly does not exist; it is never
//! half written.
//!
//! Must not know what the files contain.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::ReportError;

/// A report directory being written (the temporary one).
pub(crate) struct StagedDir {
    temp: tempfile::TempDir,
    target: PathBuf,
    files: Vec<String>,
}

/// Refuses to replace anything but a directory at `target`.
fn check_target(target: &Path) -> Result<(), ReportError> {
    if target.exists() && !target.is_dir() {
        return Err(ReportError::Input(format!(
            "`{}` exists and is not a directory; move it away or choose another report directory",
            target.display()
        )));
    }
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> ReportError {
    ReportError::Io {
        path: path.to_owned(),
        source,
    }
}

impl StagedDir {
    /// Starts staging a report for `target` (its parent is created).
    pub(crate) fn new(target: &Path) -> Result<Self, ReportError> {
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ReportError::Input(format!(
                    "report directory `{}` has no usable name; pass e.g. reports/<experiment>",
                    target.display()
                ))
            })?;
        check_target(target)?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| io_error(&parent, e))?;
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.tmp-"))
            .tempdir_in(&parent)
            .map_err(|e| io_error(&parent, e))?;
        Ok(Self {
            temp,
            target: target.to_owned(),
            files: Vec::new(),
        })
    }

    /// The temporary directory files are written into.
    pub(crate) fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Records a file written into [`Self::path`] by someone else (plots).
    pub(crate) fn record(&mut self, name: String) {
        self.files.push(name);
    }

    /// Writes `bytes` to `name` inside the staged directory.
    pub(crate) fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), ReportError> {
        let path = self.temp.path().join(name);
        let mut file = fs::File::create(&path).map_err(|e| io_error(&path, e))?;
        file.write_all(bytes).map_err(|e| io_error(&path, e))?;
        self.files.push(name.to_owned());
        Ok(())
    }

    /// Writes `frame` as CSV (header, `.` decimals, shortest float form).
    pub(crate) fn write_csv(&mut self, name: &str, frame: &DataFrame) -> Result<(), ReportError> {
        let mut bytes = Vec::new();
        CsvWriter::new(&mut bytes)
            .include_header(true)
            .finish(&mut frame.clone())?;
        self.write(name, &bytes)
    }

    /// Writes `frame` as a JSON array of row objects.
    pub(crate) fn write_json(&mut self, name: &str, frame: &DataFrame) -> Result<(), ReportError> {
        let mut bytes = Vec::new();
        JsonWriter::new(&mut bytes)
            .with_json_format(JsonFormat::Json)
            .finish(&mut frame.clone())?;
        bytes.push(b'\n');
        self.write(name, &bytes)
    }

    /// Moves the staged directory into place (see the module docs); returns
    /// the final directory and the names of the files in it.
    pub(crate) fn commit(self) -> Result<(PathBuf, Vec<String>), ReportError> {
        let Self {
            temp,
            target,
            files,
        } = self;
        let parent = temp.path().parent().map(Path::to_owned).unwrap_or_default();
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
        check_target(&target)?;
        // The previous report moves into a temporary directory of its own,
        // which deletes it when dropped (on success) and is removed empty
        // when the move itself fails.
        let old = if target.exists() {
            let holder = tempfile::Builder::new()
                .prefix(&format!(".{}.old-", name.unwrap_or_default()))
                .tempdir_in(&parent)
                .map_err(|e| io_error(&parent, e))?;
            let old = holder.path().join("report");
            fs::rename(&target, &old).map_err(|e| io_error(&target, e))?;
            Some((holder, old))
        } else {
            None
        };
        if let Err(e) = fs::rename(temp.path(), &target) {
            if let Some((_, old)) = &old {
                // Put the previous report back; `temp` removes the new one.
                let _ = fs::rename(old, &target);
            }
            return Err(io_error(&target, e));
        }
        // The staged directory now is the target: do not let `temp` delete it.
        let _ = temp.keep();
        if let Some((holder, _)) = old {
            let path = holder.path().to_owned();
            holder.close().map_err(|e| io_error(&path, e))?;
        }
        Ok((target, files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_the_previous_report_whole() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("exp");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("stale.txt"), "old").unwrap();
        let mut staged = StagedDir::new(&target).unwrap();
        staged.write("new.txt", b"new").unwrap();
        let (dir, files) = staged.commit().unwrap();
        assert_eq!(dir, target);
        assert_eq!(files, ["new.txt"]);
        assert!(!target.join("stale.txt").exists());
        assert_eq!(fs::read_to_string(target.join("new.txt")).unwrap(), "new");
        // Nothing but the report is left beside it.
        let names: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["exp"]);
    }

    /// A target that cannot be replaced (a file in the way) is left as it
    /// was, and nothing else remains beside it.
    #[test]
    fn a_failed_commit_leaves_the_target_and_no_trace() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("exp");
        let mut staged = StagedDir::new(&target).unwrap();
        staged.write("a.txt", b"a").unwrap();
        fs::write(&target, "not a directory").unwrap();
        assert!(staged.commit().is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "not a directory");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn dropping_a_staged_dir_leaves_no_trace() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("exp");
        let mut staged = StagedDir::new(&target).unwrap();
        staged.write("a.txt", b"a").unwrap();
        drop(staged);
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
    }
}
