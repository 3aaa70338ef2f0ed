//! The 2025 Lab 4 key/value suite (`src/kvraft1`): its harness (`kvraft1/test.go`,
//! `kvtest1`) and its 22 tests (`kvraft_test.go`), in file order.

use super::check::check_linearizable;
use super::cluster::{Group, HistoryClock, ELECTION_TIMEOUT_MS};
use crate::kv::kvraft1::{Clerk, KvServer};
use crate::kv::labrpc::Ends;
use crate::kv::rpc::KvErr;
use crate::kv::Rsm;
use crate::linearizability::{Operation, VersionedKvInput, VersionedKvModel, VersionedKvOutput};
use crate::tester::{TestResult, Tester};
use crate::world::MS;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

type History = Vec<Operation<VersionedKvInput, VersionedKvOutput>>;

/// `MakeTest`'s parameters.
#[derive(Clone, Copy)]
pub struct Params {
    part: &'static str,
    nclients: usize,
    nservers: usize,
    reliable: bool,
    crash: bool,
    partitions: bool,
    maxraftstate: i64,
    randomkeys: bool,
}

/// The lab's `kvtest.Test` around a `tester.Config`.
pub struct Test {
    group: Group,
    p: Params,
    clock: HistoryClock,
    clerks: Cell<u64>,
    log: RefCell<History>,
}

/// What a client reports: puts that surely worked, and puts that answered ErrMaybe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClntRes {
    nok: u64,
    nmaybe: u64,
}

impl Test {
    /// `MakeTest`: builds the cluster and begins the test with its title.
    pub fn make(t: &Tester, p: Params) -> Rc<Test> {
        let seed = t.world().seed();
        let bug = t.bug();
        let max = usize::try_from(p.maxraftstate).ok();
        let service = Rsm::new(p.nservers, seed, max, bug, move || KvServer::new(bug));
        let test = Rc::new(Test {
            group: Group::make(t, p.nservers, p.reliable, Box::new(service)),
            p,
            clock: HistoryClock::default(),
            clerks: Cell::new(0),
            log: RefCell::default(),
        });
        t.begin(&test.title());
        test
    }

    fn title(&self) -> String {
        let p = &self.p;
        let mut title = String::from("Test: ");
        for (on, words) in [
            (p.crash, "restarts, "),
            (p.partitions, "partitions, "),
            (p.maxraftstate != -1, "snapshots, "),
            (p.randomkeys, "random keys, "),
        ] {
            if on {
                title.push_str(words);
            }
        }
        title.push_str(if p.nclients > 1 {
            "many clients"
        } else {
            "one client"
        });
        format!("{title} ({})", p.part)
    }

    fn t(&self) -> &Tester {
        self.group.tester()
    }

    /// `MakeClerkTo(to)`: a clerk whose ends reach only `to`.
    pub fn make_clerk_to(&self, to: &[usize]) -> Rc<Clerk> {
        let label = self.clerks.get();
        self.clerks.set(label + 1);
        let ends = Rc::new(Ends::new(self.group.n(), label, to));
        Rc::new(Clerk::new(ends, self.group.n()))
    }

    /// `MakeClerk()`: a clerk reaching every server.
    pub fn make_clerk(&self) -> Rc<Clerk> {
        self.make_clerk_to(&self.group.all())
    }

    /// The logged and counted `Get`.
    pub async fn get(&self, ck: &Clerk, key: &str, cli: i64) -> (String, u64, KvErr) {
        let call = self.clock.stamp(self.t());
        let (value, version, err) = ck.get(self.t(), key).await;
        let ret = self.clock.stamp(self.t());
        self.t().op();
        let output = VersionedKvOutput::get(&value, version, err);
        self.log.borrow_mut().push(Operation::completed(
            cli,
            VersionedKvInput::get(key),
            call,
            output,
            ret,
        ));
        (value, version, err)
    }

    /// The logged and counted `Put`.
    pub async fn put(&self, ck: &Clerk, key: &str, value: &str, version: u64, cli: i64) -> KvErr {
        let call = self.clock.stamp(self.t());
        let err = ck.put(self.t(), key, value, version).await;
        let ret = self.clock.stamp(self.t());
        self.t().op();
        self.log.borrow_mut().push(Operation::completed(
            cli,
            VersionedKvInput::put(key, value, version),
            call,
            VersionedKvOutput::put(err),
            ret,
        ));
        err
    }

    /// `GetJson`: a Get that must succeed and hold an `{"Id":…,"V":…}` entry.
    async fn get_json(&self, ck: &Clerk, key: &str, me: i64) -> TestResult<(EntryV, u64)> {
        let (value, version, err) = self.get(ck, key, me).await;
        if err != KvErr::OK {
            return self.t().fail(format!("{me}: Get {key:?} err {err:?}"));
        }
        match EntryV::parse(&value) {
            Some(e) => Ok((e, version)),
            None => self.t().fail(format!("Unmarshal err {version}")),
        }
    }

    /// `OnePut`: one put that worked or maybe worked, retrying on ErrVersion with the
    /// version read back. Returns the key's version after it and whether it surely worked.
    async fn one_put(
        &self,
        me: i64,
        ck: &Clerk,
        key: &str,
        mut ver: u64,
    ) -> TestResult<(u64, bool)> {
        loop {
            let entry = EntryV { id: me, v: ver }.to_json();
            let err = self.put(ck, key, &entry, ver, me).await;
            if !matches!(err, KvErr::OK | KvErr::ErrVersion | KvErr::ErrMaybe) {
                return self.t().fail(format!("Wrong error {err:?}"));
            }
            let (e, ver0) = self.get_json(ck, key, me).await?;
            if err == KvErr::OK && ver0 == ver + 1 && e.id != me && e.v != ver {
                return self.t().fail(format!("Wrong value {e:?}"));
            }
            ver = ver0;
            if matches!(err, KvErr::OK | KvErr::ErrMaybe) {
                return Ok((ver, err == KvErr::OK));
            }
        }
    }

    /// `OneClientPut`: OnePuts on `keys` until told to stop (checked between them).
    async fn one_client_put(
        self: Rc<Self>,
        cli: usize,
        keys: Rc<Vec<String>>,
        done: Rc<Cell<bool>>,
    ) -> TestResult<ClntRes> {
        let ck = self.make_clerk();
        let mut res = ClntRes::default();
        let mut verm: Vec<u64> = vec![0; keys.len()];
        while !done.get() {
            let k = if self.p.randomkeys {
                (self.t().rand_int() as usize) % keys.len()
            } else {
                0
            };
            let (ver, ok) = self.one_put(cli as i64, &ck, &keys[k], verm[k]).await?;
            verm[k] = ver;
            if ok {
                res.nok += 1;
            } else {
                res.nmaybe += 1;
            }
        }
        ck.ends().delete();
        Ok(res)
    }

    /// `SpawnClientsAndWait` with OneClientPut: clients for 1 s, then stop and collect.
    async fn spawn_clients_and_wait(
        self: Rc<Self>,
        keys: Rc<Vec<String>>,
    ) -> TestResult<Vec<ClntRes>> {
        let done = Rc::new(Cell::new(false));
        let clients: Vec<_> = (0..self.p.nclients)
            .map(|cli| {
                let task = self.clone().one_client_put(cli, keys.clone(), done.clone());
                self.t().go(task)
            })
            .collect();
        self.t().sleep(1000).await;
        done.set(true);
        let mut rs = Vec::new();
        for client in clients {
            rs.push(client.await?);
        }
        Ok(rs)
    }

    /// `CheckPutConcurrent`: the key's version against what the clients report.
    async fn check_put_concurrent(
        &self,
        ck: &Clerk,
        key: &str,
        rs: &[ClntRes],
        total: &Cell<ClntRes>,
        reliable: bool,
    ) -> TestResult {
        let (_, ver0) = self.get_json(ck, key, -1).await?;
        let mut res = total.get();
        for r in rs {
            res.nok += r.nok;
            res.nmaybe += r.nmaybe;
        }
        total.set(res);
        if reliable && ver0 != res.nok {
            return self.t().fail(format!(
                "Reliable: Wrong number of puts: server {ver0} clnts {res:?}"
            ));
        }
        if !reliable && ver0 > res.nok + res.nmaybe {
            return self.t().fail(format!(
                "Unreliable: Wrong number of puts: server {ver0} clnts {res:?}"
            ));
        }
        Ok(())
    }

    /// `PutAtLeastOnce`: puts until one surely worked, moving past versions that failed.
    pub async fn put_at_least_once(
        &self,
        ck: &Clerk,
        key: &str,
        value: &str,
        mut ver: u64,
        me: i64,
    ) -> TestResult<u64> {
        loop {
            let err = self.put(ck, key, value, ver, me).await;
            if err == KvErr::OK {
                return Ok(ver + 1);
            }
            if matches!(err, KvErr::ErrMaybe | KvErr::ErrVersion) {
                ver += 1;
            } else if ver != 0 {
                return self.t().fail(format!("Put {key} ver {ver} err {err:?}"));
            }
        }
    }

    /// `CheckGet`: the key holds exactly (value, version).
    pub async fn check_get(&self, ck: &Clerk, key: &str, value: &str, version: u64) -> TestResult {
        let (v, ver, err) = self.get(ck, key, 0).await;
        if err != KvErr::OK {
            return self.t().fail(format!("Get({key}) returns error = {err:?}"));
        }
        if v != value || ver != version {
            return self.t().fail(format!(
                "Get({key}) returns ({v}, {ver}) != ({value}, {version})"
            ));
        }
        Ok(())
    }
}

/// The JSON entry OnePut writes: who wrote it and at which version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EntryV {
    id: i64,
    v: u64,
}

impl EntryV {
    fn to_json(self) -> String {
        format!("{{\"Id\":{},\"V\":{}}}", self.id, self.v)
    }

    fn parse(s: &str) -> Option<EntryV> {
        let body = s.strip_prefix("{\"Id\":")?.strip_suffix('}')?;
        let (id, v) = body.split_once(",\"V\":")?;
        Some(EntryV {
            id: id.parse().ok()?,
            v: v.parse().ok()?,
        })
    }
}

/// The lab's GenericTest (2025): three iterations of clients contending for 1 s, each
/// followed by the version count check, a linearizability check of the history so far, the
/// heal, the crash, and the size checks.
async fn generic_test(t: Tester, p: Params) -> TestResult {
    let ts = Test::make(&t, p);
    let ck = ts.make_clerk();
    let res = Rc::new(Cell::new(ClntRes::default()));
    let keys: Vec<String> = if p.randomkeys {
        (0..100).map(|i| format!("k{i}")).collect()
    } else {
        vec!["k".to_string()]
    };
    let keys = Rc::new(keys);
    for _ in 0..3 {
        let spawn = {
            let (ts, ck, keys, res) = (ts.clone(), ck.clone(), keys.clone(), res.clone());
            t.go(async move {
                let rs = ts.clone().spawn_clients_and_wait(keys.clone()).await?;
                if !ts.p.randomkeys {
                    let reliable = ts.p.reliable && !ts.p.crash && !ts.p.partitions;
                    ts.check_put_concurrent(&ck, &keys[0], &rs, &res, reliable)
                        .await?;
                }
                Ok(())
            })
        };
        let done_partitioner = Rc::new(Cell::new(false));
        let partitioner = if p.partitions {
            // Allow the clients to perform some operations without interruption.
            t.sleep(1000).await;
            Some(t.go(ts.group.clone().partitioner(done_partitioner.clone())))
        } else {
            None
        };
        spawn.await?;
        check_linearizable(&t, &VersionedKvModel, &ts.log.borrow())?;
        if let Some(partitioner) = partitioner {
            done_partitioner.set(true);
            partitioner.await?;
            ts.group.connect_all();
            // Wait for a new term: a request stuck in a former minority returns then.
            t.sleep(ELECTION_TIMEOUT_MS).await;
        }
        if p.crash {
            ts.group.crash_all().await;
        }
        ts.group.check_sizes(p.maxraftstate)?;
    }
    t.end()
}

/// The lab's GenericTestSpeed (2025): 1000 versioned puts, each OK, at least 3 per 100 ms.
async fn generic_test_speed(t: Tester, p: Params) -> TestResult {
    const NUM_OPS: u64 = 1000;
    let ts = Test::make(&t, p);
    let ck = ts.make_clerk();
    // Wait until the first op completes: a leader is elected and the servers are ready.
    ck.get(&t, "x").await;
    let start = t.now();
    for i in 0..NUM_OPS {
        let err = ck.put(&t, "k", &i.to_string(), i).await;
        if err != KvErr::OK {
            return t.fail(format!("Put err {err:?}"));
        }
    }
    let dur = t.now() - start;
    let (_, ver, err) = ck.get(&t, "k").await;
    if err != KvErr::OK {
        return t.fail(format!("Get err {err:?}"));
    }
    if ver != NUM_OPS {
        return t.fail(format!("Get too few ops {ver}"));
    }
    let time_per_op_ns = 100_000_000 / 3;
    if dur * 1000 > NUM_OPS * time_per_op_ns {
        return t.fail(format!(
            "Operations completed too slowly {:.6}ms/op > {:.6}ms/op",
            dur as f64 / NUM_OPS as f64 / MS as f64,
            time_per_op_ns as f64 / 1e6
        ));
    }
    t.end()
}

macro_rules! kv_test {
    ($name:ident, $body:ident, $part:literal, $nclients:expr, $nservers:expr, $reliable:expr,
     $crash:expr, $partitions:expr, $maxraftstate:expr, $randomkeys:expr) => {
        #[doc = concat!("`", stringify!($name), "` (part string \"", $part, "\").")]
        pub async fn $name(t: Tester) -> TestResult {
            let p = Params {
                part: $part,
                nclients: $nclients,
                nservers: $nservers,
                reliable: $reliable,
                crash: $crash,
                partitions: $partitions,
                maxraftstate: $maxraftstate,
                randomkeys: $randomkeys,
            };
            $body(t, p).await
        }
    };
}

const RELIABLE: bool = true;
const UNRELIABLE: bool = false;

// name, body, part string, clients, servers, reliable, crash, partitions, maxraftstate, random keys
kv_test!(
    basic,
    generic_test,
    "4B basic",
    1,
    5,
    RELIABLE,
    false,
    false,
    -1,
    false
);
kv_test!(
    speed_4b,
    generic_test_speed,
    "4B speed",
    1,
    3,
    RELIABLE,
    false,
    false,
    -1,
    false
);
kv_test!(
    concurrent,
    generic_test,
    "4B many clients",
    5,
    5,
    RELIABLE,
    false,
    false,
    -1,
    false
);
kv_test!(
    unreliable,
    generic_test,
    "4B many clients",
    5,
    5,
    UNRELIABLE,
    false,
    false,
    -1,
    false
);
kv_test!(
    many_partitions_one_client,
    generic_test,
    "4B partitions, one client",
    1,
    5,
    RELIABLE,
    false,
    true,
    -1,
    false
);
kv_test!(
    many_partitions_many_clients,
    generic_test,
    "4B partitions, many clients (4B)",
    5,
    5,
    RELIABLE,
    false,
    true,
    -1,
    false
);
kv_test!(
    persist_one_client,
    generic_test,
    "4B restarts, one client 4B ",
    1,
    5,
    RELIABLE,
    true,
    false,
    -1,
    false
);
kv_test!(
    persist_concurrent,
    generic_test,
    "4B restarts, many clients",
    5,
    5,
    RELIABLE,
    true,
    false,
    -1,
    false
);
kv_test!(
    persist_concurrent_unreliable,
    generic_test,
    "4B restarts, many clients ",
    5,
    5,
    UNRELIABLE,
    true,
    false,
    -1,
    false
);
kv_test!(
    persist_partition,
    generic_test,
    "4B restarts, partitions, many clients",
    5,
    5,
    RELIABLE,
    true,
    true,
    -1,
    false
);
kv_test!(
    persist_partition_unreliable,
    generic_test,
    "4B restarts, partitions, many clients",
    5,
    5,
    UNRELIABLE,
    true,
    true,
    -1,
    false
);
kv_test!(
    persist_partition_unreliable_linearizable,
    generic_test,
    "4B restarts, partitions, random keys, many clients",
    15,
    7,
    UNRELIABLE,
    true,
    true,
    -1,
    true
);
kv_test!(
    speed_4c,
    generic_test_speed,
    "4C speed",
    1,
    3,
    RELIABLE,
    false,
    false,
    1000,
    false
);
kv_test!(
    snapshot_recover,
    generic_test,
    "4C restarts, snapshots, one client",
    1,
    5,
    RELIABLE,
    true,
    false,
    1000,
    false
);
kv_test!(
    snapshot_recover_many_clients,
    generic_test,
    "4C restarts, snapshots, many clients ",
    20,
    5,
    RELIABLE,
    true,
    false,
    1000,
    false
);
kv_test!(
    snapshot_unreliable,
    generic_test,
    "4C unreliable net, snapshots, many clients",
    5,
    5,
    UNRELIABLE,
    false,
    false,
    1000,
    false
);
kv_test!(
    snapshot_unreliable_recover,
    generic_test,
    "4C unreliable net, restarts, snapshots, many clients",
    5,
    5,
    UNRELIABLE,
    true,
    false,
    1000,
    false
);
kv_test!(
    snapshot_unreliable_recover_concurrent_partition,
    generic_test,
    "4C unreliable net, restarts, partitions, snapshots, many clients",
    5,
    5,
    UNRELIABLE,
    true,
    true,
    1000,
    false
);
kv_test!(
    snapshot_unreliable_recover_concurrent_partition_linearizable,
    generic_test,
    "4C unreliable net, restarts, partitions, snapshots, random keys, many clients",
    15,
    7,
    UNRELIABLE,
    true,
    true,
    1000,
    true
);
kv_test!(
    one_partition,
    one_partition_body,
    "4B progress in majority",
    0,
    5,
    UNRELIABLE,
    false,
    false,
    -1,
    false
);
kv_test!(
    snapshot_rpc,
    snapshot_rpc_body,
    "4C SnapshotsRPC",
    0,
    3,
    RELIABLE,
    false,
    false,
    1000,
    false
);
kv_test!(
    snapshot_size,
    snapshot_size_body,
    "4C snapshot size is reasonable",
    0,
    3,
    RELIABLE,
    false,
    false,
    1000,
    false
);

/// TestOnePartition4B: progress in the majority, none in the minority, and the minority's
/// Put completes after the heal, at the next version.
async fn one_partition_body(t: Tester, p: Params) -> TestResult {
    let ts = Test::make(&t, p);
    let ck = ts.make_clerk();
    let ver0 = ts.put_at_least_once(&ck, "1", "13", 0, -1).await?;
    let l = ts.group.leader().unwrap_or(0);
    let (p1, p2) = ts.group.make_partition(l);
    ts.group.partition(&p1, &p2);
    let ckp1 = ts.make_clerk_to(&p1);
    let ckp2a = ts.make_clerk_to(&p2);
    let ckp2b = ts.make_clerk_to(&p2);
    let ver1 = ts.put_at_least_once(&ckp1, "1", "14", ver0, -1).await?;
    ts.check_get(&ckp1, "1", "14", ver1).await?;
    t.end()?;

    t.begin("Test: no progress in minority (4B)");
    let done0 = {
        let (ts, ck) = (ts.clone(), ckp2a.clone());
        t.go(async move { ts.put_at_least_once(&ck, "1", "15", ver1, -1).await })
    };
    let done1 = {
        let (ts, ck) = (ts.clone(), ckp2b.clone());
        t.go(async move { Ok(ts.get(&ck, "1", -1).await.1) })
    };
    t.sleep(1000).await;
    if done0.is_finished() {
        let ver = done0.await?;
        return t.fail(format!("Put in minority completed with version = {ver}"));
    }
    if done1.is_finished() {
        let ver = done1.await?;
        return t.fail(format!("Get in minority completed with version = {ver}"));
    }
    ts.check_get(&ckp1, "1", "14", ver1).await?;
    let ver2 = ts.put_at_least_once(&ckp1, "1", "16", ver1, -1).await?;
    ts.check_get(&ckp1, "1", "16", ver2).await?;
    t.end()?;

    t.begin("Test: completion after heal (4B)");
    ts.group.connect_all();
    ckp2a.ends().enable_all();
    ckp2b.ends().enable_all();
    t.sleep(ELECTION_TIMEOUT_MS).await;
    // Up to 3 s for the Put; the lab polls the Get without waiting, which never fails.
    for _ in 0..30 {
        if done0.is_finished() {
            break;
        }
        t.sleep(100).await;
    }
    if !done0.is_finished() {
        return t.fail("Put did not complete");
    }
    let ver15 = done0.await?;
    ts.check_get(&ck, "1", "15", ver15).await?;
    t.end()
}

/// TestSnapshotRPC4C: as 2024's, with exact versions (each key written once).
async fn snapshot_rpc_body(t: Tester, p: Params) -> TestResult {
    let ts = Test::make(&t, p);
    t.begin("Test: InstallSnapshot RPC (4C)");
    let ck = ts.make_clerk();
    let vera = ts.put_at_least_once(&ck, "a", "A", 0, -1).await?;
    ts.check_get(&ck, "a", "A", vera).await?;
    // A bunch of puts into the majority partition.
    ts.group.partition(&[0, 1], &[2]);
    let verb = {
        let ck1 = ts.make_clerk_to(&[0, 1]);
        for i in 0..50 {
            let s = i.to_string();
            ts.put_at_least_once(&ck1, &s, &s, 0, -1).await?;
        }
        t.sleep(ELECTION_TIMEOUT_MS).await;
        ts.put_at_least_once(&ck1, "b", "B", 0, -1).await?
    };
    // The majority must have thrown away most of its log.
    let sz = ts.group.log_size();
    if sz as i64 > 8 * p.maxraftstate {
        return t.fail(format!(
            "logs were not trimmed ({sz} > 8*{})",
            p.maxraftstate
        ));
    }
    // A majority that needs the lagging server, so that it has to catch up.
    ts.group.partition(&[0, 2], &[1]);
    let verc = {
        let ck1 = ts.make_clerk_to(&[0, 2]);
        let verc = ts.put_at_least_once(&ck1, "c", "C", 0, -1).await?;
        ts.put_at_least_once(&ck1, "d", "D", 0, -1).await?;
        ts.check_get(&ck1, "a", "A", vera).await?;
        ts.check_get(&ck1, "b", "B", verb).await?;
        ts.check_get(&ck1, "1", "1", 1).await?;
        ts.check_get(&ck1, "49", "49", 1).await?;
        verc
    };
    // Now everybody.
    ts.group.partition(&[0, 1, 2], &[]);
    let vere = ts.put_at_least_once(&ck, "e", "E", 0, -1).await?;
    ts.check_get(&ck, "c", "C", verc).await?;
    ts.check_get(&ck, "e", "E", vere).await?;
    ts.check_get(&ck, "1", "1", 1).await?;
    t.end()
}

/// TestSnapshotSize4C: 800 operations on one key; the logs trimmed and the snapshots small.
async fn snapshot_size_body(t: Tester, p: Params) -> TestResult {
    const MAXSNAPSHOTSTATE: usize = 500;
    let ts = Test::make(&t, p);
    let ck = ts.make_clerk();
    let mut ver = 0;
    for _ in 0..200 {
        ver = ts.put_at_least_once(&ck, "x", "0", ver, -1).await?;
        ts.check_get(&ck, "x", "0", ver).await?;
        ver = ts.put_at_least_once(&ck, "x", "1", ver, -1).await?;
        ts.check_get(&ck, "x", "1", ver).await?;
    }
    let sz = ts.group.log_size();
    if sz as i64 > 8 * p.maxraftstate {
        return t.fail(format!(
            "logs were not trimmed ({sz} > 8*{})",
            p.maxraftstate
        ));
    }
    let ssz = ts.group.snapshot_size();
    if ssz > MAXSNAPSHOTSTATE {
        return t.fail(format!("snapshot too large ({ssz} > {MAXSNAPSHOTSTATE})"));
    }
    t.end()
}
