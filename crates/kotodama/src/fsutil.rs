//! Writing files so that a failure (a full disk, a crash) never leaves a half-written one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The sibling a file or folder is written into before it is renamed into place.
pub(crate) fn partial(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Writes `bytes` to a temporary sibling of `path`, flushes it to the disk and renames it over `path`
/// (creating the parent folder): after a crash or a power cut, `path` holds either its old content or
/// the new, whole. A failed write removes the sibling.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file(path, bytes).map_err(|e| io(path, e))
}

/// `write_atomically` for callers with their own error type.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = partial(path);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    std::fs::File::open(dir)?.sync_all()
}

/// Builds a folder with `build` in a temporary sibling of `dir`, then puts it in place of `dir` (an
/// older `dir` is removed first): `dir` is never seen half-written. A failed build removes the sibling.
pub(crate) fn write_dir_atomically(
    dir: &Path,
    build: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let parent = dir
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let tmp = partial(dir);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    let built = build(&tmp).and_then(|()| {
        for entry in std::fs::read_dir(&tmp).map_err(|e| io(&tmp, e))? {
            let path = entry.map_err(|e| io(&tmp, e))?.path();
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| io(&path, e))?;
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| io(dir, e))
    });
    if built.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    built?;
    // The rename is durable once the parent folder's entry is written.
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(parent, e))
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
        std::os::unix::fs::symlink("/dev/full", partial(&path)).unwrap();
        let err = write_atomically(&path, b"three").unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert!(!partial(&path).exists());
    }

    #[test]
    fn a_folder_is_replaced_whole_and_a_failed_or_panicking_build_leaves_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let adapter = dir.path().join("adapters/ada-job1");
        let files = |d: &Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        write_dir_atomically(&adapter, |d| {
            write_atomically(&d.join("a.json"), b"1")?;
            write_atomically(&d.join("b.bin"), b"2")
        })
        .unwrap();
        assert_eq!(files(&adapter), ["a.json", "b.bin"]);

        // A build that fails half-way (the disk fills up on its second file).
        let err = write_dir_atomically(&adapter, |d| {
            write_atomically(&d.join("a.json"), b"new")?;
            std::os::unix::fs::symlink("/dev/full", partial(&d.join("b.bin"))).unwrap();
            write_atomically(&d.join("b.bin"), b"new")
        })
        .unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
        assert_eq!(std::fs::read(adapter.join("a.json")).unwrap(), b"1");
        assert!(!partial(&adapter).exists());

        // A build that panics half-way leaves the old folder; the next build clears the leftovers.
        let panicked = std::panic::catch_unwind(|| {
            write_dir_atomically(&adapter, |d| {
                write_atomically(&d.join("a.json"), b"new")?;
                panic!("killed mid-write")
            })
        });
        assert!(panicked.is_err());
        assert_eq!(files(&adapter), ["a.json", "b.bin"]);
        assert_eq!(std::fs::read(adapter.join("a.json")).unwrap(), b"1");
        write_dir_atomically(&adapter, |d| write_atomically(&d.join("c.json"), b"3")).unwrap();
        assert_eq!(files(&adapter), ["c.json"]);
        assert!(!partial(&adapter).exists());
    }
}
