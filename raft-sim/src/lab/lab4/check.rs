//! The linearizability check of GenericTest, with a deterministic budget instead
//! of the lab's one second of wall-clock time: running out of it fails the test, it never
//! "assumes the history is ok".

use super::cluster::show_stamp;
use crate::linearizability::{self, Budget, Model, Operation, Verdict};
use crate::tester::{TestResult, Tester};
use std::path::PathBuf;

/// Where violation pages go: `$RAFT_SIM_VIS_DIR`, else the system's temporary directory.
pub const VIS_DIR_VAR: &str = "RAFT_SIM_VIS_DIR";

/// Checks `history` against `model`; on a violation (or an exhausted budget) writes the
/// history's visualisation and fails with its path.
pub fn check_linearizable<M>(
    t: &Tester,
    model: &M,
    history: &[Operation<M::Input, M::Output>],
) -> TestResult
where
    M: Model + Clone + 'static,
    M::Input: Clone + 'static,
    M::Output: Clone + 'static,
{
    if let Some(sink) = t.check_sink() {
        let (model, history) = (model.clone(), history.to_vec());
        sink.borrow_mut().push(Box::new(move || {
            linearizability::check(&model, &history, Budget::default()).stats
        }));
    }
    let result = linearizability::check(model, history, Budget::default());
    t.record_check(result.stats.clone());
    {
        let mut world = t.world();
        let now = world.now();
        let s = &result.stats;
        world.trace_note(
            now,
            format!(
                "linearizability: {} ops, {} partitions, {} steps: {}",
                s.ops, s.partitions, s.steps, s.verdict
            ),
        );
    }
    if result.verdict == Verdict::Linearizable {
        return Ok(());
    }
    let path = page_path(t);
    let title = format!("{} — seed {}", t.description(), t.world().seed());
    let page =
        linearizability::write_visualization(model, history, &result, &title, &show_stamp, &path);
    let page = match page {
        Ok(()) => format!("info: wrote history visualization to {}", path.display()),
        Err(e) => format!(
            "could not write the history visualization to {}: {e}",
            path.display()
        ),
    };
    match result.verdict {
        Verdict::NotLinearizable => t.fail(format!("history is not linearizable; {page}")),
        _ => t.fail(format!(
            "linearizability check ran out of its budget of {} steps per partition, so the \
             verdict is unknown, which fails the test; {page}",
            Budget::DEFAULT_STEPS
        )),
    }
}

/// `raft-sim-<edition>-seed<seed>-<test title>.html` in the visualisation directory.
fn page_path(t: &Tester) -> PathBuf {
    let dir = std::env::var_os(VIS_DIR_VAR).map_or_else(std::env::temp_dir, PathBuf::from);
    let slug: String = t
        .description()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let (edition, seed) = {
        let world = t.world();
        (world.edition().year(), world.seed())
    };
    dir.join(format!("raft-sim-{edition}-seed{seed}-{slug}.html"))
}
