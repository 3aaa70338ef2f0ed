//! The replicated state machine layer (the 2025 lab's `rsm`), shared by both editions'
//! key/value servers and by the rsm tests' counter.
//!
//! [`submit`] wraps a request in an operation with a unique id, proposes it to the server's
//! Raft (the lab's `Start`) and waits. Every server executes every committed operation once,
//! in log order, on its [`StateMachine`]; the server where a `submit` waits hands it the
//! result of *its* operation, found by id (an index alone could hold another request after a
//! change of leader). The waiting `submit` gives up with `ErrWrongLeader` when another
//! operation commits at its index, when the server's term changes or it stops leading
//! (checked every 100 ms), or when the server is killed (the lab's Raft closing `applyCh`).
//! It never times out otherwise: a leader cut off in a minority keeps its requests pending
//! until it learns of a newer term.
//!
//! Reads: with ReadIndex on (`Features::read_index`), Gets skip the log: [`read`] asks Raft
//! for a read index and serves the Get from the state machine once it has applied through it.
//! A new leader's no-op entry (an empty command) is then part of the log; it executes
//! nothing.
//!
//! Snapshots (§7 of the Raft paper): when `maxraftstate` is set and the persisted Raft state
//! has grown to it, the server hands Raft its state machine's snapshot right after applying;
//! a restart restores from the persisted snapshot, and an installed snapshot replaces the
//! state machine.

use super::rpc::KvErr;
use super::Bug;
use crate::reads::ReadOutcome;
use crate::rng::Stream;
use crate::service::Service;
use crate::tester::Tester;
use crate::world::{SimTime, MS};
use raft_core::{PersistentState, SharedBytes};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// How often a waiting `submit` checks its server's term and leadership.
pub const LEADERSHIP_POLL_MS: u64 = 100;

/// What the layer runs (the lab's `StateMachine` interface).
pub trait StateMachine: 'static {
    /// A request, as the clients give it.
    type Request: Serialize + DeserializeOwned + Debug;
    /// The result of executing one.
    type Reply: Clone + Debug;

    /// Executes one committed request (the lab's `DoOp`). An `Err` is a request the state
    /// machine cannot execute, which the lab's code treats as fatal.
    fn do_op(&mut self, request: Self::Request) -> Result<Self::Reply, String>;

    /// The whole state, as bytes.
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the state by a snapshot's. An `Err` is an undecodable snapshot.
    fn restore(&mut self, data: &[u8]) -> Result<(), String>;
}

/// One entry of the log: a request and the id that tells it apart from any other.
#[derive(Serialize, Deserialize)]
struct Op<R> {
    id: u64,
    request: R,
}

/// What a waiting `submit` learns.
enum Outcome<R> {
    /// Its operation committed and returned this.
    Done(R),
    /// Another operation took its place, or a snapshot covered it: the result is lost.
    Lost,
}

struct Waiter<R> {
    /// Where `Start` put the operation (0 until it answered).
    index: u64,
    outcome: Option<Outcome<R>>,
    waker: Option<Waker>,
}

struct Replica<SM: StateMachine> {
    machine: SM,
    waiters: BTreeMap<u64, Waiter<SM::Reply>>,
}

/// The layer on every server of a cluster: the [`Service`] the world hands committed entries
/// to.
pub struct Rsm<SM: StateMachine> {
    replicas: Vec<Option<Replica<SM>>>,
    make: Box<dyn Fn() -> SM>,
    maxraftstate: Option<usize>,
    ids: Stream,
    bug: Option<Bug>,
}

impl<SM: StateMachine> Rsm<SM> {
    /// The layer for `n` servers, each running a state machine from `make`. With
    /// `maxraftstate`, a server snapshots once its persisted Raft state reaches that many
    /// bytes (the lab's `-1` is `None`). Operation ids come from the run's `seed`.
    pub fn new(
        n: usize,
        seed: u64,
        maxraftstate: Option<usize>,
        bug: Option<Bug>,
        make: impl Fn() -> SM + 'static,
    ) -> Rsm<SM> {
        Rsm {
            replicas: (0..n).map(|_| None).collect(),
            make: Box::new(make),
            maxraftstate,
            ids: Stream::new(seed, "rsm-op-ids", 0),
            bug,
        }
    }

    /// The state machine of `server`'s live incarnation.
    pub fn state_machine(&self, server: usize) -> Option<&SM> {
        self.replicas[server].as_ref().map(|r| &r.machine)
    }

    /// The deliberate bug planted in this service, if any.
    pub fn bug(&self) -> Option<Bug> {
        self.bug
    }

    fn replica(&mut self, server: usize) -> Option<&mut Replica<SM>> {
        self.replicas[server].as_mut()
    }

    fn waiter(&mut self, server: usize, id: u64) -> Option<&mut Waiter<SM::Reply>> {
        self.replica(server)?.waiters.get_mut(&id)
    }

    /// Resolves the waiters an applied entry concerns.
    fn resolve(replica: &mut Replica<SM>, index: u64, id: u64, reply: &SM::Reply) {
        for (&waiting, waiter) in replica.waiters.iter_mut() {
            let outcome = if waiting == id {
                Outcome::Done(reply.clone())
            } else if waiter.index == index {
                Outcome::Lost
            } else {
                continue;
            };
            waiter.outcome = Some(outcome);
            if let Some(waker) = waiter.waker.take() {
                waker.wake();
            }
        }
    }
}

impl<SM: StateMachine> Service for Rsm<SM> {
    fn start(&mut self, server: usize, snapshot: &[u8]) -> Result<(), String> {
        let mut machine = (self.make)();
        if !snapshot.is_empty() {
            machine
                .restore(snapshot)
                .map_err(|e| format!("server {server} cannot restore its snapshot: {e}"))?;
        }
        self.replicas[server] = Some(Replica {
            machine,
            waiters: BTreeMap::new(),
        });
        Ok(())
    }

    fn crash(&mut self, server: usize) {
        // Waiting submits notice at their next poll, as the lab's do when applyCh closes.
        self.replicas[server] = None;
    }

    fn apply(
        &mut self,
        server: usize,
        index: u64,
        command: &[u8],
        durable: &PersistentState,
    ) -> Result<Option<SharedBytes>, String> {
        let maxraftstate = self.maxraftstate;
        if command.is_empty() {
            // A new leader's no-op (raft-core with ReadIndex): nothing to execute, but a
            // request waiting at this index lost its place.
            let replica = self
                .replica(server)
                .ok_or_else(|| format!("server {server} applied while down"))?;
            for waiter in replica.waiters.values_mut().filter(|w| w.index == index) {
                waiter.outcome = Some(Outcome::Lost);
                if let Some(waker) = waiter.waker.take() {
                    waker.wake();
                }
            }
            let full = maxraftstate.is_some_and(|max| durable.raft_state_size() >= max);
            return Ok(full.then(|| replica.machine.snapshot().into()));
        }
        let op: Op<SM::Request> = postcard::from_bytes(command)
            .map_err(|e| format!("server {server} applied an undecodable command: {e}"))?;
        let replica = self
            .replica(server)
            .ok_or_else(|| format!("server {server} applied while down"))?;
        let reply = replica.machine.do_op(op.request)?;
        Self::resolve(replica, index, op.id, &reply);
        let full = maxraftstate.is_some_and(|max| durable.raft_state_size() >= max);
        Ok(full.then(|| replica.machine.snapshot().into()))
    }

    fn apply_snapshot(&mut self, server: usize, index: u64, data: &[u8]) -> Result<(), String> {
        let replica = self
            .replica(server)
            .ok_or_else(|| format!("server {server} installed a snapshot while down"))?;
        replica
            .machine
            .restore(data)
            .map_err(|e| format!("server {server} cannot install snapshot {index}: {e}"))?;
        // Whatever committed up to `index` is inside the snapshot; its results are lost.
        for waiter in replica.waiters.values_mut() {
            if waiter.index != 0 && waiter.index <= index {
                waiter.outcome = Some(Outcome::Lost);
                if let Some(waker) = waiter.waker.take() {
                    waker.wake();
                }
            }
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Runs `f` on the world's rsm.
pub fn with_rsm<SM: StateMachine, T>(t: &Tester, f: impl FnOnce(&mut Rsm<SM>) -> T) -> T {
    let mut world = t.world();
    let rsm = world
        .service_mut()
        .as_any_mut()
        .downcast_mut::<Rsm<SM>>()
        .expect("the world runs this rsm");
    f(rsm)
}

/// The lab's `Submit`: proposes `request` on `server` and waits for its result, or
/// `ErrWrongLeader` (see the module's documentation).
pub async fn submit<SM: StateMachine>(
    t: &Tester,
    server: usize,
    request: SM::Request,
) -> Result<SM::Reply, KvErr> {
    let incarnation = {
        let world = t.world();
        if !world.is_alive(server) {
            return Err(KvErr::ErrWrongLeader);
        }
        world.incarnation(server)
    };
    let (id, command) = with_rsm(t, |rsm: &mut Rsm<SM>| {
        let id = rsm.ids.next_u64();
        let waiter = Waiter {
            index: 0,
            outcome: None,
            waker: None,
        };
        if let Some(replica) = rsm.replica(server) {
            replica.waiters.insert(id, waiter);
        }
        let op = Op { id, request };
        let bytes = postcard::to_stdvec(&op).expect("encoding cannot fail");
        (id, SharedBytes::from(bytes))
    });
    let started = {
        let mut world = t.world();
        let started = world.start(server, command);
        let now = world.now();
        world.trace_note(
            now,
            format_args!("s{server} Start op {id:016x} -> {started:?}"),
        );
        started
    };
    let forget = |t: &Tester| {
        with_rsm(t, |rsm: &mut Rsm<SM>| {
            rsm.replica(server).map(|r| r.waiters.remove(&id));
        })
    };
    if !started.is_leader {
        forget(t);
        return Err(KvErr::ErrWrongLeader);
    }
    with_rsm(t, |rsm: &mut Rsm<SM>| {
        if let Some(waiter) = rsm.waiter(server, id) {
            waiter.index = started.index;
        }
    });
    loop {
        let deadline = t.now() + LEADERSHIP_POLL_MS * MS;
        WaitOutcome::<SM>::new(t, server, id, deadline).await;
        let world_incarnation = {
            let world = t.world();
            world.is_alive(server).then(|| world.incarnation(server))
        };
        if world_incarnation != Some(incarnation) {
            return Err(KvErr::ErrWrongLeader); // killed: the lab's closed applyCh
        }
        // `None`: still waiting; `Some(None)`: the waiter is gone, which cannot happen while
        // this incarnation lives, but would be a lost result.
        let outcome = with_rsm(t, |rsm: &mut Rsm<SM>| {
            let replica = rsm.replica(server)?;
            match replica.waiters.get(&id) {
                Some(waiter) if waiter.outcome.is_none() => None,
                _ => Some(replica.waiters.remove(&id).and_then(|w| w.outcome)),
            }
        });
        match outcome {
            Some(Some(Outcome::Done(reply))) => return Ok(reply),
            Some(_) => return Err(KvErr::ErrWrongLeader),
            None => {}
        }
        let (term, leader) = t.get_state(server);
        if term != started.term || !leader {
            forget(t);
            return Err(KvErr::ErrWrongLeader);
        }
    }
}

/// Whether the servers answer reads without the log: the run's nodes have ReadIndex on
/// (thesis §6.4; with lease reads, §6.4.1, when the lease holds).
pub fn reads_skip_the_log(t: &Tester) -> bool {
    t.world().features().read_index
}

/// A linearizable read on `server` without the log: asks its Raft for a read
/// (`Event::ReadIndex`), waits for `ReadReady`, then runs `read` on the server's state
/// machine, which by then has applied every write committed before the read was asked for.
/// `ErrWrongLeader` if the read fails (no leader known, leadership changed, no answer) or the
/// server dies meanwhile; a follower forwards the read to its leader and answers itself.
pub async fn read<SM: StateMachine, T>(
    t: &Tester,
    server: usize,
    read: impl FnOnce(&SM) -> T,
) -> Result<T, KvErr> {
    let asked = {
        let mut world = t.world();
        match world.is_alive(server) {
            true => world.read(server).map(|id| (id, world.incarnation(server))),
            false => None,
        }
    };
    let Some((id, incarnation)) = asked else {
        return Err(KvErr::ErrWrongLeader);
    };
    loop {
        let (outcome, alive) = {
            let world = t.world();
            let alive = world.is_alive(server) && world.incarnation(server) == incarnation;
            (world.read_outcome(id), alive)
        };
        match outcome {
            _ if !alive => return Err(KvErr::ErrWrongLeader),
            Some(ReadOutcome::Ready { .. }) => {
                let value = with_rsm(t, |rsm: &mut Rsm<SM>| rsm.state_machine(server).map(read));
                return value.ok_or(KvErr::ErrWrongLeader);
            }
            Some(ReadOutcome::Failed(_)) => return Err(KvErr::ErrWrongLeader),
            None => t.sleep(1).await,
        }
    }
}

/// Waits until a submit's outcome is known, its server is gone, or `deadline`.
struct WaitOutcome<'a, SM> {
    t: &'a Tester,
    server: usize,
    id: u64,
    deadline: SimTime,
    scheduled: bool,
    machine: PhantomData<fn() -> SM>,
}

impl<'a, SM> WaitOutcome<'a, SM> {
    fn new(t: &'a Tester, server: usize, id: u64, deadline: SimTime) -> Self {
        WaitOutcome {
            t,
            server,
            id,
            deadline,
            scheduled: false,
            machine: PhantomData,
        }
    }
}

impl<SM: StateMachine> Future for WaitOutcome<'_, SM> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.t.now() >= self.deadline {
            return Poll::Ready(());
        }
        let (server, id) = (self.server, self.id);
        let waiting = with_rsm(self.t, |rsm: &mut Rsm<SM>| match rsm.waiter(server, id) {
            Some(waiter) if waiter.outcome.is_none() => {
                waiter.waker = Some(cx.waker().clone());
                true
            }
            _ => false,
        });
        if !waiting {
            return Poll::Ready(());
        }
        if !self.scheduled {
            self.scheduled = true;
            let deadline = self.deadline;
            self.t.world().wake_at(deadline, cx.waker().clone());
        }
        Poll::Pending
    }
}
