//! Writing a run's output folder: every file whole or not at all, the manifest last.

pub mod analysis;
pub mod csv;
pub mod html;
pub mod json;
pub mod manifest;
pub mod prism;
pub mod sealed;
pub mod svg;
pub mod tally_file;
pub mod uncertainty;
pub mod units_file;
pub mod xlsx;

use crate::error::OutputError;
use crate::files;
use std::io::Write;
// Temporary files and folders are private by default; results are ordinary files (the
// umask still applies).
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tempfile::{NamedTempFile, TempDir};

pub use manifest::Manifest;

/// How a finished set of files goes into the output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// The folder is new, empty, or holds an earlier pathcast run: the whole folder is
    /// replaced at once by the new one.
    ReplaceFolder,
    /// `--force` into a folder that holds other files: each file is renamed into place, the
    /// manifest last, and files that are not pathcast's are left alone.
    IntoFolder,
}

/// What `commit` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The folder held an earlier run, which the new one replaced.
    pub replaced_earlier: bool,
}

/// A set of output files being prepared for the folder `dir`. The files are written into a
/// staging folder beside it and moved into place by `commit`; dropping an uncommitted set
/// deletes the staging folder and leaves `dir` exactly as it was.
pub struct OutputSet {
    /// The folder as the user named it, for messages.
    dir: PathBuf,
    /// The folder written: `dir`, or what it links to.
    target: PathBuf,
    staging: TempDir,
    /// Holds the staging folder's lock while this set lives (see `files::try_lock`).
    _lock: std::fs::File,
    placement: Placement,
    earlier_files: Vec<String>,
    files: Vec<String>,
}

fn io_error(path: &Path, source: std::io::Error) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn bad_out(dir: &Path, message: String) -> OutputError {
    OutputError::BadOut {
        path: dir.to_path_buf(),
        message,
    }
}

/// The folder beside which an output is staged.
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What an `--out` path is written through: a symbolic link is followed to what it names, so
/// that the link stays and its target receives the output; a link to nothing is refused,
/// since it is unclear where the output should go.
fn resolve_link(out: &Path) -> Result<PathBuf, OutputError> {
    let is_link = std::fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(out.to_path_buf());
    }
    std::fs::canonicalize(out).map_err(|e| {
        bad_out(
            out,
            format!("is a symbolic link to something that cannot be reached ({e})"),
        )
    })
}

/// Makes a staging entry's name for `target` and holds its lock; `make` creates it in the
/// target's folder with the given name prefix.
fn staged<T: AsRef<Path>>(
    target: &Path,
    make: impl FnOnce(&Path, &std::ffi::OsStr) -> std::io::Result<T>,
) -> std::io::Result<(T, std::fs::File)> {
    // A run killed before it could clean up (SIGKILL, out of memory) left its staging behind.
    files::remove_stale_staging(target);
    let made = make(&parent_of(target), &files::own_staging_prefix(target))?;
    let lock = files::lock_entry(made.as_ref()).ok_or_else(|| {
        std::io::Error::other("cannot lock the staging folder (is another pathcast using it?)")
    })?;
    Ok((made, lock))
}

/// The names in `dir`, every one of them: pathcast stages beside the folder, never inside,
/// so anything here is either a file of an earlier run or somebody else's.
fn entries(dir: &Path) -> Result<Vec<String>, OutputError> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let name = entry.map_err(|e| io_error(dir, e))?.file_name();
        names.push(name.to_string_lossy().into_owned());
    }
    Ok(names)
}

impl OutputSet {
    /// Prepares to write a run of `scenario` by `method` into `dir`. Refuses a folder that
    /// holds any of `protected` (the scenario's own files), and, unless `force`, a folder that
    /// holds anything but an earlier run of the same scenario by the same method.
    pub fn new(
        dir: &Path,
        scenario: &str,
        method: &str,
        force: bool,
        protected: &[PathBuf],
    ) -> Result<OutputSet, OutputError> {
        let shown = dir;
        let dir = &resolve_link(dir)?;
        if dir.exists() && !dir.is_dir() {
            return Err(bad_out(shown, "is a file, not a folder".into()));
        }
        if let Some(file) = dir.ancestors().skip(1).find(|a| a.is_file()) {
            let message = format!("'{}' is a file, so it cannot hold a folder", file.display());
            return Err(bad_out(shown, message));
        }
        let mut placement = Placement::ReplaceFolder;
        let mut earlier_files = Vec::new();
        if dir.is_dir() {
            let canonical = std::fs::canonicalize(dir).map_err(|e| io_error(dir, e))?;
            if protected
                .iter()
                .any(|p| p.parent() == Some(canonical.as_path()))
            {
                return Err(bad_out(
                    shown,
                    "holds the scenario being run; results go to a folder of their own".into(),
                ));
            }
            let names = entries(dir)?;
            let manifest = Manifest::read(&dir.join(manifest::FILE_NAME));
            let foreign = names
                .iter()
                .find(|n| !manifest.as_ref().is_some_and(|m| m.files.contains(n)));
            let ours = manifest.is_some() && foreign.is_none();
            if let Some(m) = &manifest {
                earlier_files = m.files.clone();
            }
            let same_run = manifest
                .as_ref()
                .is_some_and(|m| m.scenario == scenario && m.method == method);
            if names.is_empty() || (ours && same_run) {
                placement = Placement::ReplaceFolder;
            } else if !force {
                let holds = match (&manifest, foreign) {
                    (Some(m), None) => format!(
                        "holds the {} results of scenario '{}'",
                        m.method, m.scenario
                    ),
                    (_, Some(name)) => format!(
                        "is not empty and is not a pathcast output folder ('{name}' is not a \
                         file of a pathcast run)"
                    ),
                    (None, None) => "is not a pathcast output folder".to_string(),
                };
                return Err(bad_out(
                    shown,
                    format!(
                        "{holds}; nothing was written. Choose another --out, or add --force to \
                         write there (pathcast replaces its own files and leaves others alone)"
                    ),
                ));
            } else if ours {
                placement = Placement::ReplaceFolder;
            } else {
                placement = Placement::IntoFolder;
            }
        }
        // A folder that cannot be made or written is a bad --out, found before any work.
        let unusable = |e: std::io::Error| bad_out(shown, format!("cannot write there: {e}"));
        std::fs::create_dir_all(parent_of(dir)).map_err(unusable)?;
        let (staging, lock) = staged(dir, |parent, prefix| {
            tempfile::Builder::new()
                .prefix(prefix)
                .permissions(std::fs::Permissions::from_mode(0o755))
                .tempdir_in(parent)
        })
        .map_err(unusable)?;
        Ok(OutputSet {
            dir: shown.to_path_buf(),
            target: dir.to_path_buf(),
            staging,
            _lock: lock,
            placement,
            earlier_files,
            files: Vec::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new temporary file, to be added under `name` when complete.
    pub fn temporary(&self, name: &str) -> Result<NamedTempFile, OutputError> {
        tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .permissions(std::fs::Permissions::from_mode(0o644))
            .tempfile_in(self.staging.path())
            .map_err(|e| io_error(&self.dir.join(name), e))
    }

    /// Adds a finished temporary file under `name`.
    pub fn add(&mut self, name: &str, file: NamedTempFile) -> Result<(), OutputError> {
        let target = self.dir.join(name);
        file.as_file()
            .sync_all()
            .map_err(|e| io_error(&target, e))?;
        file.persist(self.staging.path().join(name))
            .map_err(|e| io_error(&target, e.error))?;
        self.files.push(name.to_string());
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
        self.files.clone()
    }

    /// Writes the manifest, then moves the set into place.
    pub fn commit(mut self, manifest: &Manifest) -> Result<Committed, OutputError> {
        self.write(manifest::FILE_NAME, manifest.to_toml().as_bytes())?;
        let replaced_earlier = !self.earlier_files.is_empty();
        match self.placement {
            Placement::ReplaceFolder => self.replace_folder()?,
            Placement::IntoFolder => self.move_files_in()?,
        }
        Ok(Committed { replaced_earlier })
    }

    fn replace_folder(&self) -> Result<(), OutputError> {
        let staging = self.staging.path();
        let (target, fail) = (&self.target, |e| io_error(&self.dir, e));
        if !target.exists() {
            return std::fs::rename(staging, target).map_err(fail);
        }
        if exchange(staging, target).is_err() {
            // No atomic exchange here: move the old folder aside, then the new one in. The
            // aside name extends the staging name, so a leftover is cleaned like one.
            let mut aside = staging.as_os_str().to_os_string();
            aside.push(".old");
            std::fs::rename(target, &aside).map_err(fail)?;
            std::fs::rename(staging, target).map_err(fail)?;
            let _ = std::fs::remove_dir_all(&aside);
        }
        // After the exchange the staging path holds the earlier run; TempDir's drop removes it.
        Ok(())
    }

    fn move_files_in(&self) -> Result<(), OutputError> {
        // A rename onto a folder fails: find that before moving anything, so that the folder
        // gets all of the files or none of them.
        for name in &self.files {
            let in_the_way = std::fs::symlink_metadata(self.target.join(name));
            if in_the_way.is_ok_and(|m| m.is_dir()) {
                return Err(bad_out(
                    &self.dir,
                    format!("holds a folder named '{name}', where pathcast writes a file"),
                ));
            }
        }
        for name in &self.files {
            std::fs::rename(self.staging.path().join(name), self.target.join(name))
                .map_err(|e| io_error(&self.dir.join(name), e))?;
        }
        for stale in &self.earlier_files {
            let is_plain_name = Path::new(stale).file_name() == Some(std::ffi::OsStr::new(stale));
            if is_plain_name && !self.files.contains(stale) {
                let _ = std::fs::remove_file(self.target.join(stale));
            }
        }
        Ok(())
    }
}

/// Writes `bytes` as the file `out`, whole or not at all: into a temporary file beside it,
/// renamed into place when complete. Refuses a folder, and any of `protected` (the files the
/// scenario was read from: an export must never replace its own input). A link is written
/// through, as for output folders.
pub fn write_file(out: &Path, bytes: &[u8], protected: &[PathBuf]) -> Result<(), OutputError> {
    let target = resolve_link(out)?;
    if target.is_dir() {
        return Err(bad_out(out, "is a folder; name the file to write".into()));
    }
    let canonical = std::fs::canonicalize(&target).ok();
    if canonical.is_some_and(|c| protected.contains(&c)) {
        return Err(bad_out(
            out,
            "is a file the scenario is read from; nothing was written (choose another --out)"
                .into(),
        ));
    }
    let unusable = |e: std::io::Error| bad_out(out, format!("cannot write there: {e}"));
    let (mut file, _lock) = staged(&target, |parent, prefix| {
        tempfile::Builder::new()
            .prefix(prefix)
            .suffix(".tmp")
            // As any new file (0666 less the umask), not tempfile's private 0600.
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(parent)
    })
    .map_err(unusable)?;
    file.write_all(bytes)
        .and_then(|_| file.as_file().sync_all())
        .map_err(|e| io_error(out, e))?;
    file.persist(&target).map_err(|e| io_error(out, e.error))?;
    Ok(())
}

/// Swaps two folders in one step (Linux `renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let result = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}
