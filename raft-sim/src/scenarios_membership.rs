//! Named membership scenarios: the bug classes that have hurt production Raft libraries'
//! membership changes, each scripted so it happens, each judged pass or fail (with every
//! whole-cluster checker on).
//!
//! | scenario | the pattern | the bug class |
//! |---|---|---|
//! | `stuck_joint` | the leader that appended C_old,new never learns it committed and crashes; the cluster must still leave the joint configuration | etcd#12136 |
//! | `readd_stale_progress` | a removed server rejoins with a wiped disk: the leader must track it afresh, not from its old match index | raft-rs#571 |
//! | `stale_reply_after_readd` | a server is removed and added back with its disk, and a copy of its last reply from before its removal arrives after it rejoined | a delayed reply advancing new progress |
//! | `stale_reply_after_wiped_readd` | the same with the server's disk wiped (outside the contract: fails) | reusing the id of a server that lost its disk |
//!
//! The last reuses the id of a server that lost its disk, which raft-core's contract forbids
//! (its embedding guide: the leader could credit the newcomer with what the old server held);
//! the scenario is expected to fail on this core and shows why the rule is there. The others
//! must pass.
//!
//! A run starts the bootstrap servers on a network with 1–10 ms of latency and a client that
//! proposes a command every 50 ms to whoever leads; the script then acts as the operator.

use crate::features::Features;
use crate::network::MessageFaults;
use crate::runner::run_tester;
use crate::swarm::membership::{change, leader};
use crate::tester::{TestResult, Tester};
use crate::value::Value;
use crate::world::{ChangeAnswer, Edition, SimTime, World, MS};
use raft_core::{Action, AppendOutcome, Message};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// How long the cluster gets to finish what the scenario asks, after the fault.
pub const SETTLE: SimTime = 10_000 * MS;

/// A membership scenario's script: it runs on a started cluster and fails if the cluster does
/// not recover as it must.
pub type MembershipScript = fn(Tester) -> Pin<Box<dyn Future<Output = TestResult>>>;

/// One named membership scenario.
pub struct MembershipScenario {
    /// Its name.
    pub name: &'static str,
    /// What happens, in a few words.
    pub pattern: &'static str,
    /// The voters of the bootstrap configuration (servers `0..voters`).
    pub voters: usize,
    /// Every server, spares included.
    pub universe: usize,
    /// Whether the core must come through it (every seed, every configuration): `false` for a
    /// scenario outside raft-core's contract, which shows what goes wrong there.
    pub holds: bool,
    /// The operator's script and its verdict.
    pub script: MembershipScript,
}

macro_rules! script {
    ($f:path) => {{
        fn script(t: Tester) -> Pin<Box<dyn Future<Output = TestResult>>> {
            Box::pin($f(t))
        }
        script
    }};
}

/// Every membership scenario.
pub fn all() -> Vec<MembershipScenario> {
    vec![
        MembershipScenario {
            name: "stuck_joint",
            pattern: "the leader that appended C_old,new is cut off from the answers and crashes",
            voters: 3,
            universe: 5,
            holds: true,
            script: script!(stuck_joint),
        },
        MembershipScenario {
            name: "readd_stale_progress",
            pattern: "a removed server rejoins with a wiped disk; then the others need it",
            voters: 3,
            universe: 3,
            holds: true,
            script: script!(readd_stale_progress),
        },
        MembershipScenario {
            name: "stale_reply_after_readd",
            pattern: "a reply from before a server's removal arrives after it rejoined",
            voters: 3,
            universe: 3,
            holds: true,
            script: script!(stale_reply_after_readd),
        },
        MembershipScenario {
            name: "stale_reply_after_wiped_readd",
            pattern: "a reply from before a server's removal arrives after it rejoined, wiped",
            voters: 3,
            universe: 3,
            holds: false,
            script: script!(stale_reply_after_wiped_readd),
        },
    ]
}

/// Runs `scenario` on `seed` with `features` on every node: `Ok` if the cluster did what it
/// must, else what went wrong (a checker's violation included).
pub fn run(scenario: &MembershipScenario, features: Features, seed: u64) -> Result<(), String> {
    let mut world = World::new(scenario.universe, seed, Edition::Y2024, false, false);
    world.set_bootstrap(&(0..scenario.voters).collect::<Vec<_>>());
    world.set_features(features);
    world.network_mut().set_message_faults(MessageFaults {
        latency_min: MS,
        latency_max: 10 * MS,
        ..Default::default()
    });
    let t = Tester::with_world(world, seed);
    let (voters, script) = (scenario.voters, scenario.script);
    let outcome = run_tester(t, seed, move |t| async move {
        t.begin("membership scenario");
        for i in 0..voters {
            t.start_server(i);
            t.connect(i);
        }
        let _client = t.go(client(t.clone()));
        script(t.clone()).await?;
        t.finish();
        Ok(())
    });
    outcome
        .result
        .map(|_| ())
        .map_err(|failure| failure.to_string())
}

/// Proposes a new command every 50 ms to whoever leads the highest term.
async fn client(t: Tester) -> TestResult {
    for k in 0.. {
        if let Some(i) = leader(&t, t.n()) {
            t.start(i, Value::Int(k));
        }
        t.sleep(50).await;
    }
    Ok(())
}

/// Waits (up to 10 s) for a leader that has committed an entry, and returns it.
async fn settled_leader(t: &Tester) -> TestResult<usize> {
    for _ in 0..1_000 {
        if let Some(i) = leader(t, t.n()) {
            let committed = t.world().node(i).map_or(0, |n| n.commit_index().0);
            if committed >= 3 {
                return Ok(i);
            }
        }
        t.sleep(10).await;
    }
    t.fail("no leader committed anything within 10 s")
}

/// Polls every millisecond until `ready` holds, or fails with `what` after `limit`.
async fn within(
    t: &Tester,
    limit: SimTime,
    what: &str,
    ready: impl Fn(&Tester) -> bool,
) -> TestResult {
    let deadline = t.now() + limit;
    while !ready(t) {
        if t.now() >= deadline {
            return t.fail(format!("{what} within {:.1}s", limit as f64 / 1e6));
        }
        t.sleep(1).await;
    }
    Ok(())
}

/// Asks for `voters` until a leader has them committed, or fails.
async fn must_change(t: &Tester, voters: &[usize]) -> TestResult {
    let deadline = t.now() + SETTLE;
    match change(t, voters, &[], deadline).await {
        true => Ok(()),
        false => t.fail(format!("the change to voters {voters:?} did not complete")),
    }
}

/// The highest index some server committed.
fn highest_commit(t: &Tester) -> u64 {
    let world = t.world();
    (0..world.n())
        .filter_map(|i| world.node(i).map(|n| n.commit_index().0))
        .max()
        .unwrap_or(0)
}

// ---- the scripts ---------------------------------------------------------------------------

/// etcd#12136: the leader appends C_old,new and replicates it, but hears no answer (its
/// inbound links are cut), so it never appends C_new; then it crashes. The joint entry is on
/// a quorum of both sides, so the next leader holds it; it must commit it and finish the
/// change by appending C_new itself, or the cluster stays joint for ever.
async fn stuck_joint(t: Tester) -> TestResult {
    let old = settled_leader(&t).await?;
    for spare in 3..5 {
        t.start_server(spare);
        t.connect(spare);
    }
    let others: Vec<usize> = (0..5).filter(|&i| i != old).collect();
    {
        let mut world = t.world();
        for &i in &others {
            world.network_mut().set_link(i, old, false);
        }
    }
    let all: Vec<usize> = (0..5).collect();
    let index = match t.world().change_membership(old, &all, &[]) {
        ChangeAnswer::Proposed { index, .. } => index,
        answer => return t.fail(format!("the leader refused the change: {answer:?}")),
    };
    let holds_joint = |t: &Tester, i: usize| {
        let world = t.world();
        let node = world.node(i);
        node.and_then(|n| n.entry(raft_core::LogIndex(index)))
            .and_then(|e| e.membership())
            .is_some_and(|m| m.is_joint())
    };
    let on_quorum = |t: &Tester| {
        let old_side = (0..3).filter(|&i| holds_joint(t, i)).count();
        let new_side = (0..5).filter(|&i| holds_joint(t, i)).count();
        old_side >= 2 && new_side >= 3
    };
    within(
        &t,
        SETTLE,
        "the joint entry did not reach a quorum of both sides",
        on_quorum,
    )
    .await?;
    if t.world()
        .node(old)
        .is_some_and(|n| !n.membership().is_joint())
    {
        return t.fail("the old leader moved past the joint configuration it never saw commit");
    }
    t.crash(old);
    t.world().network_mut().clear_cuts();
    let finished = |t: &Tester| {
        let Some(i) = leader(t, 5) else {
            return false;
        };
        let world = t.world();
        world.node(i).is_some_and(|n| {
            let m = n.committed_membership();
            !m.is_joint() && m.voters.len() == 5 && n.membership() == m
        })
    };
    within(
        &t,
        SETTLE,
        "the cluster did not leave the joint configuration",
        finished,
    )
    .await?;
    t.start_server(old);
    t.connect(old);
    Ok(())
}

/// raft-rs#571: server `x` is removed, its disk wiped, and it is added back. The leader must
/// track it from scratch; a leader that kept its old match index would never send it the
/// entries it lost. Then the third server crashes, so the cluster can commit only with `x`.
async fn readd_stale_progress(t: Tester) -> TestResult {
    let leader = settled_leader(&t).await?;
    let (x, y) = ((leader + 1) % 3, (leader + 2) % 3);
    t.sleep(1_000).await; // x acknowledges a second's worth of entries
    remove_and_readd(&t, (leader, x, y), Disk::Wiped, None).await
}

/// `x` is removed and added back with its disk, and a copy of the last `AppendEntries` reply
/// it sent before its removal (recorded by a tap on its actions) is delivered to the leader
/// just after it rejoined, as a network that delayed it would. The reply is true of `x`'s
/// disk (a removed server's log changes only by a later term's leader, whose replies the
/// stale one's term cannot pass for), so counting it is harmless: `x` must catch up and the
/// cluster keep committing.
async fn stale_reply_after_readd(t: Tester) -> TestResult {
    stale_reply(t, Disk::Kept).await
}

/// The same with `x`'s disk wiped before it rejoins under its old id, which raft-core's
/// contract forbids: the leader credits the newcomer with the old server's acknowledgement
/// and then ignores its refusals, so it never catches up.
async fn stale_reply_after_wiped_readd(t: Tester) -> TestResult {
    stale_reply(t, Disk::Wiped).await
}

/// What a removed server brings back when it rejoins.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Disk {
    Kept,
    Wiped,
}

async fn stale_reply(t: Tester, disk: Disk) -> TestResult {
    let leader = settled_leader(&t).await?;
    let (x, y) = ((leader + 1) % 3, (leader + 2) % 3);
    let tapped: Rc<RefCell<Option<Message>>> = Rc::default();
    let tap = tapped.clone();
    t.world().set_tamper(Some(Box::new(move |server, actions| {
        if server != x {
            return;
        }
        for action in actions.iter() {
            if let Action::Send { to, message } = action {
                let matched = matches!(
                    message,
                    Message::AppendEntriesReply(r) if matches!(r.outcome, AppendOutcome::Matched(_))
                );
                if matched && to.0 as usize == leader {
                    *tap.borrow_mut() = Some(message.clone());
                }
            }
        }
    })));
    t.sleep(1_000).await;
    t.world().set_tamper(None);
    remove_and_readd(&t, (leader, x, y), disk, Some(tapped)).await
}

/// Removes `x` (crashing it, and wiping its disk if asked), adds it back (delivering `stale`,
/// if given, to the leader once it is back), then crashes `y`: `x` must catch up and the
/// cluster must keep committing.
async fn remove_and_readd(
    t: &Tester,
    (leader, x, y): (usize, usize, usize),
    disk: Disk,
    stale: Option<Rc<RefCell<Option<Message>>>>,
) -> TestResult {
    let mut pair = vec![leader, y];
    pair.sort_unstable();
    must_change(t, &pair).await?;
    match disk {
        Disk::Wiped => t.world().wipe(x),
        Disk::Kept => t.crash(x),
    }
    t.sleep(1_000).await; // the others move on without it
    t.start_server(x);
    t.connect(x);
    let all: Vec<usize> = (0..3).collect();
    let deadline = t.now() + SETTLE;
    let asked = t.world().change_membership(leader, &all, &[]);
    if !matches!(asked, ChangeAnswer::Proposed { .. }) {
        return t.fail(format!(
            "the leader refused to add the server back: {asked:?}"
        ));
    }
    if let Some(reply) = stale.and_then(|s| s.borrow_mut().take()) {
        let now = t.now();
        t.world()
            .trace_note(now, format!("s{x}'s stale reply delivered to s{leader}"));
        t.world().inject(x, leader, reply);
    }
    if !change(t, &all, &[], deadline).await {
        return t.fail("adding the server back did not complete");
    }
    let before = highest_commit(t);
    t.crash(y);
    let caught_up = |t: &Tester| {
        t.world()
            .node(x)
            .is_some_and(|n| n.last_applied().0 >= before)
    };
    let how = if disk == Disk::Wiped { " wiped" } else { "" };
    let what = format!("server {x}, added back{how}, did not apply the entries through {before}");
    within(t, SETTLE, &what, caught_up).await?;
    let progress = |t: &Tester| highest_commit(t) > before + 5;
    within(
        t,
        SETTLE,
        "nothing more committed with the re-added server",
        progress,
    )
    .await?;
    t.start_server(y);
    t.connect(y);
    Ok(())
}
