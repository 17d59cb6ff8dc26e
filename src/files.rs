//! Reading the files pathcast reads (scenarios, manifests) without hanging or filling memory,
//! and the staging names it writes under, so that it can clean up after a killed run.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(std::io::Error),
    /// A folder, FIFO, device or socket (or, when links are not followed, a link).
    NotAFile,
    TooLarge,
}

/// Opens `path` for reading without blocking (a FIFO with no writer would block `open`
/// forever) and without following a final symbolic link unless `follow_links`.
fn open_nonblocking(path: &Path, follow_links: bool) -> std::io::Result<File> {
    let mut flags = libc::O_NONBLOCK;
    if !follow_links {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

/// The bytes of `path` if it is a regular file of at most `limit` bytes. Checked on the open
/// file, so the answer is about what is read, not about what was there a moment before.
pub(crate) fn read_regular(
    path: &Path,
    limit: u64,
    follow_links: bool,
) -> Result<Vec<u8>, ReadError> {
    let file = open_nonblocking(path, follow_links).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            ReadError::NotAFile
        } else {
            ReadError::Io(e)
        }
    })?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge);
    }
    // Files in /proc report a size of 0 and may be longer: the limit holds while reading too.
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

/// The start of the names of pathcast's staging folders and temporary files for `target`
/// (`.<name>.pathcast-`): beside the target, hidden, and never a name a person would choose.
/// The creating process's id follows, then a random part.
pub(crate) fn staging_prefix(target: &Path) -> OsString {
    let name = target
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "output".into());
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".pathcast-");
    prefix
}

/// The prefix to create a staging entry with: [`staging_prefix`] and this process's id.
pub(crate) fn own_staging_prefix(target: &Path) -> OsString {
    let mut prefix = staging_prefix(target);
    prefix.push(format!("{}-", std::process::id()));
    prefix
}

/// Takes the advisory lock of a staging entry, without waiting. The process that made it
/// holds it until it exits, however it exits (even SIGKILL): a staging entry whose lock can
/// be taken belongs to no running pathcast.
pub(crate) fn try_lock(file: &File) -> bool {
    // SAFETY: flock on a file descriptor that `file` keeps open.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Opens a staging entry (folder or file) and takes its lock; `None` when it cannot be
/// locked (another pathcast is writing it) or opened.
pub(crate) fn lock_entry(path: &Path) -> Option<File> {
    let file = open_nonblocking(path, false).ok()?;
    try_lock(&file).then_some(file)
}

/// Whether process `pid` exists (a process of another user counts).
fn alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// Removes the staging folders and temporary files for `target` that a killed pathcast left
/// behind: those named with [`staging_prefix`] whose process is gone and whose lock is free.
/// Anything else, and anything in use, is left alone; failures are ignored (a leftover is
/// untidy, not wrong).
pub(crate) fn remove_stale_staging(target: &Path) {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let prefix = staging_prefix(target);
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().into_vec();
        let Some(rest) = name.strip_prefix(prefix.as_bytes()) else {
            continue;
        };
        let digits: Vec<u8> = rest
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .collect();
        let pid = std::str::from_utf8(&digits)
            .ok()
            .and_then(|d| d.parse::<libc::pid_t>().ok());
        // Only names pathcast makes: the prefix, a process id, a dash.
        let (Some(pid), Some(b'-')) = (pid, rest.get(digits.len())) else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if let Some(_lock) = lock_entry(&path) {
            let _ = if kind.is_dir() {
                std::fs::remove_dir_all(&path)
            } else if kind.is_file() {
                std::fs::remove_file(&path)
            } else {
                continue;
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        assert!(matches!(
            read_regular(&fifo, 100, true),
            Err(ReadError::NotAFile)
        ));
    }

    #[test]
    fn devices_links_and_large_files_are_refused() {
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), 100, true),
            Err(ReadError::NotAFile)
        ));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        std::fs::write(&file, [b'x'; 101]).unwrap();
        assert!(matches!(
            read_regular(&file, 100, true),
            Err(ReadError::TooLarge)
        ));
        assert_eq!(read_regular(&file, 101, true).unwrap().len(), 101);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(
            read_regular(&link, 1000, false),
            Err(ReadError::NotAFile)
        ));
        assert!(read_regular(&link, 1000, true).is_ok());
        // /proc files say they are empty; the limit still holds.
        assert!(matches!(
            read_regular(Path::new("/proc/self/maps"), 10, true),
            Err(ReadError::TooLarge)
        ));
    }

    #[test]
    fn only_unheld_staging_of_dead_processes_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let prefix = staging_prefix(&target).into_string().unwrap();
        // No process has id 2^30 (Linux allows at most 2^22).
        let dead = dir.path().join(format!("{prefix}1073741824-abc"));
        let live = dir
            .path()
            .join(format!("{prefix}{}-abc", std::process::id()));
        let foreign = [
            dir.path().join(format!("{prefix}xyz")),
            dir.path().join("out.tmp"),
            dir.path().join(".out.tmp"),
        ];
        for path in foreign.iter().chain([&dead, &live]) {
            std::fs::create_dir(path).unwrap();
            std::fs::write(path.join("f"), "x").unwrap();
        }
        let held = dir.path().join(format!("{prefix}1073741825-abc"));
        std::fs::create_dir(&held).unwrap();
        let _lock = lock_entry(&held).unwrap();
        remove_stale_staging(&target);
        assert!(!dead.exists());
        assert!(live.exists() && held.exists());
        assert!(foreign.iter().all(|p| p.exists()));
    }
}
