//! Writing files so that a failure (a full disk, a crash) never leaves a half-written one.

use std::path::Path;

use crate::{Error, Result};

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `bytes` to a temporary sibling of `path` and renames it over `path` (creating the parent
/// folder): `path` holds either its old content or the new, whole. A failed write removes the sibling.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let tmp = path.with_extension("partial");
    let written = std::fs::write(&tmp, bytes)
        .map_err(|e| io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| io(path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_a_failed_write_leaves_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/card.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        // The temporary sibling is a link to /dev/full: the write fails with ENOSPC.
        std::os::unix::fs::symlink("/dev/full", path.with_extension("partial")).unwrap();
        let err = write_atomically(&path, b"three").unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert!(!path.with_extension("partial").exists());
    }
}
