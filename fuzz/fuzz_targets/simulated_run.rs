//! Fuzz target: see `raft_tests::fuzzing::simulated_run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| raft_tests::fuzzing::simulated_run(data));
