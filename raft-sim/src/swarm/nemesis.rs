//! The fault phase's nemesis: topologies that come and go, crashes (some inside a durable
//! write) and restarts, each a virtual-time task on its own random stream.

use super::plan::Plan;
use crate::rng::Stream;
use crate::tester::{TestResult, Tester};
use crate::world::SimTime;

/// Cycles through the plan's topologies (and healthy spells) until `end`, then heals.
pub async fn topologies(t: Tester, plan: Plan, mut rng: Stream, end: SimTime) -> TestResult {
    if plan.topologies.is_empty() {
        return Ok(());
    }
    while t.now() < end {
        let (name, cuts) = if rng.below(3) == 0 {
            ("healthy", Vec::new())
        } else {
            let kind = plan.topologies[rng.below(plan.topologies.len() as u64) as usize];
            (kind.name(), kind.draw(plan.universe(), &mut rng))
        };
        set_cuts(&t, name, &cuts);
        let hold_ms = plan.hold_ms / 2 + rng.below(plan.hold_ms + 1);
        sleep_until(&t, (t.now() + hold_ms * 1000).min(end)).await;
    }
    set_cuts(&t, "healthy", &[]);
    Ok(())
}

/// Replaces every one-way cut by `cuts`.
pub fn set_cuts(t: &Tester, name: &str, cuts: &[(usize, usize)]) {
    let mut world = t.world();
    let now = world.now();
    let network = world.network_mut();
    network.clear_cuts();
    for &(from, to) in cuts {
        network.set_link(from, to, false);
    }
    world.trace_mut().topology(now, name, cuts);
}

/// Crashes a random server every so often until `end`, each restarted after its own
/// downtime; some crashes fall inside the server's next durable write.
pub async fn crashes(t: Tester, plan: Plan, mut rng: Stream, end: SimTime) -> TestResult {
    if plan.crash_every_ms == 0 {
        return Ok(());
    }
    loop {
        let pause_ms = rng.below(2 * plan.crash_every_ms + 1);
        sleep_until(&t, (t.now() + pause_ms * 1000).min(end)).await;
        if t.now() >= end {
            return Ok(());
        }
        // Leaders hold the interesting state (uncommitted entries, in-flight appends): half
        // the crashes go to whoever leads, the rest to anyone.
        let leader = (0..plan.universe()).find(|&i| t.get_state(i).1);
        let victim = match leader {
            Some(leader) if rng.below(2) == 0 => leader,
            _ => rng.below(plan.universe() as u64) as usize,
        };
        if !t.is_alive(victim) {
            continue;
        }
        if rng.chance(plan.mid_write) {
            t.world().crash_in_next_step(victim);
        } else {
            t.crash(victim);
        }
        let downtime_ms = rng.below(plan.downtime_ms + 1);
        let t2 = t.clone();
        t.go(async move {
            t2.sleep(downtime_ms).await;
            restart_if_down(&t2, victim);
            Ok(())
        });
    }
}

/// Asks whoever leads to hand leadership to a random other server, every so often until
/// `end` (thesis §3.10): transfers that succeed, and transfers to servers that are down, cut
/// off, behind, or crash meanwhile.
pub async fn transfers(t: Tester, plan: Plan, mut rng: Stream, end: SimTime) -> TestResult {
    let n = plan.universe();
    if plan.transfer_every_ms == 0 || n < 2 {
        return Ok(());
    }
    loop {
        let pause_ms = rng.below(2 * plan.transfer_every_ms + 1);
        sleep_until(&t, (t.now() + pause_ms * 1000).min(end)).await;
        if t.now() >= end {
            return Ok(());
        }
        let Some(leader) = (0..n).find(|&i| t.get_state(i).1) else {
            continue;
        };
        let target = (leader + 1 + rng.below(n as u64 - 1) as usize) % n;
        t.world().transfer_leader(leader, target);
    }
}

/// Restarts server `i` (connected) if it is down, unless it was retired (removed from the
/// cluster for good); otherwise disarms a pending crash.
pub fn restart_if_down(t: &Tester, i: usize) {
    if t.world().is_retired(i) {
        return;
    }
    if t.is_alive(i) {
        t.world().cancel_crash(i);
    } else {
        t.start_server(i);
        t.connect(i);
    }
}

pub(crate) async fn sleep_until(t: &Tester, at: SimTime) {
    let now = t.now();
    if at > now {
        t.sleep((at - now).div_ceil(1000)).await;
    }
}
