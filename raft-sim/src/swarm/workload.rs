//! Clients: each proposes unique commands to the server it believes leads, follows leader
//! hints, and pauses a random while between proposals, until the fault phase ends.

use super::plan::Plan;
use crate::rng::Stream;
use crate::tester::{TestResult, Tester};
use crate::value::Value;
use crate::world::SimTime;

/// Client `id`'s loop.
pub async fn client(t: Tester, id: u64, plan: Plan, mut rng: Stream, end: SimTime) -> TestResult {
    let n = plan.nodes as u64;
    let mut target = rng.below(n) as usize;
    let mut sequence = 0u64;
    while t.now() < end {
        sequence += 1;
        let command = Value::Int((id << 32 | sequence) as i64);
        if !t.start(target, command).is_leader {
            let hint = t.world().node(target).and_then(|node| node.leader_hint());
            target = match hint {
                Some(leader) if (leader.0 as usize) < plan.nodes => leader.0 as usize,
                _ => rng.below(n) as usize,
            };
        }
        t.sleep(1 + rng.below(2 * plan.propose_every_ms)).await;
    }
    Ok(())
}
