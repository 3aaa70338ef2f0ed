//! The checker against histories whose verdict is known: hand-written ones, and random ones
//! generated from a sequential run (linearizable by construction) then corrupted.

use super::*;
use crate::kv::rpc::KvErr;
use crate::rng::Stream;

type KvOp24 = Operation<KvInput, KvOutput>;
type KvOp25 = Operation<VersionedKvInput, VersionedKvOutput>;

fn put(client: i64, key: &str, value: &str, call: u64, ret: u64) -> KvOp24 {
    Operation::completed(
        client,
        KvInput::put(key, value),
        call,
        KvOutput::default(),
        ret,
    )
}

fn append(client: i64, key: &str, value: &str, call: u64, ret: u64) -> KvOp24 {
    Operation::completed(
        client,
        KvInput::append(key, value),
        call,
        KvOutput::default(),
        ret,
    )
}

fn get(client: i64, key: &str, value: &str, call: u64, ret: u64) -> KvOp24 {
    Operation::completed(client, KvInput::get(key), call, KvOutput::value(value), ret)
}

fn verdict24(history: &[KvOp24]) -> Verdict {
    check(&KvModel, history, Budget::default()).verdict
}

fn verdict25(history: &[KvOp25]) -> Verdict {
    check(&VersionedKvModel, history, Budget::default()).verdict
}

fn vput(client: i64, value: &str, version: u64, err: KvErr, call: u64, ret: u64) -> KvOp25 {
    Operation::completed(
        client,
        VersionedKvInput::put("k", value, version),
        call,
        VersionedKvOutput::put(err),
        ret,
    )
}

fn vget(client: i64, value: &str, version: u64, call: u64, ret: u64) -> KvOp25 {
    Operation::completed(
        client,
        VersionedKvInput::get("k"),
        call,
        VersionedKvOutput::get(value, version, KvErr::OK),
        ret,
    )
}

use Verdict::{BudgetExhausted, Linearizable, NotLinearizable};

#[test]
fn sequential_histories() {
    let ok = [
        put(1, "k", "a", 0, 1),
        append(1, "k", "b", 2, 3),
        get(1, "k", "ab", 4, 5),
    ];
    assert_eq!(verdict24(&ok), Linearizable);
    let lost_write = [
        put(1, "k", "a", 0, 1),
        append(1, "k", "b", 2, 3),
        get(1, "k", "a", 4, 5),
    ];
    assert_eq!(verdict24(&lost_write), NotLinearizable);
    assert_eq!(verdict24(&[]), Linearizable);
    assert_eq!(verdict24(&[get(1, "k", "", 0, 1)]), Linearizable);
    assert_eq!(verdict24(&[get(1, "k", "ghost", 0, 1)]), NotLinearizable);
}

#[test]
fn concurrent_operations_may_take_effect_in_either_order() {
    // The append overlaps the read that sees it and the read that does not.
    let history = [
        get(1, "k", "", 0, 10),
        append(2, "k", "x", 1, 9),
        get(3, "k", "x", 2, 8),
    ];
    assert_eq!(verdict24(&history), Linearizable);
    // A read that starts after another read saw "x" cannot go back to "".
    let back_in_time = [
        append(2, "k", "x", 0, 20),
        get(3, "k", "x", 1, 5),
        get(1, "k", "", 6, 10),
    ];
    assert_eq!(verdict24(&back_in_time), NotLinearizable);
}

#[test]
fn two_readers_must_agree_on_the_order_of_concurrent_writes() {
    let base = |first: &str, second: &str| {
        vec![
            append(1, "k", "a", 0, 100),
            append(2, "k", "b", 0, 100),
            get(3, "k", first, 10, 20),
            get(4, "k", second, 30, 40),
        ]
    };
    assert_eq!(verdict24(&base("a", "ab")), Linearizable);
    assert_eq!(verdict24(&base("b", "ba")), Linearizable);
    assert_eq!(verdict24(&base("ab", "ba")), NotLinearizable);
    assert_eq!(verdict24(&base("ab", "a")), NotLinearizable);
}

#[test]
fn equal_times_are_concurrent_intervals_are_closed() {
    // The put returns at 5 and the read is called at 5: they overlap, so both orders count.
    let history = [put(1, "k", "a", 0, 5), get(2, "k", "", 5, 6)];
    assert_eq!(verdict24(&history), Linearizable);
    let history = [put(1, "k", "a", 0, 4), get(2, "k", "", 5, 6)];
    assert_eq!(verdict24(&history), NotLinearizable);
}

#[test]
fn pending_operations_may_or_may_not_have_happened() {
    let pending_put = |call| Operation::pending(1, KvInput::put("k", "a"), call);
    // A later read saw it...
    assert_eq!(
        verdict24(&[pending_put(0), get(2, "k", "a", 10, 11)]),
        Linearizable
    );
    // ...or did not.
    assert_eq!(
        verdict24(&[pending_put(0), get(2, "k", "", 10, 11)]),
        Linearizable
    );
    // But once seen, it cannot be unseen, and it cannot act before its call.
    let history = [
        pending_put(0),
        get(2, "k", "a", 10, 11),
        get(2, "k", "", 12, 13),
    ];
    assert_eq!(verdict24(&history), NotLinearizable);
    assert_eq!(
        verdict24(&[get(2, "k", "a", 0, 1), pending_put(5)]),
        NotLinearizable
    );
    // A pending read constrains nothing.
    let pending_get = Operation::pending(3, KvInput::get("k"), 0);
    assert_eq!(
        verdict24(&[pending_get, put(1, "k", "a", 1, 2)]),
        Linearizable
    );
}

#[test]
fn keys_are_checked_as_independent_partitions() {
    let history = [
        put(1, "a", "1", 0, 1),
        put(1, "b", "2", 2, 3),
        get(2, "a", "1", 4, 5),
        get(2, "b", "stale", 6, 7),
    ];
    let result = check(&KvModel, &history, Budget::default());
    assert_eq!(result.verdict, NotLinearizable);
    assert_eq!(result.partitions.len(), 2);
    assert_eq!(result.partitions[0].ops, vec![0, 2]);
    assert_eq!(result.partitions[0].verdict, Linearizable);
    assert_eq!(result.partitions[1].verdict, NotLinearizable);
    assert_eq!(result.partitions[1].stuck_op, Some(3));
    assert_eq!(result.partitions[1].longest_prefix.len(), 1);
    assert_eq!(result.partitions[1].longest_prefix[0].op, 1);
    assert_eq!(result.stats.partitions, 2);
    assert_eq!(result.stats.largest_partition, 2);
}

#[test]
fn versioned_puts_follow_their_versions() {
    let ok = [
        vput(1, "a", 0, KvErr::OK, 0, 1),
        vput(2, "b", 0, KvErr::ErrVersion, 2, 3),
        vput(2, "b", 1, KvErr::OK, 4, 5),
        vget(1, "b", 2, 6, 7),
    ];
    assert_eq!(verdict25(&ok), Linearizable);
    // An OK put with a stale version, or an ErrVersion with the right one, is illegal.
    let stale_ok = [
        vput(1, "a", 0, KvErr::OK, 0, 1),
        vput(2, "b", 0, KvErr::OK, 2, 3),
    ];
    assert_eq!(verdict25(&stale_ok), NotLinearizable);
    let wrong_refusal = [vput(1, "a", 0, KvErr::ErrVersion, 0, 1)];
    assert_eq!(verdict25(&wrong_refusal), NotLinearizable);
    // A Put answering ErrNoKey is never legal; a Get's version and error are not compared.
    assert_eq!(
        verdict25(&[vput(1, "a", 3, KvErr::ErrNoKey, 0, 1)]),
        NotLinearizable
    );
    assert_eq!(verdict25(&[vget(1, "", 7, 0, 1)]), Linearizable);
}

#[test]
fn err_maybe_counts_either_way() {
    // Performed: the read sees it.
    let performed = [
        vput(1, "a", 0, KvErr::ErrMaybe, 0, 1),
        vget(2, "a", 1, 2, 3),
    ];
    assert_eq!(verdict25(&performed), Linearizable);
    // Not performed: a version mismatch at its point, and nothing changes.
    let skipped = [
        vput(1, "a", 0, KvErr::OK, 0, 1),
        vput(2, "b", 0, KvErr::ErrMaybe, 2, 3),
        vget(1, "a", 1, 4, 5),
    ];
    assert_eq!(verdict25(&skipped), Linearizable);
    // But it cannot be performed where its version does not match.
    let impossible = [
        vput(1, "a", 0, KvErr::OK, 0, 1),
        vput(2, "b", 0, KvErr::ErrMaybe, 2, 3),
        vget(1, "b", 2, 4, 5),
    ];
    assert_eq!(verdict25(&impossible), NotLinearizable);
}

#[test]
fn running_out_of_budget_is_not_a_pass() {
    let history = [
        put(1, "k", "a", 0, 10),
        put(2, "k", "b", 0, 10),
        get(3, "k", "a", 20, 30),
    ];
    let tiny = Budget {
        steps_per_partition: 2,
    };
    let result = check(&KvModel, &history, tiny);
    assert_eq!(result.verdict, BudgetExhausted);
    assert_eq!(result.stats.steps, 2);
    assert_eq!(
        check(&KvModel, &history, Budget::default()).verdict,
        Linearizable
    );
}

/// A random sequential run on a few keys, each operation stretched around its instant by up
/// to `jitter`, so that many overlap. Linearizable by construction.
fn generated_history(seed: u64, ops: usize, jitter: u64) -> Vec<KvOp24> {
    let mut rng = Stream::new(seed, "generated-history", 0);
    let mut state: BTreeMap<String, String> = BTreeMap::new();
    let mut history = Vec::new();
    for i in 0..ops {
        let key = format!("k{}", rng.below(3));
        let at = 1000 * (i as u64 + 10);
        let call = at - rng.below(jitter + 1);
        let ret = at + rng.below(jitter + 1);
        let client = rng.below(5) as i64;
        let value = format!("v{i} ");
        let slot = state.entry(key.clone()).or_default();
        let op = match rng.below(3) {
            0 => {
                *slot = value.clone();
                put(client, &key, &value, call, ret)
            }
            1 => {
                slot.push_str(&value);
                append(client, &key, &value, call, ret)
            }
            _ => get(client, &key, slot, call, ret),
        };
        // Some writes never return (their clients crashed); they did take effect.
        if op.input.op != KvOp::Get && rng.chance(50) {
            history.push(Operation::pending(client, op.input, call));
        } else {
            history.push(op);
        }
    }
    history
}

use std::collections::BTreeMap;

#[test]
fn generated_histories_pass_and_fail_once_corrupted() {
    let mut corrupted_some = 0;
    for seed in 0..200 {
        let jitter = [0, 900, 3000, 8000][seed as usize % 4];
        let mut history = generated_history(seed, 60, jitter);
        assert_eq!(verdict24(&history), Linearizable, "seed {seed}");
        // A read returning a value no one ever wrote cannot be explained.
        let reads: Vec<usize> = (0..history.len())
            .filter(|&i| history[i].input.op == KvOp::Get)
            .collect();
        let Some(&victim) = reads.get(seed as usize % reads.len().max(1)) else {
            continue;
        };
        if let Some(r) = history[victim].returned.as_mut() {
            r.output.value.push_str("corrupt");
        }
        assert_eq!(verdict24(&history), NotLinearizable, "seed {seed}");
        corrupted_some += 1;
    }
    assert!(corrupted_some > 150);
}

/// A sequential run of versioned puts and gets by several clients on one key, some answered
/// ErrMaybe (performed or not), stretched by jitter.
fn generated_versioned_history(seed: u64, ops: usize, jitter: u64) -> Vec<KvOp25> {
    let mut rng = Stream::new(seed, "generated-versioned", 0);
    let (mut value, mut version) = (String::new(), 0u64);
    let mut history = Vec::new();
    for i in 0..ops {
        let at = 1000 * (i as u64 + 10);
        let call = at - rng.below(jitter + 1);
        let ret = at + rng.below(jitter + 1);
        let client = rng.below(4) as i64;
        if rng.chance(400) {
            history.push(vget(client, &value, version, call, ret));
            continue;
        }
        // Half the puts carry the current version.
        let expected = if rng.chance(500) {
            version
        } else {
            version.saturating_sub(1 + rng.below(2))
        };
        let new = format!("v{i}");
        let err = if expected == version {
            value = new.clone();
            version += 1;
            KvErr::OK
        } else {
            KvErr::ErrVersion
        };
        let err = if rng.chance(200) {
            KvErr::ErrMaybe
        } else {
            err
        };
        history.push(vput(client, &new, expected, err, call, ret));
    }
    history
}

#[test]
fn generated_versioned_histories_pass_and_fail_once_corrupted() {
    for seed in 0..200 {
        let jitter = [0, 900, 2500][seed as usize % 3];
        let mut history = generated_versioned_history(seed, 60, jitter);
        assert_eq!(verdict25(&history), Linearizable, "seed {seed}");
        let victim = history
            .iter()
            .position(|op| op.input.op == KvOp::Put)
            .expect("some put");
        if let Some(r) = history[victim].returned.as_mut() {
            r.output.err = KvErr::ErrNoKey;
        }
        assert_eq!(verdict25(&history), NotLinearizable, "seed {seed}");
    }
}

#[test]
fn the_visualisation_shows_the_longest_prefix_and_the_stuck_operation() {
    let history = [
        put(1, "k", "a", 0, 10),
        get(2, "k", "<b>", 20, 30),
        put(3, "other", "x", 0, 1),
    ];
    let result = check(&KvModel, &history, Budget::default());
    let page = visualize(&KvModel, &history, &result, "a <test>", &|t| {
        format!("{t}ns")
    });
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("History is <b>not linearizable</b>"));
    assert!(page.contains("a &lt;test&gt;"), "titles are escaped");
    assert!(page.contains("get(&#39;k&#39;) -&gt; &#39;&lt;b&gt;&#39;"));
    assert!(page.contains("class=\"stuck\""));
    assert!(page.contains("class=\"linearized\""));
    assert!(page.contains("called 20ns, returned 30ns"));
    assert!(!page.contains("<b>'"), "descriptions are escaped");
    let dir = std::env::temp_dir().join(format!("lin-vis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("page.html");
    write_visualization(&KvModel, &history, &result, "t", &|t| t.to_string(), &path).unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("</html>"));
    std::fs::remove_dir_all(&dir).unwrap();
    let missing = dir.join("no/such/dir/page.html");
    assert!(write_visualization(
        &KvModel,
        &history,
        &result,
        "t",
        &|t| t.to_string(),
        &missing
    )
    .is_err());
}

#[test]
fn an_err_maybe_put_may_take_effect_after_being_tried_as_a_no_op() {
    // Tried first (as a no-op: version 1 is not the key's), the ErrMaybe put must also be
    // tried later, after the put that makes version 1 current.
    let history = [
        vput(1, "b", 1, KvErr::ErrMaybe, 0, 30),
        vput(2, "a", 0, KvErr::OK, 0, 10),
        vget(3, "b", 2, 20, 30),
    ];
    assert_eq!(verdict25(&history), Linearizable);
}

#[test]
fn a_put_of_the_current_value_may_matter_later() {
    // Put("") changes nothing where it is first tried, but after Put("a") it does.
    let history = [
        put(1, "k", "", 0, 50),
        put(2, "k", "a", 0, 10),
        get(3, "k", "", 20, 50),
    ];
    assert_eq!(verdict24(&history), Linearizable);
}

/// The same model without the read-only pruning: the plain search, as a reference.
struct Unpruned<M>(M);

impl<M: Model> Model for Unpruned<M> {
    type Input = M::Input;
    type Output = M::Output;
    type State = M::State;

    fn init(&self) -> M::State {
        self.0.init()
    }

    fn step(&self, s: &M::State, i: &M::Input, o: Option<&M::Output>) -> Option<M::State> {
        self.0.step(s, i, o)
    }

    fn partition(&self, history: &[Operation<M::Input, M::Output>]) -> Vec<Vec<usize>> {
        self.0.partition(history)
    }

    fn describe_operation(&self, i: &M::Input, o: Option<&M::Output>) -> String {
        self.0.describe_operation(i, o)
    }

    fn describe_state(&self, s: &M::State) -> String {
        self.0.describe_state(s)
    }
}

#[test]
fn pruning_never_changes_a_verdict() {
    let (mut linearizable, mut not) = (0, 0);
    for seed in 0..300 {
        let mut history = generated_versioned_history(seed, 40, 4000);
        // Random corruption, which may or may not break linearizability.
        let mut rng = Stream::new(seed, "corruption", 0);
        for _ in 0..rng.below(3) {
            let victim = rng.below(history.len() as u64) as usize;
            if let Some(r) = history[victim].returned.as_mut() {
                r.output.err =
                    [KvErr::OK, KvErr::ErrVersion, KvErr::ErrMaybe][rng.below(3) as usize];
                r.output.value = format!("v{}", rng.below(40));
            }
        }
        let pruned = check(&VersionedKvModel, &history, Budget::default());
        let plain = check(&Unpruned(VersionedKvModel), &history, Budget::default());
        assert_eq!(pruned.verdict, plain.verdict, "seed {seed}");
        assert!(pruned.stats.steps <= plain.stats.steps, "seed {seed}");
        match pruned.verdict {
            Linearizable => linearizable += 1,
            _ => not += 1,
        }
    }
    assert!(linearizable > 50 && not > 50, "{linearizable} / {not}");
}

#[test]
fn the_readme_example() {
    let history = vec![
        Operation::completed(1, KvInput::put("k", "a"), 0, KvOutput::default(), 10),
        Operation::completed(2, KvInput::get("k"), 20, KvOutput::value(""), 30),
        Operation::pending(3, KvInput::append("k", "b"), 5),
    ];
    let result = check(&KvModel, &history, Budget::default());
    assert_eq!(result.verdict, Verdict::NotLinearizable);
}
