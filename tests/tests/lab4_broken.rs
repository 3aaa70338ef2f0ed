//! Broken key/value services that the Lab 4 tests must catch: a server that answers reads
//! from its own state without going through Raft (stale reads, even on followers), and one
//! that performs a resent write again (2024: it ignores its duplicate table; 2025: Put skips
//! its version check). Each test must pass with the correct service on the same seed, and
//! fail with the broken one, for the reason given.

use raft_sim::kv::Bug;
use raft_sim::{lab, runner, Edition, Outcome};

fn run(go_name: &str, edition: Edition, seed: u64, bug: Option<Bug>) -> Outcome {
    let test = lab::find_in(go_name, edition).expect("a Lab 4 test");
    runner::run_body((test.setup)(edition), edition, seed, false, |t| {
        if let Some(bug) = bug {
            t.inject_bug(bug);
        }
        (test.body)(t)
    })
}

/// `go_name` passes with the correct service and fails with `bug`, saying `why`, on one of
/// the first few seeds (how stale a stale read is depends on timing, which the seed draws).
fn caught(go_name: &str, edition: Edition, bug: Bug, why: &str) -> String {
    let mut seen = Vec::new();
    for seed in 1..=8 {
        let good = run(go_name, edition, seed, None);
        assert!(
            good.passed(),
            "{go_name} {edition:?} seed {seed}: {:?}",
            good.result
        );
        match run(go_name, edition, seed, Some(bug)).result {
            Err(failure) if failure.message.contains(why) => return failure.message,
            Err(failure) => seen.push(format!("seed {seed}: {}", failure.message)),
            Ok(_) => seen.push(format!("seed {seed}: passed")),
        }
    }
    panic!("{go_name} {edition:?} never caught {bug:?} with {why:?}: {seen:#?}");
}

/// A linearizability failure names the page it wrote; the page shows the violation.
fn page_of(message: &str) -> String {
    let path = message
        .split("wrote history visualization to ")
        .nth(1)
        .expect("the failure names the page")
        .trim();
    let page = std::fs::read_to_string(path).expect("the page was written");
    std::fs::remove_file(path).expect("removable");
    page
}

#[test]
fn stale_reads_complete_in_a_minority_2024() {
    caught(
        "TestOnePartition4A",
        Edition::Y2024,
        Bug::StaleReads,
        "Get in minority completed",
    );
}

#[test]
fn stale_reads_lose_appends_2024() {
    caught(
        "TestConcurrent4A",
        Edition::Y2024,
        Bug::StaleReads,
        "missing element",
    );
}

#[test]
fn stale_reads_are_not_linearizable_2024() {
    let message = caught(
        "TestPersistPartitionUnreliableLinearizable4A",
        Edition::Y2024,
        Bug::StaleReads,
        "history is not linearizable",
    );
    let page = page_of(&message);
    assert!(page.contains("History is <b>not linearizable</b>"));
    assert!(page.contains("class=\"stuck\""));
}

#[test]
fn reapplied_appends_are_duplicates_2024() {
    caught(
        "TestUnreliableOneKey4A",
        Edition::Y2024,
        Bug::ReapplyDuplicates,
        "duplicate element",
    );
    caught(
        "TestUnreliable4A",
        Edition::Y2024,
        Bug::ReapplyDuplicates,
        "get wrong value",
    );
}

#[test]
fn stale_reads_complete_in_a_minority_2025() {
    caught(
        "TestOnePartition4B",
        Edition::Y2025,
        Bug::StaleReads,
        "Get in minority completed",
    );
}

#[test]
fn stale_reads_are_not_linearizable_2025() {
    let message = caught(
        "TestUnreliable4B",
        Edition::Y2025,
        Bug::StaleReads,
        "history is not linearizable",
    );
    let page = page_of(&message);
    assert!(page.contains("History is <b>not linearizable</b>"));
    assert!(page.contains("put(&#39;k&#39;"));
}

#[test]
fn reapplied_puts_break_the_version_count_2025() {
    caught(
        "TestUnreliable4B",
        Edition::Y2025,
        Bug::ReapplyDuplicates,
        "Unreliable: Wrong number of puts",
    );
    let message = caught(
        "TestBasic4B",
        Edition::Y2025,
        Bug::ReapplyDuplicates,
        "history is not linearizable",
    );
    page_of(&message);
}
