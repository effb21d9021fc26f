//! A folder mpmt writes into through a descriptor of it, never by path: a
//! name inside it is opened with `openat` and `O_NOFOLLOW`, so a symlink
//! planted in a shared `--out` (the run id is the time and the pid, so it
//! can be predicted) cannot redirect a write elsewhere. A run's own folder
//! is created with `mkdirat`, which refuses any entry already there, link
//! or not, and opened without following. A folder the user names (`mpmt
//! report reports/latest`) is opened as given: that path is theirs.
//!
//! Every file is written all or nothing: a temp file of a name no other
//! writer uses (`.<name>.<pid>.<n>.tmp`, `O_EXCL`), synced, then renamed
//! over the name; on any failure the temp file is removed and the old file,
//! if any, stays whole.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// An open folder, and the path it was opened by (for messages).
#[derive(Debug)]
pub struct OutDir {
    fd: OwnedFd,
    path: PathBuf,
}

fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a name"))
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// One name inside a folder: no separator, not `.` or `..`.
fn plain(name: &str) -> io::Result<CString> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a plain file name"),
        ));
    }
    cstr(name)
}

impl OutDir {
    /// Opens the folder at `path` (following the path the user gave).
    pub fn open(path: &Path) -> io::Result<OutDir> {
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
        // SAFETY: a NUL-terminated path and flags; returns a new fd.
        let fd = check(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        Ok(OutDir {
            // SAFETY: the kernel just returned this fd to us alone.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: path.to_path_buf(),
        })
    }

    /// Creates folder `name` in this one and opens it; an entry already
    /// there (a folder, a file, a symlink) is refused with `EEXIST`.
    pub fn create_dir(&self, name: &str) -> io::Result<OutDir> {
        let c = plain(name)?;
        // SAFETY: our open directory fd and a NUL-terminated plain name.
        check(unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o755) })?;
        // SAFETY: as above; O_NOFOLLOW refuses a link swapped in since.
        let fd = check(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        })?;
        Ok(OutDir {
            // SAFETY: the kernel just returned this fd to us alone.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: self.path.join(name),
        })
    }

    /// Removes the empty folder `name` in this one.
    pub fn remove_dir(&self, name: &str) -> io::Result<()> {
        let c = plain(name)?;
        // SAFETY: our open directory fd and a NUL-terminated plain name.
        check(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), libc::AT_REMOVEDIR) })
            .map(|_| ())
    }

    /// The path this folder was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in this folder (for messages).
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    fn temp_name(name: &str) -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn unlink(&self, name: &CString) {
        // SAFETY: our open directory fd and a NUL-terminated name; a
        // failure leaves nothing worse than before.
        unsafe { libc::unlinkat(self.fd.as_raw_fd(), name.as_ptr(), 0) };
    }

    fn rename(&self, from: &CString, to: &CString) -> io::Result<()> {
        let d = self.fd.as_raw_fd();
        // SAFETY: our open directory fd (both sides) and NUL-terminated
        // names; rename replaces the entry `to` itself, never a link's target.
        check(unsafe { libc::renameat(d, from.as_ptr(), d, to.as_ptr()) }).map(|_| ())
    }

    /// Writes `bytes` as file `name` in this folder, all or nothing.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        let target = plain(name)?;
        let tmp = cstr(&Self::temp_name(name))?;
        let written = (|| {
            // SAFETY: our open directory fd and a NUL-terminated name; a new
            // file (O_EXCL), never through a link (O_NOFOLLOW).
            let fd = check(unsafe {
                libc::openat(
                    self.fd.as_raw_fd(),
                    tmp.as_ptr(),
                    libc::O_WRONLY
                        | libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC,
                    0o644 as libc::c_uint,
                )
            })?;
            // SAFETY: the kernel just returned this fd to us alone.
            let mut f = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
            f.write_all(bytes)?;
            f.sync_data()?;
            self.rename(&tmp, &target)
        })();
        if written.is_err() {
            self.unlink(&tmp);
        }
        written
    }

    /// Points symlink `name` in this folder at `target`, atomically: a new
    /// link under a unique name, renamed over the old one, so `name` always
    /// names something whole (never missing, never half-replaced).
    pub fn symlink_atomic(&self, target: &str, name: &str) -> io::Result<()> {
        let to = plain(name)?;
        let tmp = cstr(&Self::temp_name(name))?;
        let t = cstr(target)?;
        // SAFETY: NUL-terminated strings and our open directory fd.
        let linked =
            check(unsafe { libc::symlinkat(t.as_ptr(), self.fd.as_raw_fd(), tmp.as_ptr()) })
                .and_then(|_| self.rename(&tmp, &to));
        if linked.is_err() {
            self.unlink(&tmp);
        }
        linked
    }
}

/// Writes `bytes` to the file at `path` all or nothing (see the module
/// doc), through a descriptor of its folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    OutDir::open(parent)?.write_atomic(name, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_symlink_is_refused_and_never_followed() {
        let root = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        std::fs::write(victim.path().join("results.json"), b"precious").unwrap();
        std::os::unix::fs::symlink(victim.path(), root.path().join("run")).unwrap();
        let out = OutDir::open(root.path()).unwrap();
        let e = out.create_dir("run").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        // A file named like a link inside a run folder: replaced, not followed.
        let run = out.create_dir("run2").unwrap();
        std::os::unix::fs::symlink(
            victim.path().join("results.json"),
            root.path().join("run2/results.json"),
        )
        .unwrap();
        run.write_atomic("results.json", b"new").unwrap();
        assert_eq!(
            std::fs::read(victim.path().join("results.json")).unwrap(),
            b"precious"
        );
        assert_eq!(
            std::fs::read(root.path().join("run2/results.json")).unwrap(),
            b"new"
        );
        assert!(run.write_atomic("../x", b"no").is_err());
        let left: Vec<_> = std::fs::read_dir(root.path().join("run2"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "a temp file was left: {left:?}");
    }
}
