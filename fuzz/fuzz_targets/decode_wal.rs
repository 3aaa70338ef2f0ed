//! Fuzz target: see `raft_tests::fuzzing::decode_wal`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| raft_tests::fuzzing::decode_wal(data));
