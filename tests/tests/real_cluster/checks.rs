//! What must hold after the run: the history, the final values, the torn writes, the disks.

use super::cluster::Cluster;
use super::nemesis::Tear;
use super::workload::Recorded;
use super::{PUT_KEY, SERVERS};
use raft_core::{Entry, PersistentState, SharedBytes};
use raft_sim::linearizability::{
    self, Budget, CheckResult, KvInput, KvModel, KvOutput, Operation, Verdict,
};
use std::path::PathBuf;

/// The history must be linearizable; if not, a page showing why is written next to the
/// test's other files and named in the failure.
pub fn linearizable(
    history: &[Operation<KvInput, KvOutput>],
    cluster: &Cluster,
    name: &str,
) -> CheckResult {
    let result = linearizability::check(&KvModel, history, Budget::default());
    if result.verdict != Verdict::Linearizable {
        let page = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.html"));
        let micros = |t: u64| format!("{:.3}s", t as f64 / 1e6);
        let _ =
            linearizability::write_visualization(&KvModel, history, &result, name, &micros, &page);
        panic!(
            "the history is {} (see {})\n{}",
            result.verdict,
            page.display(),
            cluster.all_logs()
        );
    }
    result
}

/// Nothing acknowledged is lost, nothing is applied twice, nothing appears unasked: every
/// value appended is unique, so the final values say which appends took effect.
pub fn appends_kept(recorded: &[Recorded], finals: &[(String, String)]) {
    let acknowledged: Vec<&(String, String)> =
        recorded.iter().flat_map(|r| &r.acknowledged).collect();
    let sent: Vec<&(String, String)> = recorded.iter().flat_map(|r| &r.sent).collect();
    for (key, value) in finals.iter().filter(|(key, _)| key != PUT_KEY) {
        for (_, piece) in sent.iter().filter(|(k, _)| k == key) {
            let times = value.matches(piece.as_str()).count();
            let acked = acknowledged.iter().any(|(k, v)| k == key && v == piece);
            assert!(
                times <= 1,
                "{piece} appended to {key} {times} times: {value}"
            );
            assert!(
                times == 1 || !acked,
                "acknowledged {piece} lost from {key}: {value}"
            );
        }
        let pieces = (sent.iter())
            .filter(|(k, v)| k == key && value.contains(v.as_str()))
            .count();
        assert_eq!(
            value.matches('[').count(),
            pieces,
            "{key} holds values never sent: {value}"
        );
    }
}

/// Every torn write was cut exactly, by the incarnation that restarted on it.
pub fn tears_cut(cluster: &Cluster, tears: &[Tear]) {
    assert!(tears.len() >= 3, "the nemesis tore {} logs", tears.len());
    for tear in tears {
        let log = cluster.log_of(tear.server, tear.incarnation);
        let expected = format!(
            "node {}: cut {} bytes of a torn write at byte {}:",
            tear.server + 1,
            tear.bytes,
            tear.offset
        );
        assert!(log.contains(&expected), "expected {expected:?} in\n{log}");
    }
}

/// The logs on disk, read with every server stopped: whole, and in agreement.
pub fn logs_on_disk(cluster: &Cluster) {
    let states: Vec<PersistentState> = (0..SERVERS)
        .map(|i| {
            let log = cluster.frozen_log(i);
            let at = log.valid_len;
            assert_eq!(log.torn, None, "node {}: a bad record at byte {at}", i + 1);
            log.state
        })
        .collect();
    for a in 0..SERVERS {
        for b in a + 1..SERVERS {
            if let Err(why) = log_matching(&states[a], &states[b]) {
                panic!("nodes {} and {}: {why}", a + 1, b + 1);
            }
        }
    }
}

/// Log Matching (§5.3) between two durable logs: where they hold an entry of the same index
/// and term, they hold the same entries up to there (as far as both still hold entries).
fn log_matching(a: &PersistentState, b: &PersistentState) -> Result<(), String> {
    let first = a.snapshot.index.max(b.snapshot.index).next();
    let last = a.last_index().min(b.last_index());
    let entry = |s: &PersistentState, index: u64| {
        s.entries[(index - s.snapshot.index.0 - 1) as usize].clone()
    };
    let matching = (first.0..=last.0)
        .rev()
        .find(|&i| entry(a, i).term == entry(b, i).term);
    for index in first.0..=matching.unwrap_or(0) {
        if entry(a, index) != entry(b, index) {
            return Err(format!(
                "logs differ at {index}, below a common entry at {matching:?}"
            ));
        }
    }
    Ok(())
}

#[test]
fn log_matching_finds_logs_that_differ_below_a_common_entry() {
    let state = |terms: &[u64], commands: &str| PersistentState {
        hard_state: raft_core::HardState {
            term: raft_core::Term(9),
            voted_for: None,
        },
        snapshot: Default::default(),
        entries: (terms.iter().zip(commands.bytes()))
            .map(|(&term, c)| Entry::new(raft_core::Term(term), SharedBytes::from(&[c][..])))
            .collect(),
    };
    let a = state(&[1, 1, 2, 3], "abcd");
    assert_eq!(log_matching(&a, &state(&[1, 1, 2, 4], "abcx")), Ok(()));
    assert_eq!(log_matching(&a, &state(&[1, 1], "ab")), Ok(()));
    assert!(log_matching(&a, &state(&[1, 1, 2], "axc")).is_err());
    assert!(log_matching(&a, &state(&[1, 1, 2, 3], "abcx")).is_err());
}
