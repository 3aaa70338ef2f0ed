//! Clients, closed-loop like real ones: each proposes a unique command to the server it
//! believes leads, waits (a while) for it to be applied there, follows leader hints, and
//! thinks a random while before the next, until the fault phase ends. A cluster therefore never
//! holds more than one uncommitted command per client that is still being waited for. With
//! ReadIndex, some operations are linearizable reads instead.

use super::plan::Plan;
use crate::reads::ReadOutcome;
use crate::rng::Stream;
use crate::tester::{TestResult, Tester};
use crate::value::Value;
use crate::world::{SimTime, MS};
use raft_core::Refusal;

/// How long a client waits for its command before giving up on it (it may still commit).
const PATIENCE: SimTime = 1_000 * MS;

/// Client `id`'s loop.
pub async fn client(t: Tester, id: u64, plan: Plan, mut rng: Stream, end: SimTime) -> TestResult {
    let n = plan.universe() as u64;
    let mut target = rng.below(n) as usize;
    let mut sequence = 0u64;
    let reads = plan.features.read_index;
    while t.now() < end {
        if reads && rng.chance(READ_PER_MILLE) {
            target = read(&t, target, &mut rng, plan.universe(), end).await;
            t.sleep(1 + rng.below(2 * plan.propose_every_ms)).await;
            continue;
        }
        sequence += 1;
        let command = Value::Int((id << 32 | sequence) as i64);
        let started = t.start(target, command.clone());
        if started.is_leader {
            let give_up = (t.now() + PATIENCE).min(end);
            while t.now() < give_up && !applied(&t, target, started.index, &command) {
                t.sleep(5).await;
            }
        } else {
            let hint = t.world().node(target).and_then(|node| node.leader_hint());
            target = match hint {
                Some(leader) if (leader.0 as usize) < plan.universe() => leader.0 as usize,
                _ => rng.below(n) as usize,
            };
        }
        t.sleep(1 + rng.below(2 * plan.propose_every_ms)).await;
    }
    Ok(())
}

/// With ReadIndex, the share of a client's operations that are reads (per mille).
const READ_PER_MILLE: u64 = 400;

/// One read, at the server the client believes leads or (half the time) at any server, which
/// forwards it; waits a while for the answer. The `Linearizable Reads` checker judges every
/// answer. Returns the server to talk to next.
async fn read(t: &Tester, target: usize, rng: &mut Stream, n: usize, end: SimTime) -> usize {
    let anyone = rng.below(n as u64) as usize;
    let at = if rng.below(2) == 0 { target } else { anyone };
    let Some(id) = t.world().read(at) else {
        return anyone;
    };
    let give_up = (t.now() + PATIENCE).min(end);
    while t.now() < give_up {
        let outcome = t.world().read_outcome(id);
        match outcome {
            Some(ReadOutcome::Ready { .. }) => return at,
            Some(ReadOutcome::Failed(Refusal::NotLeader {
                leader_hint: Some(leader),
            })) if (leader.0 as usize) < n => return leader.0 as usize,
            Some(ReadOutcome::Failed(_)) => return anyone,
            None => t.sleep(5).await,
        }
    }
    target
}

/// Whether server `i` has applied `command` at `index`.
fn applied(t: &Tester, i: usize, index: u64, command: &Value) -> bool {
    t.world().appliers().applied(i, index) == Some(command)
}
