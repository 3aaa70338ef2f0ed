//! Fuzz target: see `raft_tests::fuzzing::step_events`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| raft_tests::fuzzing::step_events(data));
