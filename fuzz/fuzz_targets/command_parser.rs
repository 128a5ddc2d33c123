//! Fuzzes the command layer and the state machine behind it with arbitrary requests.
//!
//! Each input is a sequence of requests (arguments separated by 0x00, requests by 0x01; the
//! first argument is mapped onto a known command name so the fuzzer spends its time inside
//! commands). Every request is checked for arity, planned, and its mutation applied to a
//! memory-engine shard. Checks that nothing panics, that every reply is a well-formed frame,
//! and that the key count matches the keys a full scan finds.

#![no_main]

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use ringkv_protocol::{Frame, ProtocolVersion};
use ringkv_shard::command::{self, Ctx, Plan, COMMANDS};
use ringkv_shard::{Proposal, StateMachine};
use ringkv_storage::{Engine, MemoryEngine, Table};

fuzz_target!(|data: &[u8]| {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
    let mut machine = StateMachine::open(engine.clone()).expect("memory engine opens");
    let reader = machine.reader();
    let mut now = 1_700_000_000_000u64;
    for request in data.split(|&b| b == 0x01).take(64) {
        let mut parts = request.split(|&b| b == 0x00);
        let Some(name) = parts.next().and_then(|n| n.first()) else { continue };
        let spec = &COMMANDS[usize::from(*name) % COMMANDS.len()];
        let mut argv = vec![Bytes::from_static(spec.name.as_bytes())];
        argv.extend(parts.take(16).map(Bytes::copy_from_slice));
        now += u64::from(request.len() as u8) * 7;
        if spec.handler.is_none() || !spec.arity_ok(argv.len()) {
            continue;
        }
        let reply = match command::plan(spec, &Ctx { reader: &reader, now }, &argv) {
            Plan::Reply(frame) => frame,
            Plan::Write(mutation) => machine.apply(&Proposal { now, mutation }),
        };
        let mut out = BytesMut::new();
        reply.encode(&mut out, ProtocolVersion::Resp3);
        assert!(!out.is_empty());
        if let Frame::Error(text) = &reply {
            assert!(text.starts_with(b"ERR ") || text.starts_with(b"WRONGTYPE "), "{text:?}");
        }
    }
    let stored = engine.scan(Table::Keys, &[], None, usize::MAX).expect("scan").len() as u64;
    assert_eq!(reader.dbsize(), stored, "key count drifted from the stored keys");
});
