//! The per-repository fetch lock: an exclusive `flock` on a file next to the mirror.
//!
//! A file lock rather than an in-process mutex map because it also serialises two bot processes
//! sharing one cache, and because each `open` is its own open file description, two threads of
//! one process exclude each other too. The wait is polled so it honours the job's deadline (a
//! blocking `lock()` could outlive it).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::thread;
use std::time::Duration;

use super::{CheckoutError, Deadline, io_at};

/// Holds the lock until dropped (closing the file releases it, even if the process dies).
#[derive(Debug)]
pub(super) struct FetchLock {
    _file: File,
}

/// Waits for the lock on `path` until `deadline`, then gives up with `Timeout`.
pub(super) fn acquire(path: &Path, deadline: &Deadline) -> Result<FetchLock, CheckoutError> {
    // The lock file is never deleted: removing it while another process waits on the old inode
    // would let two holders in.
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| io_at(path, e))?;
    let mut pause = Duration::from_millis(5);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(FetchLock { _file: file }),
            Err(TryLockError::WouldBlock) => {
                deadline.check()?;
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(TryLockError::Error(e)) => return Err(io_at(path, e)),
        }
    }
}
