//! Writing a run's output folder: every file whole or not at all, the manifest last.

pub mod csv;
pub mod manifest;

use crate::error::OutputError;
use std::io::Write;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

pub use manifest::Manifest;

/// A set of output files being prepared in `dir`. Each file is written to a temporary file in
/// the same folder; `commit` renames them into place, manifest last. Dropping an uncommitted
/// set deletes its temporary files and leaves the folder as it was.
pub struct OutputSet {
    dir: PathBuf,
    files: Vec<(String, NamedTempFile)>,
}

fn io_error(path: &Path, source: std::io::Error) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl OutputSet {
    /// Makes sure `dir` is a folder we can write into (creating it if needed).
    pub fn new(dir: &Path) -> Result<OutputSet, OutputError> {
        if dir.exists() && !dir.is_dir() {
            return Err(OutputError::BadFolder {
                path: dir.to_path_buf(),
                message: "is a file, not a folder".into(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        Ok(OutputSet {
            dir: dir.to_path_buf(),
            files: Vec::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new temporary file in the output folder, to be added under `name` when complete.
    pub fn temporary(&self, name: &str) -> Result<NamedTempFile, OutputError> {
        tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| io_error(&self.dir.join(name), e))
    }

    /// Adds a finished temporary file under `name`.
    pub fn add(&mut self, name: &str, file: NamedTempFile) -> Result<(), OutputError> {
        file.as_file()
            .sync_all()
            .map_err(|e| io_error(&self.dir.join(name), e))?;
        self.files.push((name.to_string(), file));
        Ok(())
    }

    /// Writes `bytes` as the file `name`.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let mut file = self.temporary(name)?;
        file.write_all(bytes)
            .and_then(|_| file.flush())
            .map_err(|e| io_error(&self.dir.join(name), e))?;
        self.add(name, file)
    }

    /// The names of the files added so far.
    pub fn names(&self) -> Vec<String> {
        self.files.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Renames every file into place, then writes the manifest. Files that an earlier run's
    /// manifest listed and this run did not write are removed, so the folder holds one run.
    pub fn commit(self, manifest: &Manifest) -> Result<Vec<PathBuf>, OutputError> {
        let manifest_path = self.dir.join(manifest::FILE_NAME);
        let earlier = Manifest::read_files(&manifest_path);
        let manifest_text = manifest.to_toml();
        let mut last = OutputSet {
            dir: self.dir.clone(),
            files: Vec::new(),
        };
        last.write(manifest::FILE_NAME, manifest_text.as_bytes())?;
        let mut written = Vec::new();
        for (name, file) in self.files.into_iter().chain(last.files) {
            let path = self.dir.join(&name);
            file.persist(&path).map_err(|e| io_error(&path, e.error))?;
            written.push(path);
        }
        for stale in earlier {
            let is_plain_name = Path::new(&stale).file_name() == Some(std::ffi::OsStr::new(&stale));
            if is_plain_name && !manifest.files.contains(&stale) && stale != manifest::FILE_NAME {
                let _ = std::fs::remove_file(self.dir.join(&stale));
            }
        }
        Ok(written)
    }
}
