//! Snapshot files: a shard's slot range written as a stream of records, so a snapshot is
//! built, sent in chunks and installed without ever holding the shard in memory.
//!
//! A record is `table u8 ++ key_len u32 ++ key ++ value_len u32 ++ value`, all big-endian;
//! the file is the records of [`ringkv_shard::state_machine::SlotRangeScan`] in order.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use bytes::Bytes;
use ringkv_shard::state_machine::{restore_entry, SlotRangeScan};
use ringkv_storage::{Table, WriteBatch};

/// Records written to the engine per batch while installing.
const INSTALL_BATCH: usize = 1024;

fn table_code(table: Table) -> u8 {
    table.index() as u8
}

fn table_of(code: u8) -> io::Result<Table> {
    Table::ALL
        .get(usize::from(code))
        .copied()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unknown table in snapshot"))
}

/// Writes every entry of `scan` to a new file at `path`; returns the number of records.
pub fn write(path: &Path, scan: SlotRangeScan<'_>) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut records = 0;
    for item in scan {
        let (table, key, value) = item.map_err(io::Error::other)?;
        out.write_all(&[table_code(table)])?;
        out.write_all(&(key.len() as u32).to_be_bytes())?;
        out.write_all(&key)?;
        out.write_all(&(value.len() as u32).to_be_bytes())?;
        out.write_all(&value)?;
        records += 1;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(records)
}

/// Reads the records of the snapshot file `file` and hands them to `apply` in batches.
pub fn install(file: File, mut apply: impl FnMut(WriteBatch) -> io::Result<()>) -> io::Result<u64> {
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut batch = WriteBatch::new();
    let mut records = 0;
    loop {
        let mut code = [0u8; 1];
        match input.read_exact(&mut code) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        let table = table_of(code[0])?;
        let key = read_chunk(&mut input)?;
        let value = read_chunk(&mut input)?;
        restore_entry(&mut batch, table, &key, Bytes::from(value));
        records += 1;
        if batch.len() >= INSTALL_BATCH {
            apply(std::mem::take(&mut batch))?;
        }
    }
    if !batch.is_empty() {
        apply(batch)?;
    }
    Ok(records)
}

fn read_chunk(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let mut buf = vec![0u8; u32::from_be_bytes(len) as usize];
    input.read_exact(&mut buf)?;
    Ok(buf)
}
