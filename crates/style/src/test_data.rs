//! Where the tests' reference data lives (character scripts, UD treebanks): the folder named by
//! `KOTODAMA_DATA`, which the Makefile sets. A test that needs it fails saying what is missing.

use std::path::PathBuf;

pub fn dir() -> PathBuf {
    let dir = std::env::var_os("KOTODAMA_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "KOTODAMA_DATA is not set: this test reads the reference scripts and treebanks \
             (`make test` sets it to the shared data folder beside the checkout)"
            )
        });
    assert!(
        dir.is_dir(),
        "KOTODAMA_DATA={} is not a folder: the reference data is missing",
        dir.display()
    );
    dir
}
