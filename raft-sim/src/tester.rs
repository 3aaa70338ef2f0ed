//! The lab's tester over the simulated world, in virtual time (`docs/lab-harness.md`).
//!
//! Test bodies are `async` functions of a [`Tester`]. Everything that waits in the lab
//! (`time.Sleep`, polling loops, client goroutines) waits here in virtual time, through
//! [`Tester::sleep`] and [`Tester::go`]. Every check that is fatal in the lab returns a
//! [`Failure`] here, which `?` carries up to the runner.

use crate::applier::Appliers;
use crate::executor::{Executor, JoinHandle};
use crate::features::{Features, RunOptions};
use crate::kv::Bug;
use crate::linearizability::CheckStats;
use crate::rng::Stream;
use crate::service::Service;
use crate::trace::Trace;
use crate::value::Value;
use crate::world::{Edition, SimTime, StartResult, World, MS};
use std::cell::{Cell, RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// The lab's `RaftElectionTimeout`, the unit of the tests' sleeps.
pub const RAFT_ELECTION_TIMEOUT_MS: u64 = 1000;

/// The lab's per-test limit, checked when the test ends.
pub const TEST_LIMIT: SimTime = 120_000 * MS;

/// How a test's cluster is built (the lab's `make_config` / `makeTest` arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    /// Number of servers.
    pub servers: usize,
    /// Whether the network starts reliable.
    pub reliable: bool,
    /// Whether the snapshotting applier (3D) is used.
    pub snapshot: bool,
}

/// Why a test failed, and when (virtual time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What the failed check said, in the lab's words where it has them.
    pub message: String,
    /// Virtual time of the failure.
    pub time: SimTime,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at virtual time {:.3}s)",
            self.message,
            self.time as f64 / 1e6
        )
    }
}

/// A linearizability check that can be run again (to time it, say): it returns the same
/// figures every time.
pub type CheckReplay = Box<dyn Fn() -> CheckStats>;

/// Where a test hands its linearizability checks, when someone wants to run them again.
pub type CheckSink = Rc<RefCell<Vec<CheckReplay>>>;

/// A lab test's result.
pub type TestResult<T = ()> = Result<T, Failure>;

/// What the lab's `End()` prints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// The test's description, as `Begin()` printed it.
    pub description: String,
    /// Virtual time from `begin` to `end`.
    pub time: SimTime,
    /// Number of servers.
    pub peers: usize,
    /// RPCs sent between `begin` and `end`.
    pub rpcs: u64,
    /// Bytes sent between `begin` and `end`.
    pub bytes: u64,
    /// Highest index applied between `begin` and `end` (Lab 3).
    pub commands: u64,
    /// Client operations between `begin` and `end` (Lab 4's `#Ops`; `None` in Lab 3).
    pub ops: Option<u64>,
    /// Titles printed before this one by a `begin` that no `end` closed (a Lab 4 test that
    /// prints a second title line).
    pub preamble: Vec<String>,
}

#[derive(Default)]
struct Begun {
    description: String,
    time: SimTime,
    rpcs: u64,
    bytes: u64,
    max_index: u64,
    ops: u64,
    /// Whether `end` has closed this section.
    ended: bool,
}

struct Inner {
    world: RefCell<World>,
    executor: Executor,
    rng: RefCell<Stream>,
    begun: RefCell<Begun>,
    /// Every section `end` closed, in order.
    sections: RefCell<Vec<Stats>>,
    /// Titles begun and superseded without an `end`.
    preamble: RefCell<Vec<String>>,
    /// Client operations so far (the lab's `cfg.op()` counter).
    ops: Cell<u64>,
    /// The linearizability checks the test ran.
    checks: RefCell<Vec<CheckStats>>,
    /// A deliberate bug for the Lab 4 service, to show that the tests catch it.
    bug: Cell<Option<Bug>>,
    /// Where to hand replayable copies of the linearizability checks, if anywhere.
    check_sink: RefCell<Option<CheckSink>>,
}

/// A handle on the test's world; cheap to clone into client tasks.
#[derive(Clone)]
pub struct Tester(Rc<Inner>);

impl Tester {
    /// Builds the cluster and starts every server, as the edition's constructor does.
    pub fn new(setup: Setup, edition: Edition, seed: u64, trace: bool) -> Tester {
        Tester::with_trace(setup, edition, seed, Trace::new(trace))
    }

    /// Like [`Tester::new`], recording into `trace` (which may stream to a file).
    pub fn with_trace(setup: Setup, edition: Edition, seed: u64, trace: Trace) -> Tester {
        Tester::with_features(setup, edition, seed, trace, Features::default())
    }

    /// Like [`Tester::with_trace`], every node running with the production `features`.
    pub fn with_features(
        setup: Setup,
        edition: Edition,
        seed: u64,
        trace: Trace,
        features: Features,
    ) -> Tester {
        let options = RunOptions {
            features,
            clock_skew_percent: 0,
        };
        Tester::with_options(setup, edition, seed, trace, options)
    }

    /// Like [`Tester::with_trace`], the cluster departing from the lab's as `options` say.
    pub fn with_options(
        setup: Setup,
        edition: Edition,
        seed: u64,
        trace: Trace,
        options: RunOptions,
    ) -> Tester {
        let mut world = World::with_trace(setup.servers, seed, edition, setup.snapshot, trace);
        world.set_features(options.features);
        if options.clock_skew_percent > 0 {
            world.set_clock_skew(options.clock_skew_percent);
        }
        let t = Tester::with_world(world, seed);
        match edition {
            Edition::Y2024 => {
                t.set_reliable(setup.reliable);
                for i in 0..setup.servers {
                    t.start_server(i);
                }
                for i in 0..setup.servers {
                    t.connect(i);
                }
            }
            Edition::Y2025 => {
                for i in 0..setup.servers {
                    t.start_server(i);
                }
                t.connect_all();
                t.set_reliable(setup.reliable);
            }
        }
        t
    }

    /// A tester over `world` as it is (no server started); the test's own draws come from
    /// `seed`.
    pub fn with_world(world: World, seed: u64) -> Tester {
        Tester(Rc::new(Inner {
            world: RefCell::new(world),
            executor: Executor::default(),
            rng: RefCell::new(Stream::new(seed, "test", 0)),
            begun: RefCell::default(),
            sections: RefCell::default(),
            preamble: RefCell::default(),
            ops: Cell::new(0),
            checks: RefCell::default(),
            bug: Cell::new(None),
            check_sink: RefCell::new(None),
        }))
    }

    /// The world, for a moment (never hold it across an `.await`).
    pub fn world(&self) -> RefMut<'_, World> {
        self.0.world.borrow_mut()
    }

    /// The executor running this test's tasks.
    pub fn executor(&self) -> &Executor {
        &self.0.executor
    }

    /// The statistics recorded by the last `end`, once it has run.
    pub fn stats(&self) -> Option<Stats> {
        self.0.sections.borrow().last().cloned()
    }

    /// The statistics of every section `end` closed, in order (most tests have one; Lab 4's
    /// TestOnePartition has three).
    pub fn sections(&self) -> Vec<Stats> {
        self.0.sections.borrow().clone()
    }

    /// Replaces the world by a fresh cluster of `servers` servers running `service` on top of
    /// Raft: every server started, then all connected, then the network's reliability set
    /// (the Lab 4 harness's `make_config` / `MakeConfig`, which the test body calls itself).
    pub fn make_cluster(&self, servers: usize, reliable: bool, service: Box<dyn Service>) {
        let (seed, edition) = {
            let world = self.world();
            (world.seed(), world.edition())
        };
        // The new cluster records into the same trace (which may stream to a file).
        let trace = std::mem::replace(self.world().trace_mut(), Trace::new(false));
        // ...and with the features and clock skew the run was given.
        let (features, skew) = {
            let world = self.world();
            (world.features(), world.clock_skew())
        };
        let mut world = World::with_service(servers, seed, edition, service, trace);
        world.set_features(features);
        if skew > 0 {
            world.set_clock_skew(skew);
        }
        *self.world() = world;
        for i in 0..servers {
            self.start_server(i);
        }
        self.connect_all();
        self.set_reliable(reliable);
    }

    /// Counts one client operation (the lab's `cfg.op()`).
    pub fn op(&self) {
        self.0.ops.set(self.0.ops.get() + 1);
    }

    /// Records the figures of one linearizability check.
    pub fn record_check(&self, stats: CheckStats) {
        self.0.checks.borrow_mut().push(stats);
    }

    /// The linearizability checks run so far.
    pub fn checks(&self) -> Vec<CheckStats> {
        self.0.checks.borrow().clone()
    }

    /// Asks the test to hand a replayable copy of each linearizability check to `sink`.
    pub fn set_check_sink(&self, sink: CheckSink) {
        *self.0.check_sink.borrow_mut() = Some(sink);
    }

    /// Where replayable checks go, if anywhere.
    pub fn check_sink(&self) -> Option<CheckSink> {
        self.0.check_sink.borrow().clone()
    }

    /// Plants a deliberate bug in the Lab 4 service this test will build.
    pub fn inject_bug(&self, bug: Bug) {
        self.0.bug.set(Some(bug));
    }

    /// The deliberate bug to plant, if any.
    pub fn bug(&self) -> Option<Bug> {
        self.0.bug.get()
    }

    /// Number of servers.
    pub fn n(&self) -> usize {
        self.world().n()
    }

    /// The edition being mirrored.
    pub fn edition(&self) -> Edition {
        self.world().edition()
    }

    /// Current virtual time.
    pub fn now(&self) -> SimTime {
        self.world().now()
    }

    /// A failure at the current virtual time.
    pub fn fail<T>(&self, message: impl Into<String>) -> TestResult<T> {
        Err(Failure {
            message: message.into(),
            time: self.now(),
        })
    }

    // ---- time and tasks --------------------------------------------------------------

    /// Sleeps `ms` milliseconds of virtual time.
    pub fn sleep(&self, ms: u64) -> Sleep {
        Sleep {
            tester: self.clone(),
            deadline: self.now() + ms * MS,
            scheduled: false,
        }
    }

    /// Sleeps `duration` of virtual time (microseconds).
    pub fn sleep_for(&self, duration: SimTime) -> Sleep {
        Sleep {
            tester: self.clone(),
            deadline: self.now() + duration,
            scheduled: false,
        }
    }

    /// Runs `task` concurrently (a goroutine). If it fails, the whole test fails at once.
    pub fn go<T: 'static>(
        &self,
        task: impl Future<Output = TestResult<T>> + 'static,
    ) -> JoinHandle<TestResult<T>> {
        let t = self.clone();
        self.0.executor.spawn(async move {
            let result = task.await;
            if let Err(failure) = &result {
                t.world().fail(failure.message.clone());
            }
            result
        })
    }

    // ---- the test's own randomness (Go's math/rand) ----------------------------------

    /// A non-negative 63-bit integer (Go's `rand.Int()`).
    pub fn rand_int(&self) -> i64 {
        (self.0.rng.borrow_mut().next_u64() >> 1) as i64
    }

    /// A non-negative 31-bit integer (Go's `rand.Int31()`).
    pub fn rand_int31(&self) -> i64 {
        (self.0.rng.borrow_mut().next_u64() >> 33) as i64
    }

    /// Uniform in `0..n` (Go's `rand.Int() % n`).
    pub fn rand_below(&self, n: u64) -> u64 {
        self.0.rng.borrow_mut().below(n)
    }

    /// A random string of `n` base64 characters (the lab's `randstring`).
    pub fn rand_string(&self, n: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut rng = self.0.rng.borrow_mut();
        (0..n)
            .map(|_| ALPHABET[rng.below(64) as usize] as char)
            .collect()
    }

    // ---- begin / end -----------------------------------------------------------------

    /// The lab's `Begin(description)`: prints nothing here (the runner prints), records the
    /// starting counters.
    pub fn begin(&self, description: &str) {
        {
            let previous = self.0.begun.borrow();
            if !previous.description.is_empty() && !previous.ended {
                let title = previous.description.clone();
                self.0.preamble.borrow_mut().push(title);
            }
        }
        let world = self.world();
        let description = match world.edition() {
            Edition::Y2024 => description.to_string(),
            Edition::Y2025 if world.network().reliable() => {
                format!("{description} (reliable network)")
            }
            Edition::Y2025 => format!("{description} (unreliable network)"),
        };
        *self.0.begun.borrow_mut() = Begun {
            description,
            time: world.now(),
            rpcs: world.network().rpc_total(),
            bytes: world.network().bytes_total(),
            max_index: max_index(&world),
            ops: self.0.ops.get(),
            ended: false,
        };
    }

    /// The lab's `end()` / `cleanup()`: fails a test that took longer than 120 s, records
    /// the figures of the "Passed" line.
    pub fn end(&self) -> TestResult {
        if self.now() > TEST_LIMIT {
            return self.fail("test took longer than 120 seconds");
        }
        self.finish();
        Ok(())
    }

    /// Records the figures of the run since `begin`, without the lab's time limit (for runs
    /// that are not lab tests).
    pub fn finish(&self) {
        let world = self.world();
        let mut begun = self.0.begun.borrow_mut();
        let lab3 = world.service().as_any().is::<Appliers>();
        let stats = Stats {
            description: begun.description.clone(),
            time: world.now() - begun.time,
            peers: world.n(),
            rpcs: world.network().rpc_total() - begun.rpcs,
            bytes: world.network().bytes_total() - begun.bytes,
            commands: max_index(&world) - begun.max_index,
            ops: (!lab3).then(|| self.0.ops.get() - begun.ops),
            preamble: std::mem::take(&mut *self.0.preamble.borrow_mut()),
        };
        begun.ended = true;
        self.0.sections.borrow_mut().push(stats);
    }

    /// The description recorded by `begin`.
    pub fn description(&self) -> String {
        self.0.begun.borrow().description.clone()
    }

    // ---- the cluster -----------------------------------------------------------------

    /// Whole-server connect (`docs/lab-harness.md`, "The network").
    pub fn connect(&self, i: usize) {
        let mut world = self.world();
        let now = world.now();
        world.network_mut().set_connected(i, true);
        world.trace_mut().connected(now, i, true);
    }

    /// Whole-server disconnect (`docs/lab-harness.md`, "The network").
    pub fn disconnect(&self, i: usize) {
        let mut world = self.world();
        let now = world.now();
        world.network_mut().set_connected(i, false);
        world.trace_mut().connected(now, i, false);
    }

    /// (2025) `ConnectAll`: every server marked connected, dead ones included.
    pub fn connect_all(&self) {
        for i in 0..self.n() {
            self.connect(i);
        }
    }

    /// Whether server `i` is marked connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.world().network().is_connected(i)
    }

    /// Whether server `i` runs a live Raft.
    pub fn is_alive(&self, i: usize) -> bool {
        self.world().is_alive(i)
    }

    /// Crash server `i` (2024 `crash1`, 2025 `ShutdownServer`).
    pub fn crash(&self, i: usize) {
        self.world().crash(i);
    }

    /// 2024 `start1(i)` / 2025 `StartServer(i)`: (crash and) start a new incarnation of
    /// server `i` from its persisted state, left disconnected.
    pub fn start_server(&self, i: usize) {
        self.world().start_server(i);
    }

    /// The tests' "restart": 2024 `start1` + `connect`; 2025 `ts.restart` (StartServer +
    /// ConnectAll, which also reconnects everyone the test had disconnected).
    pub fn restart(&self, i: usize) {
        self.start_server(i);
        match self.edition() {
            Edition::Y2024 => self.connect(i),
            Edition::Y2025 => self.connect_all(),
        }
    }

    /// The churn tests' restart of a dead server: 2024 `start1` (left disconnected; the test
    /// connects it next); 2025 `ts.restart` (which reconnects everyone).
    pub fn start_2024_restart_2025(&self, i: usize) {
        match self.edition() {
            Edition::Y2024 => self.start_server(i),
            Edition::Y2025 => self.restart(i),
        }
    }

    /// Where 2024 only disconnects a server that 2025 shuts down (TestPersist1/2; `docs/lab-harness.md`, "Where the editions differ", 3).
    pub fn disconnect_2024_crash_2025(&self, i: usize) {
        match self.edition() {
            Edition::Y2024 => self.disconnect(i),
            Edition::Y2025 => self.crash(i),
        }
    }

    /// Crash every server (2024 `crash1` each, 2025 `Shutdown()`).
    pub fn crash_all(&self) {
        for i in 0..self.n() {
            self.crash(i);
        }
    }

    /// Start every server: 2024 `start1` + `connect` each; 2025 `StartServers()` (start
    /// each, then ConnectAll).
    pub fn start_all(&self) {
        let n = self.n();
        match self.edition() {
            Edition::Y2024 => {
                for i in 0..n {
                    self.start_server(i);
                    self.connect(i);
                }
            }
            Edition::Y2025 => {
                for i in 0..n {
                    self.start_server(i);
                }
                self.connect_all();
            }
        }
    }

    /// The lab's `Start(command)` on server `i`.
    pub fn start(&self, i: usize, command: impl Into<Value>) -> StartResult {
        let command = command.into();
        let mut world = self.world();
        let now = world.now();
        let result = world.start(i, command.encode());
        world.trace_note(now, format_args!("Start({command}) on s{i} -> {result:?}"));
        result
    }

    /// The lab's `GetState()` on server `i`: (term, is leader).
    pub fn get_state(&self, i: usize) -> (u64, bool) {
        self.world().get_state(i)
    }

    /// The lab's `Reliable(bool)`.
    pub fn set_reliable(&self, reliable: bool) {
        self.world().network_mut().set_reliable(reliable);
    }

    /// The lab's `LongReordering(bool)`.
    pub fn set_long_reordering(&self, on: bool) {
        self.world().network_mut().set_long_reordering(on);
    }

    /// RPCs that reached server `i`'s current incarnation.
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.world().network().rpc_count(i)
    }

    /// Every RPC sent.
    pub fn rpc_total(&self) -> u64 {
        self.world().network().rpc_total()
    }

    /// Bytes of every request sent and reply delivered.
    pub fn bytes_total(&self) -> u64 {
        self.world().network().bytes_total()
    }

    /// The lab's `LogSize()`: the largest persisted raft state (snapshot data excluded).
    pub fn log_size(&self) -> usize {
        let world = self.world();
        (0..world.n())
            .map(|i| world.raft_state_size(i))
            .max()
            .unwrap_or(0)
    }
}

/// The highest index the tester's appliers saw (0 for a world without them).
fn max_index(world: &World) -> u64 {
    world
        .service()
        .as_any()
        .downcast_ref::<Appliers>()
        .map_or(0, Appliers::max_index)
}

/// A virtual-time sleep.
pub struct Sleep {
    tester: Tester,
    deadline: SimTime,
    scheduled: bool,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut world = self.tester.world();
        if world.now() >= self.deadline {
            return Poll::Ready(());
        }
        if !self.scheduled {
            world.wake_at(self.deadline, cx.waker().clone());
            drop(world);
            self.scheduled = true;
        }
        Poll::Pending
    }
}
