//! The log's spare segment: a file of already-written blocks that the next segment is made
//! from.
//!
//! An `fdatasync` after writing into blocks that already exist is one disk write; after
//! appending to a file it is two, the data and the file's new size, and on this kind of
//! virtual disk each costs a round trip to the host (measured: 110 µs against 160 µs per
//! fdatasync of 4 KiB). So a segment is never a fresh file if it can be helped: a segment the
//! log no longer needs becomes the spare, and while there is none a background thread
//! prepares one by writing zeros. Stale records in a reused file never count again: they
//! were written under another segment id.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use parking_lot::Mutex;

/// Name of the spare.
pub(super) const SPARE: &str = "spare.wal";
/// Prefix of the name of a spare being prepared.
const PREPARING: &str = "preparing-";

/// The spare of one log directory.
#[derive(Clone)]
pub(super) struct Spare {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    bytes: u64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    ready: Option<PathBuf>,
    preparing: bool,
}

impl Spare {
    /// The spare of `dir`, whose segments are `bytes` long: the one left there, or a new one
    /// prepared now.
    pub fn open(dir: &Path, bytes: u64) -> io::Result<Spare> {
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with(PREPARING) {
                let _ = fs::remove_file(&path);
            }
        }
        let spare = Spare {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                bytes,
                state: Mutex::default(),
            }),
        };
        let path = dir.join(SPARE);
        if !path.exists() {
            spare.inner.prepare()?;
        }
        spare.inner.state.lock().ready = Some(path);
        Ok(spare)
    }

    /// Renames the spare, if one is ready, to `path`, and starts preparing the next; whether
    /// there was one.
    pub fn take_as(&self, path: &Path) -> io::Result<bool> {
        let mut state = self.inner.state.lock();
        let taken = match state.ready.take() {
            Some(spare) => {
                fs::rename(spare, path)?;
                true
            }
            None => false,
        };
        if !state.preparing {
            state.preparing = true;
            let inner = self.inner.clone();
            let started = thread::Builder::new()
                .name("ringkv-wal-spare".to_owned())
                .spawn(move || {
                    let prepared = inner.prepare();
                    let mut state = inner.state.lock();
                    state.preparing = false;
                    match prepared {
                        Ok(()) => state.ready = Some(inner.dir.join(SPARE)),
                        Err(e) => tracing::warn!(error = %e, "preparing a log segment failed"),
                    }
                });
            if started.is_err() {
                state.preparing = false;
            }
        }
        Ok(taken)
    }

    /// Takes `path`, a segment the log no longer needs: it becomes the spare if there is
    /// none, else it is deleted.
    pub fn offer(&self, path: &Path) -> io::Result<()> {
        let mut state = self.inner.state.lock();
        if state.ready.is_none() && !state.preparing {
            let spare = self.inner.dir.join(SPARE);
            fs::rename(path, &spare)?;
            state.ready = Some(spare);
            return Ok(());
        }
        fs::remove_file(path)
    }
}

impl Inner {
    /// Writes a zeroed segment and makes it the spare.
    fn prepare(&self) -> io::Result<()> {
        let preparing = self
            .dir
            .join(format!("{PREPARING}{:016x}.wal", rand::random::<u64>()));
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&preparing)?;
        let zeros = vec![0u8; 1024 * 1024];
        let mut left = self.bytes;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        file.sync_all()?;
        fs::rename(&preparing, self.dir.join(SPARE))?;
        File::open(&self.dir)?.sync_all()
    }
}
