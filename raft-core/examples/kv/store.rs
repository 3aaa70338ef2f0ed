//! The node's durable state: one write-ahead log file, `DIR/wal`, in `raft_core::wal`'s format.
//!
//! - Each `Persist` becomes one record appended to the file, then one fsync (`fdatasync`):
//!   with group commit, one record and one fsync cover every event of a group.
//! - A change that carries a snapshot (the service compacted, or a leader sent one) rewrites
//!   the file: the whole state as one record into `DIR/wal.tmp`, fsync, rename over `DIR/wal`,
//!   fsync the directory. The rename is atomic, so a crash leaves the old log or the new one,
//!   never a mix; that is both the atomic snapshot write and the log compaction.
//! - On start the file is replayed up to the first torn record, and cut there.
//!
//! The store keeps the state it has written in memory (`state`), which it needs to rewrite the
//! file; its entries share their bytes with the node's log.

use raft_core::wal::{self, Replay};
use raft_core::{PersistChange, PersistentState};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The log's file name in the node's directory.
pub const LOG_FILE: &str = "wal";
/// Where a compaction writes the new log before renaming it.
pub const TEMP_FILE: &str = "wal.tmp";

/// The write-ahead log of one node.
pub struct Store {
    dir: PathBuf,
    file: File,
    /// Bytes in the file.
    len: u64,
    /// The file's length right after the last compaction or at start: a restarted node
    /// compacts once it has appended as much again, not at once.
    compacted_len: u64,
    state: PersistentState,
    fsync: bool,
    buf: Vec<u8>,
}

/// What opening the store found.
#[derive(Debug)]
pub struct Recovery {
    /// Records replayed.
    pub records: usize,
    /// Bytes kept.
    pub bytes: u64,
    /// The torn write that was cut off, if any.
    pub cut: Option<Cut>,
}

/// A torn write cut off the end of the log.
#[derive(Debug, PartialEq, Eq)]
pub struct Cut {
    /// Where the good records end (the file's new length).
    pub offset: u64,
    /// How many bytes were cut.
    pub bytes: u64,
    /// What was wrong with the first of them.
    pub why: String,
}

impl Store {
    /// Opens (or creates) the log in `dir` and replays it. A torn tail is cut off; a log that
    /// cannot be replayed (a whole record that cannot be used) is an error, and the node must
    /// not start. With `fsync` off nothing is ever synced: fast, and safe against a process
    /// crash (the kernel keeps what was written), but not against a machine crash.
    pub fn open(dir: &Path, fsync: bool) -> Result<(Store, Recovery), String> {
        let context = |e: io::Error| format!("{}: {e}", dir.display());
        fs::create_dir_all(dir).map_err(context)?;
        // A compaction that died before its rename: the old log is still whole.
        match fs::remove_file(dir.join(TEMP_FILE)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(context(e)),
            _ => {}
        }
        let path = dir.join(LOG_FILE);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(context(e)),
        };
        let replay = wal::replay(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(context)?;
        let Replay {
            state,
            records,
            valid_len,
            torn,
        } = replay;
        let cut = torn.map(|why| Cut {
            offset: valid_len as u64,
            bytes: (bytes.len() - valid_len) as u64,
            why: why.to_string(),
        });
        if cut.is_some() {
            file.set_len(valid_len as u64).map_err(context)?;
        }
        if fsync {
            file.sync_all().map_err(context)?;
            sync_dir(dir).map_err(context)?;
        }
        let store = Store {
            dir: dir.to_path_buf(),
            file,
            len: valid_len as u64,
            compacted_len: valid_len as u64,
            state,
            fsync,
            buf: Vec::new(),
        };
        let recovery = Recovery {
            records,
            bytes: valid_len as u64,
            cut,
        };
        Ok((store, recovery))
    }

    /// What the log holds.
    pub fn state(&self) -> &PersistentState {
        &self.state
    }

    /// Bytes appended since the last compaction or the start: when the service should
    /// snapshot.
    pub fn appended_since_compaction(&self) -> u64 {
        self.len - self.compacted_len
    }

    /// Makes `change` durable: appended and fsynced, or, if it carries a snapshot, the whole
    /// log rewritten. Returns the new log's size when it compacted. An error leaves the
    /// store unusable: the node must stop (fail-stop), not go on without its write.
    pub fn persist(&mut self, change: PersistChange) -> io::Result<Option<u64>> {
        let compacts = change.snapshot.is_some();
        if !compacts {
            self.buf.clear();
            wal::encode_record(&change, &mut self.buf)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        }
        self.state
            .apply_owned(change)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        if compacts {
            self.rewrite()?;
            return Ok(Some(self.len));
        }
        self.file.write_all(&self.buf)?;
        if self.fsync {
            self.file.sync_data()?;
        }
        self.len += self.buf.len() as u64;
        Ok(None)
    }

    /// Replaces the log by one record holding the whole state (see the module's comment).
    fn rewrite(&mut self) -> io::Result<()> {
        self.buf.clear();
        let whole = PersistChange::from_state(self.state.clone());
        wal::encode_record(&whole, &mut self.buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let temp = self.dir.join(TEMP_FILE);
        let mut file = File::create(&temp)?;
        file.write_all(&self.buf)?;
        if self.fsync {
            file.sync_all()?;
        }
        drop(file);
        let path = self.dir.join(LOG_FILE);
        fs::rename(&temp, &path)?;
        if self.fsync {
            sync_dir(&self.dir)?;
        }
        self.file = OpenOptions::new().append(true).open(&path)?;
        self.len = self.buf.len() as u64;
        self.compacted_len = self.len;
        Ok(())
    }
}

/// Makes a directory's entries (a created or renamed file) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft_core::{Entry, HardState, LogAppend, LogIndex, NodeId, SharedBytes, Snapshot, Term};

    fn append(first: u64, commands: &[&str]) -> PersistChange {
        let entries = commands
            .iter()
            .map(|c| Entry::new(Term(1), SharedBytes::from(c.as_bytes())))
            .collect();
        PersistChange {
            hard_state: Some(HardState {
                term: Term(1),
                voted_for: Some(NodeId(2)),
            }),
            append: Some(LogAppend {
                first_index: LogIndex(first),
                entries,
            }),
            ..Default::default()
        }
    }

    fn snapshot(index: u64) -> PersistChange {
        PersistChange {
            snapshot: Some(Snapshot {
                index: LogIndex(index),
                term: Term(1),
                data: SharedBytes::from(&b"the service's state"[..]),
                membership: None,
            }),
            ..Default::default()
        }
    }

    fn reopen(dir: &Path) -> (Store, Recovery) {
        Store::open(dir, true).unwrap()
    }

    #[test]
    fn what_was_persisted_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, recovery) = reopen(dir.path());
        assert_eq!((recovery.records, recovery.cut), (0, None));
        store.persist(append(1, &["a", "b"])).unwrap();
        store.persist(append(3, &["c"])).unwrap();
        let expected = store.state().clone();
        assert_eq!(expected.last_index(), LogIndex(3));
        let (store, recovery) = reopen(dir.path());
        assert_eq!(store.state(), &expected);
        assert_eq!((recovery.records, recovery.cut), (2, None));
    }

    #[test]
    fn a_snapshot_rewrites_the_log_as_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = reopen(dir.path());
        for i in 0..50 {
            store.persist(append(i + 1, &["some command"])).unwrap();
        }
        let before = store.appended_since_compaction();
        let compacted = store.persist(snapshot(48)).unwrap().expect("a rewrite");
        assert!(compacted < before / 10, "{compacted} of {before} bytes");
        assert_eq!(store.appended_since_compaction(), 0);
        store.persist(append(51, &["after"])).unwrap();
        let expected = store.state().clone();
        assert_eq!(
            (expected.snapshot.index, expected.entries.len()),
            (LogIndex(48), 3)
        );
        // A compaction that died before its rename leaves a temporary file: ignored.
        fs::write(dir.path().join(TEMP_FILE), b"half a log").unwrap();
        let (store, recovery) = reopen(dir.path());
        assert_eq!(store.state(), &expected);
        assert_eq!((recovery.records, recovery.cut), (2, None));
        assert!(!dir.path().join(TEMP_FILE).exists());
    }

    #[test]
    fn a_torn_tail_is_cut_and_appends_go_after_the_good_records() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = reopen(dir.path());
        store.persist(append(1, &["a"])).unwrap();
        let good = store.state().clone();
        let good_len = fs::metadata(dir.path().join(LOG_FILE)).unwrap().len();
        let mut torn = Vec::new();
        wal::encode_record(&append(2, &["lost"]), &mut torn).unwrap();
        torn.truncate(torn.len() - 3);
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.path().join(LOG_FILE))
            .unwrap();
        file.write_all(&torn).unwrap();
        drop((file, store));
        let (mut store, recovery) = reopen(dir.path());
        assert_eq!(store.state(), &good);
        let cut = recovery.cut.expect("the torn record is cut");
        assert_eq!((cut.offset, cut.bytes), (good_len, torn.len() as u64));
        store.persist(append(2, &["b"])).unwrap();
        let expected = store.state().clone();
        let (store, recovery) = reopen(dir.path());
        assert_eq!(store.state(), &expected);
        assert_eq!((recovery.records, recovery.cut), (2, None));
    }

    #[test]
    fn a_whole_record_that_cannot_be_used_stops_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = reopen(dir.path());
        store.persist(append(1, &["a"])).unwrap();
        let mut gap = Vec::new();
        wal::encode_record(&append(7, &["gap"]), &mut gap).unwrap();
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.path().join(LOG_FILE))
            .unwrap();
        file.write_all(&gap).unwrap();
        drop((file, store));
        let error = Store::open(dir.path(), true).err().expect("refused");
        assert!(error.contains("does not apply"), "{error}");
    }
}
