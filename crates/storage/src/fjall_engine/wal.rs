//! The durable engine's write-ahead log: every write batch, numbered, in segment files that
//! are fsynced for group commit.
//!
//! Appending copies a batch into a memory buffer under a short lock and gives it the next
//! position (1, 2, 3, …); it never waits for the disk. [`Wal::sync`] takes the whole buffer,
//! writes it to the current segment and `fdatasync`s it: one fsync for every batch appended
//! since the last one. Writers therefore never wait for an fsync in progress, which is what
//! fjall's own journal makes them do.
//!
//! A segment holds a header (magic, a random segment id, its first position) and records
//! (`crc32, payload length, position, payload`), each crc covering the segment id, position,
//! length and payload. Reading stops at the first record that does not check out or does not
//! carry the next position: a torn tail, or the stale contents of a recycled file, whose
//! records were written under another segment id. Segments whose records are all flushed to
//! the tables are deleted, or kept as the spare the next segment is made from ([`spare`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::mem;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::spare::Spare;

/// Size a segment is filled to before the next one is started (a larger record gets a
/// segment to itself), unless the log is opened with another.
pub(crate) const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
/// Identifies a segment file.
const MAGIC: &[u8; 8] = b"ringkvwl";
/// Magic, segment id, first position.
const SEGMENT_HEADER: usize = 24;
/// crc32, payload length, position.
const RECORD_HEADER: usize = 16;

/// The log of one engine.
pub(crate) struct Wal {
    dir: PathBuf,
    pending: Mutex<Pending>,
    segments: Mutex<Segments>,
    spare: Spare,
}

/// Records appended but not yet written to a segment.
struct Pending {
    buf: Vec<u8>,
    /// Position of the next record.
    next: u64,
    /// Id of the segment the next record goes to.
    id: u64,
    /// Bytes that segment can still take.
    room: u64,
    /// Bytes a segment's records may take.
    segment_room: u64,
    /// Offsets in `buf` where a new segment starts, with that segment's first position.
    breaks: Vec<(usize, u64)>,
}

/// The segment files.
struct Segments {
    current: File,
    /// Whether `current` has writes not yet fdatasynced.
    unsynced: bool,
    /// First position of each segment, oldest first; the last is `current`.
    firsts: Vec<u64>,
    /// A cleared buffer handed back to [`Pending`] after each write.
    recycled: Vec<u8>,
}

/// What opening the log found.
pub(crate) struct Recovered {
    /// The log, appending after the last record recovered (or after `after`).
    pub wal: Wal,
    /// Every record after `after`, in order: (position, payload).
    pub records: Vec<(u64, Vec<u8>)>,
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.wal"))
}

fn crc(id: u64, position: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&id.to_le_bytes());
    h.update(&position.to_le_bytes());
    h.update(&(payload.len() as u32).to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn encode_segment_header(buf: &mut Vec<u8>, id: u64, first: u64) {
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&id.to_le_bytes());
    buf.extend_from_slice(&first.to_le_bytes());
}

impl Wal {
    /// Opens (creating if needed) the log in `dir` and reads back every record after position
    /// `after` (the last one already in the tables). A new segment is started for what is
    /// appended next, so recovered segments are never written again. Segments are filled to
    /// `segment_bytes` ([`SEGMENT_BYTES`] but in tests).
    pub fn open(dir: &Path, after: u64, segment_bytes: u64) -> io::Result<Recovered> {
        fs::create_dir_all(dir)?;
        let mut firsts = Vec::new();
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(first) = name.strip_suffix(".wal").and_then(|n| n.parse().ok()) {
                firsts.push(first);
            }
        }
        firsts.sort_unstable();
        let mut records = Vec::new();
        let mut last = after;
        let mut kept = Vec::new();
        for (i, &first) in firsts.iter().enumerate() {
            if first > last + 1 {
                // The chain of positions broke before this segment: what follows it was never
                // made durable, and is dropped.
                fs::remove_file(segment_path(dir, first))?;
                continue;
            }
            kept.push(first);
            if firsts.get(i + 1).is_some_and(|&next| next <= after + 1) {
                continue;
            }
            let found = read_segment(&segment_path(dir, first), first, after)?;
            if let Some(&(position, _)) = found.last() {
                last = position;
            }
            records.extend(found);
        }
        let next = last + 1;
        let spare = Spare::open(dir, segment_bytes)?;
        let mut segments = Segments {
            current: open_segment(dir, &spare, next)?,
            unsynced: false,
            firsts: kept,
            recycled: Vec::new(),
        };
        if segments.firsts.last() != Some(&next) {
            segments.firsts.push(next);
        }
        let id = rand::random();
        let mut header = Vec::with_capacity(SEGMENT_HEADER);
        encode_segment_header(&mut header, id, next);
        segments.current.write_all(&header)?;
        segments.current.sync_data()?;
        let wal = Wal {
            dir: dir.to_owned(),
            pending: Mutex::new(Pending {
                buf: Vec::new(),
                next,
                id,
                room: segment_bytes - SEGMENT_HEADER as u64,
                segment_room: segment_bytes - SEGMENT_HEADER as u64,
                breaks: Vec::new(),
            }),
            segments: Mutex::new(segments),
            spare,
        };
        Ok(Recovered { wal, records })
    }

    /// Appends `payload` and returns its position. Durable after the next [`Wal::sync`].
    pub fn append(&self, payload: &[u8]) -> u64 {
        let mut p = self.pending.lock();
        let position = p.next;
        p.next += 1;
        let len = (RECORD_HEADER + payload.len()) as u64;
        if len > p.room && p.room < p.segment_room {
            p.id = rand::random();
            let at = p.buf.len();
            p.breaks.push((at, position));
            let id = p.id;
            encode_segment_header(&mut p.buf, id, position);
            p.room = p.segment_room;
        }
        p.room = p.room.saturating_sub(len);
        let crc = crc(p.id, position, payload);
        p.buf.reserve(len as usize);
        p.buf.extend_from_slice(&crc.to_le_bytes());
        p.buf
            .extend_from_slice(&(payload.len() as u32).to_le_bytes());
        p.buf.extend_from_slice(&position.to_le_bytes());
        p.buf.extend_from_slice(payload);
        position
    }

    /// Bytes appended since the last [`Wal::sync`].
    pub fn unsynced_bytes(&self) -> usize {
        self.pending.lock().buf.len()
    }

    /// Writes everything appended so far to the segments, and `fdatasync`s them when
    /// `durable` (else it is only handed to the OS, which keeps it through a crash of the
    /// process). Returns the last position written.
    pub fn sync(&self, durable: bool) -> io::Result<u64> {
        let mut segments = self.segments.lock();
        let (buf, breaks, last) = {
            let mut p = self.pending.lock();
            let spare = mem::take(&mut segments.recycled);
            let buf = mem::replace(&mut p.buf, spare);
            (buf, mem::take(&mut p.breaks), p.next - 1)
        };
        let mut from = 0;
        for &(at, first) in &breaks {
            segments.current.write_all(&buf[from..at])?;
            segments.current.sync_data()?;
            segments.start(&self.dir, &self.spare, first)?;
            from = at;
        }
        segments.current.write_all(&buf[from..])?;
        segments.unsynced |= from < buf.len();
        if durable && segments.unsynced {
            segments.current.sync_data()?;
            segments.unsynced = false;
        }
        let mut buf = buf;
        buf.clear();
        if buf.capacity() <= 4 * 1024 * 1024 {
            segments.recycled = buf;
        }
        Ok(last)
    }

    /// Drops the segments whose records all have positions up to `position` (they are in
    /// the tables now); one may become the spare. The current segment is always kept.
    pub fn truncate(&self, position: u64) -> io::Result<()> {
        let mut segments = self.segments.lock();
        while segments.firsts.len() > 1 && segments.firsts[1] <= position + 1 {
            let path = segment_path(&self.dir, segments.firsts.remove(0));
            self.spare.offer(&path)?;
        }
        Ok(())
    }
}

/// Opens the segment file starting at position `first` for writing from its beginning: the
/// spare renamed, or a new file if none is ready.
fn open_segment(dir: &Path, spare: &Spare, first: u64) -> io::Result<File> {
    let path = segment_path(dir, first);
    spare.take_as(&path)?;
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    file.seek(SeekFrom::Start(0))?;
    File::open(dir)?.sync_all()?;
    Ok(file)
}

impl Segments {
    /// Makes the segment starting at position `first` current.
    fn start(&mut self, dir: &Path, spare: &Spare, first: u64) -> io::Result<()> {
        self.current = open_segment(dir, spare, first)?;
        self.unsynced = false;
        self.firsts.push(first);
        Ok(())
    }
}

/// The valid records of the segment at `path` that starts at position `first`, skipping
/// those up to `after`.
fn read_segment(path: &Path, first: u64, after: u64) -> io::Result<Vec<(u64, Vec<u8>)>> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let mut out = Vec::new();
    let Some(header) = bytes.get(..SEGMENT_HEADER) else {
        return Ok(out);
    };
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
    if &header[..8] != MAGIC || word(&header[16..24]) != first {
        return Ok(out);
    }
    let id = word(&header[8..16]);
    let mut rest = &bytes[SEGMENT_HEADER..];
    let mut expected = first;
    while rest.len() >= RECORD_HEADER {
        let crc_found = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
        let len = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes")) as usize;
        let position = word(&rest[8..16]);
        let Some(payload) = rest.get(RECORD_HEADER..RECORD_HEADER + len) else {
            break;
        };
        if position != expected || crc(id, position, payload) != crc_found {
            break;
        }
        if position > after {
            out.push((position, payload.to_vec()));
        }
        expected += 1;
        rest = &rest[RECORD_HEADER + len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::spare::SPARE;
    use super::*;

    const SMALL: u64 = 256;

    fn payload(position: u64) -> Vec<u8> {
        format!("batch {position}").into_bytes()
    }

    fn append_all(wal: &Wal, positions: std::ops::RangeInclusive<u64>) {
        for p in positions {
            assert_eq!(wal.append(&payload(p)), p);
        }
    }

    fn positions(records: &[(u64, Vec<u8>)]) -> Vec<u64> {
        for (p, bytes) in records {
            assert_eq!(bytes, &payload(*p));
        }
        records.iter().map(|(p, _)| *p).collect()
    }

    fn segment_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn reopening_reads_back_what_was_synced_and_continues_numbering() {
        let dir = tempfile::tempdir().unwrap();
        let opened = Wal::open(dir.path(), 0, SMALL).unwrap();
        assert!(opened.records.is_empty());
        append_all(&opened.wal, 1..=40);
        assert_eq!(opened.wal.sync(true).unwrap(), 40);
        assert!(
            segment_files(dir.path()).len() > 2,
            "40 records fill several small segments"
        );
        drop(opened);
        let reopened = Wal::open(dir.path(), 0, SMALL).unwrap();
        assert_eq!(positions(&reopened.records), (1..=40).collect::<Vec<_>>());
        append_all(&reopened.wal, 41..=45);
        reopened.wal.sync(false).unwrap();
        drop(reopened);
        let again = Wal::open(dir.path(), 30, SMALL).unwrap();
        assert_eq!(positions(&again.records), (31..=45).collect::<Vec<_>>());
    }

    #[test]
    fn what_was_never_synced_is_gone_and_a_torn_record_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let opened = Wal::open(dir.path(), 0, SEGMENT_BYTES).unwrap();
        append_all(&opened.wal, 1..=3);
        opened.wal.sync(true).unwrap();
        append_all(&opened.wal, 4..=5);
        drop(opened);
        let reopened = Wal::open(dir.path(), 0, SEGMENT_BYTES).unwrap();
        assert_eq!(positions(&reopened.records), vec![1, 2, 3]);
        drop(reopened);
        let mut first = OpenOptions::new()
            .write(true)
            .open(segment_path(dir.path(), 1))
            .unwrap();
        let third_ends = SEGMENT_HEADER + 3 * (RECORD_HEADER + payload(3).len());
        first.seek(SeekFrom::Start(third_ends as u64 - 2)).unwrap();
        first.write_all(b"??").unwrap();
        let torn = Wal::open(dir.path(), 0, SEGMENT_BYTES).unwrap();
        assert_eq!(positions(&torn.records), vec![1, 2]);
        assert_eq!(
            torn.wal.append(b"next"),
            3,
            "numbering continues after the last valid record"
        );
    }

    #[test]
    fn truncated_segments_are_recycled_and_their_stale_records_never_return() {
        let dir = tempfile::tempdir().unwrap();
        let opened = Wal::open(dir.path(), 0, SMALL).unwrap();
        append_all(&opened.wal, 1..=20);
        opened.wal.sync(true).unwrap();
        let used = fs::read(segment_path(dir.path(), 1)).unwrap();
        opened.wal.truncate(20).unwrap();
        // A spare is prepared in the background whenever one is taken.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !segment_files(dir.path()).contains(&SPARE.to_owned()) {
            assert!(
                std::time::Instant::now() < deadline,
                "no spare was prepared"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let files = segment_files(dir.path());
        assert!(
            files.len() <= 3,
            "the spare, the current segment, one in preparation: {files:?}"
        );
        // The spare as recycling leaves it: a used segment, full of valid-looking records.
        fs::write(dir.path().join(SPARE), &used).unwrap();
        append_all(&opened.wal, 21..=22);
        opened.wal.sync(true).unwrap();
        drop(opened);
        let reopened = Wal::open(dir.path(), 20, SMALL).unwrap();
        assert_eq!(positions(&reopened.records), vec![21, 22]);
        append_all(&reopened.wal, 23..=60);
        reopened.wal.sync(true).unwrap();
        drop(reopened);
        let again = Wal::open(dir.path(), 20, SMALL).unwrap();
        assert_eq!(positions(&again.records), (21..=60).collect::<Vec<_>>());
    }

    #[test]
    fn a_missing_segment_ends_the_log_and_what_follows_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let opened = Wal::open(dir.path(), 0, SMALL).unwrap();
        append_all(&opened.wal, 1..=40);
        opened.wal.sync(true).unwrap();
        drop(opened);
        let files = segment_files(dir.path());
        fs::remove_file(dir.path().join(&files[1])).unwrap();
        let reopened = Wal::open(dir.path(), 0, SMALL).unwrap();
        let found = positions(&reopened.records);
        assert!(!found.is_empty() && found.len() < 40);
        assert_eq!(found, (1..=found.len() as u64).collect::<Vec<_>>());
        let next = found.len() as u64 + 1;
        assert_eq!(reopened.wal.append(b"x"), next);
    }

    #[test]
    fn a_record_larger_than_a_segment_gets_one_to_itself() {
        let dir = tempfile::tempdir().unwrap();
        let opened = Wal::open(dir.path(), 0, SMALL).unwrap();
        let big = vec![7u8; 10 * SMALL as usize];
        opened.wal.append(b"small");
        opened.wal.append(&big);
        opened.wal.append(b"after");
        opened.wal.sync(true).unwrap();
        drop(opened);
        let reopened = Wal::open(dir.path(), 0, SMALL).unwrap();
        let found: Vec<_> = reopened.records.iter().map(|(_, b)| b.clone()).collect();
        assert_eq!(found, vec![b"small".to_vec(), big, b"after".to_vec()]);
    }
}
