//! A seed's plan: the cluster and the fault mix it runs under.
//!
//! Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): rather than every fault at once
//! at a fixed rate, each seed turns each fault kind on or off and draws its own rate, so some
//! seeds stress one fault hard and others a rare combination. A plan has a one-line text form
//! (`Display` / `FromStr`) so that a shrunk plan can be replayed from the command line.

use super::membership::ChangeKind;
use super::topology::TopologyKind;
use crate::features::Features;
use crate::rng::Stream;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// What every seed's draw is bounded by (the `swarm` command's `--nodes` and `--time`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Cluster sizes to draw from.
    pub nodes: RangeInclusive<usize>,
    /// The longest fault phase, in virtual milliseconds.
    pub max_time_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            nodes: 3..=7,
            max_time_ms: 30_000,
        }
    }
}

/// Everything a swarm run does, besides the random draws made while it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Servers in the cluster.
    pub nodes: usize,
    /// Length of the fault phase (virtual ms).
    pub time_ms: u64,
    /// Every message's delay, uniform in this range (ms); `None`: no added latency.
    pub latency_ms: Option<(u64, u64)>,
    /// Messages lost, per mille.
    pub loss: u64,
    /// Requests delivered twice, per mille.
    pub duplicate: u64,
    /// Messages held back up to a second (so later ones overtake them), per mille.
    pub reorder: u64,
    /// The topologies the network cycles through (empty: always fully connected).
    pub topologies: Vec<TopologyKind>,
    /// How long a topology holds on average (ms).
    pub hold_ms: u64,
    /// Mean time between crashes (ms); 0: no crashes.
    pub crash_every_ms: u64,
    /// Longest time a crashed server stays down (ms).
    pub downtime_ms: u64,
    /// Crashes that fall inside a durable write (possibly tearing it), per mille.
    pub mid_write: u64,
    /// Each server's clock runs up to this many percent fast or slow.
    pub skew_percent: u64,
    /// The service snapshots every this many entries; 0: never.
    pub snapshot_every: u64,
    /// Extra bytes in every snapshot.
    pub snapshot_bytes: usize,
    /// Pipelined persistence: leaders hand their own appends to the disk without waiting, and
    /// each such write takes up to this long (ms); `None`: synchronous writes.
    pub pipelined_ms: Option<u64>,
    /// The core's batching and flow control, `(max entries, max bytes, max in flight)` per
    /// message; `None`: the defaults.
    pub flow: Option<(usize, usize, u32)>,
    /// Concurrent clients proposing commands.
    pub clients: usize,
    /// A client's mean pause between proposals (ms).
    pub propose_every_ms: u64,
    /// Whether the liveness phase heals every server (else a majority, the rest cut off; with
    /// membership changes, as many cut off as leave every configuration a healed majority).
    pub heal_all: bool,
    /// Disks that may lose their last write at a crash: not a legal fault; shows the
    /// checkers catch it.
    pub unsafe_disk: bool,
    /// The production features every node runs with (PreVote, CheckQuorum, ReadIndex, lease
    /// reads); with ReadIndex, clients read as well as write.
    pub features: Features,
    /// Mean time between leadership transfers the nemesis asks of the leader (ms); 0: none.
    pub transfer_every_ms: u64,
    /// The membership changes the operator makes (empty: none, and the universe is just the
    /// cluster). With any, the world holds spare servers beyond the cluster ([`Plan::universe`]).
    pub membership: Vec<ChangeKind>,
    /// Mean pause between membership changes (ms).
    pub member_every_ms: u64,
}

impl Plan {
    /// The plan seed `seed` draws within `limits`.
    pub fn draw(seed: u64, limits: &Limits) -> Plan {
        let mut rng = Stream::new(seed, "swarm-plan", 0);
        let mut coin = || rng.below(2) == 1;
        let on = [
            coin(),
            coin(),
            coin(),
            coin(),
            coin(),
            coin(),
            coin(),
            coin(),
            coin(),
            coin(),
        ];
        let heal_all = coin();
        let span = |rng: &mut Stream, low: u64, high: u64| low + rng.below(high - low + 1);
        let (first, last) = (*limits.nodes.start(), *limits.nodes.end());
        let nodes = span(&mut rng, first as u64, last as u64) as usize;
        let max_time = limits.max_time_ms.max(1_000);
        let time_ms = span(&mut rng, max_time / 4, max_time);
        let latency_ms = on[0].then(|| {
            let low = rng.below(6);
            (low, low + span(&mut rng, 1, 50))
        });
        let loss = if on[1] { span(&mut rng, 10, 300) } else { 0 };
        let duplicate = if on[2] { span(&mut rng, 10, 300) } else { 0 };
        let reorder = if on[3] { span(&mut rng, 10, 200) } else { 0 };
        let mut topologies = Vec::new();
        if on[4] {
            while topologies.is_empty() {
                topologies = TopologyKind::ALL
                    .into_iter()
                    .filter(|_| rng.below(2) == 1)
                    .collect();
            }
        }
        let hold_ms = match topologies.is_empty() {
            true => 0,
            false => log_uniform(&mut rng, 50, 5_000),
        };
        let (crash_every_ms, downtime_ms, mid_write) = if on[5] {
            let every = log_uniform(&mut rng, 50, 5_000);
            (every, log_uniform(&mut rng, 1, 3_000), rng.below(1_001))
        } else {
            (0, 0, 0)
        };
        let skew_percent = if on[6] { span(&mut rng, 1, 50) } else { 0 };
        let (snapshot_every, snapshot_bytes) = if on[7] {
            (log_uniform(&mut rng, 5, 200), rng.below(4_097) as usize)
        } else {
            (0, 0)
        };
        let flow = on[8].then(|| {
            let entries = log_uniform(&mut rng, 1, 64) as usize;
            let bytes = log_uniform(&mut rng, 16, 65_536) as usize;
            (entries, bytes, span(&mut rng, 1, 8) as u32)
        });
        let pipelined_ms = on[9].then(|| log_uniform(&mut rng, 1, 100));
        Plan {
            nodes,
            time_ms,
            latency_ms,
            loss,
            duplicate,
            reorder,
            topologies,
            hold_ms,
            crash_every_ms,
            downtime_ms,
            mid_write,
            skew_percent,
            snapshot_every,
            snapshot_bytes,
            flow,
            pipelined_ms,
            clients: span(&mut rng, 1, 5) as usize,
            propose_every_ms: log_uniform(&mut rng, 10, 500),
            heal_all,
            unsafe_disk: false,
            features: Features::default(),
            transfer_every_ms: 0,
            membership: Vec::new(),
            member_every_ms: 0,
        }
        .with_drawn_features(seed)
    }

    /// This plan with membership changes drawn for `seed` from their own stream (so every
    /// other draw stays what it was; `swarm --membership`): each kind within the core's
    /// contract ([`ChangeKind::DRAWN`]) on or off, with at least one on, and a pace between
    /// changes. [`Plan::draw`] alone draws none, so sweeps without `--membership` run exactly
    /// as they did before membership changes existed.
    ///
    /// A stale rejoin ([`ChangeKind::ReaddStale`]) is kept only on a plan that runs PreVote:
    /// the core promises that such a server cannot stall the cluster only with PreVote on
    /// (see [`ChangeKind::ReaddStale`]). Its coin is drawn either way, so the other kinds
    /// stay what they were.
    pub fn with_drawn_membership(mut self, seed: u64) -> Plan {
        let mut rng = Stream::new(seed, "swarm-membership", 0);
        let pre_vote = self.features.pre_vote;
        self.membership = Vec::new();
        while self.membership.is_empty() {
            self.membership = ChangeKind::DRAWN
                .into_iter()
                .filter(|_| rng.below(2) == 1)
                .filter(|&kind| pre_vote || kind != ChangeKind::ReaddStale)
                .collect();
        }
        self.member_every_ms = log_uniform(&mut rng, 100, 5_000);
        self
    }

    /// The servers the world holds: the cluster, plus spares to add when the plan changes
    /// membership (enough to grow to seven voters and replace one more).
    pub fn universe(&self) -> usize {
        match self.membership.is_empty() {
            true => self.nodes,
            false => self.nodes.max(7) + 1,
        }
    }

    /// This plan with the production features drawn for `seed` from their own stream, so
    /// that every other draw of the seed stays what it was before features existed: each
    /// feature on or off, the lease (when its prerequisites are on) assuming exactly the
    /// plan's clock skew, and leadership transfers at a drawn pace.
    pub fn with_drawn_features(mut self, seed: u64) -> Plan {
        let mut rng = Stream::new(seed, "swarm-features", 0);
        let mut coin = || rng.below(2) == 1;
        let (pre_vote, check_quorum, read_index, lease, transfers) =
            (coin(), coin(), coin(), coin(), coin());
        let lease_reads = lease && check_quorum && read_index;
        self.features = Features {
            pre_vote,
            check_quorum,
            read_index,
            lease_reads,
            ..Features::default()
        };
        if lease_reads {
            self.features.drift_percent = self.skew_percent.min(90) as u32;
        }
        self.transfer_every_ms = match transfers {
            true => log_uniform(&mut rng, 200, 5_000),
            false => 0,
        };
        self
    }

    /// This plan with every production feature on: PreVote, CheckQuorum, ReadIndex, lease
    /// reads assuming exactly the plan's clock skew, and leadership transfers (every second
    /// on average unless the plan has its own pace).
    pub fn with_all_features(mut self) -> Plan {
        self.features = Features {
            pre_vote: true,
            check_quorum: true,
            read_index: true,
            lease_reads: true,
            drift_percent: self.skew_percent.min(90) as u32,
        };
        if self.transfer_every_ms == 0 {
            self.transfer_every_ms = 1_000;
        }
        self
    }

    /// This plan with every production feature off (the swarm before they existed).
    pub fn without_features(mut self) -> Plan {
        self.features = Features::default();
        self.transfer_every_ms = 0;
        self
    }

    /// The fault kinds this plan turns on, by name.
    pub fn fault_kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        let mut add = |on: bool, name| {
            if on {
                kinds.push(name)
            }
        };
        add(self.latency_ms.is_some(), "latency");
        add(self.loss > 0, "loss");
        add(self.duplicate > 0, "duplication");
        add(self.reorder > 0, "reordering");
        add(!self.topologies.is_empty(), "topologies");
        add(self.crash_every_ms > 0, "crashes");
        add(self.mid_write > 0 && self.crash_every_ms > 0, "torn writes");
        add(self.skew_percent > 0, "clock skew");
        add(self.snapshot_every > 0, "snapshots");
        add(self.flow.is_some(), "small batches");
        add(self.pipelined_ms.is_some(), "pipelined persistence");
        add(self.unsafe_disk, "unsafe disk");
        add(self.features.pre_vote, "pre-vote");
        add(self.features.check_quorum, "check-quorum");
        add(self.features.read_index, "read-index");
        add(self.features.lease_reads, "lease reads");
        add(self.transfer_every_ms > 0, "leader transfers");
        add(!self.membership.is_empty(), "membership changes");
        kinds
    }
}

/// Uniform in `low..=high` on a log scale: as many seeds draw 50–500 as 500–5000, so some
/// seeds are far more aggressive than the average.
fn log_uniform(rng: &mut Stream, low: u64, high: u64) -> u64 {
    let (ln_low, ln_high) = ((low as f64).ln(), (high as f64).ln());
    let unit = rng.below(1 << 20) as f64 / f64::from(1 << 20);
    let drawn = (ln_low + unit * (ln_high - ln_low)).exp().round() as u64;
    drawn.clamp(low, high)
}

impl fmt::Display for Plan {
    /// `n=5,t=12000,lat=2-40,loss=120,dup=0,reorder=50,topo=split+bridge/1500,
    /// crash=2000/1500/300,skew=30,snap=10/512,clients=3/40,heal=all,
    /// feat=prevote+checkquorum,transfer=0`, then `member=add+remove/2000` if the plan changes
    /// membership (a plan without the field changes none, so older plans replay as before).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n={},t={}", self.nodes, self.time_ms)?;
        match self.latency_ms {
            Some((low, high)) => write!(f, ",lat={low}-{high}")?,
            None => write!(f, ",lat=0")?,
        }
        write!(
            f,
            ",loss={},dup={},reorder={}",
            self.loss, self.duplicate, self.reorder
        )?;
        let topologies: Vec<&str> = self.topologies.iter().map(|t| t.name()).collect();
        match topologies.is_empty() {
            true => write!(f, ",topo=none")?,
            false => write!(f, ",topo={}/{}", topologies.join("+"), self.hold_ms)?,
        }
        match self.flow {
            Some((entries, bytes, inflight)) => write!(f, ",flow={entries}/{bytes}/{inflight}")?,
            None => write!(f, ",flow=default")?,
        }
        match self.pipelined_ms {
            Some(ms) => write!(f, ",pipe={ms}")?,
            None => write!(f, ",pipe=off")?,
        }
        write!(
            f,
            ",crash={}/{}/{},skew={},snap={}/{},clients={}/{},heal={}",
            self.crash_every_ms,
            self.downtime_ms,
            self.mid_write,
            self.skew_percent,
            self.snapshot_every,
            self.snapshot_bytes,
            self.clients,
            self.propose_every_ms,
            if self.heal_all { "all" } else { "majority" }
        )?;
        write!(
            f,
            ",feat={},transfer={}",
            self.features, self.transfer_every_ms
        )?;
        if !self.membership.is_empty() {
            let kinds: Vec<&str> = self.membership.iter().map(|k| k.name()).collect();
            write!(f, ",member={}/{}", kinds.join("+"), self.member_every_ms)?;
        }
        if self.unsafe_disk {
            write!(f, ",unsafe-disk")?;
        }
        Ok(())
    }
}

impl FromStr for Plan {
    type Err = String;

    /// Fields left out are off (or, for the cluster and the clients, small defaults).
    fn from_str(text: &str) -> Result<Plan, String> {
        let mut plan = Plan::quiet();
        for field in text.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let (key, value) = field.split_once('=').unwrap_or((field, ""));
            let bad = || format!("bad plan field {field:?}");
            let number = |v: &str| v.parse::<u64>().map_err(|_| bad());
            let pair = |v: &str| -> Result<(u64, u64), String> {
                let (a, b) = v.split_once(['/', '-']).ok_or_else(bad)?;
                Ok((number(a)?, number(b)?))
            };
            match key {
                "n" => plan.nodes = number(value)? as usize,
                "t" => plan.time_ms = number(value)?,
                "lat" if value == "0" => plan.latency_ms = None,
                "lat" => plan.latency_ms = Some(pair(value)?),
                "loss" => plan.loss = number(value)?,
                "dup" => plan.duplicate = number(value)?,
                "reorder" => plan.reorder = number(value)?,
                "topo" if value == "none" => (plan.topologies, plan.hold_ms) = (Vec::new(), 0),
                "topo" => {
                    let (kinds, hold) = value.split_once('/').ok_or_else(bad)?;
                    plan.topologies = kinds
                        .split('+')
                        .map(|k| TopologyKind::parse(k).ok_or_else(bad))
                        .collect::<Result<_, _>>()?;
                    plan.hold_ms = number(hold)?;
                }
                "pipe" if value == "off" => plan.pipelined_ms = None,
                "pipe" => plan.pipelined_ms = Some(number(value)?),
                "flow" if value == "default" => plan.flow = None,
                "flow" => {
                    let parts: Vec<&str> = value.split('/').collect();
                    let [entries, bytes, inflight] = parts[..] else {
                        return Err(bad());
                    };
                    let (entries, bytes) = (number(entries)? as usize, number(bytes)? as usize);
                    plan.flow = Some((entries, bytes, number(inflight)? as u32));
                }
                "crash" => {
                    let parts: Vec<&str> = value.split('/').collect();
                    let [every, down, mid] = parts[..] else {
                        return Err(bad());
                    };
                    plan.crash_every_ms = number(every)?;
                    plan.downtime_ms = number(down)?;
                    plan.mid_write = number(mid)?;
                }
                "skew" => plan.skew_percent = number(value)?,
                "snap" => {
                    let (every, bytes) = pair(value)?;
                    (plan.snapshot_every, plan.snapshot_bytes) = (every, bytes as usize);
                }
                "clients" => {
                    let (clients, every) = pair(value)?;
                    (plan.clients, plan.propose_every_ms) = (clients as usize, every);
                }
                "heal" => plan.heal_all = value == "all",
                "feat" => plan.features = value.parse()?,
                "transfer" => plan.transfer_every_ms = number(value)?,
                "member" if value == "off" => {
                    (plan.membership, plan.member_every_ms) = (Vec::new(), 0)
                }
                "member" => {
                    let (kinds, every) = value.split_once('/').ok_or_else(bad)?;
                    plan.membership = kinds
                        .split('+')
                        .map(|k| ChangeKind::parse(k).ok_or_else(bad))
                        .collect::<Result<_, _>>()?;
                    plan.member_every_ms = number(every)?;
                }
                "unsafe-disk" => plan.unsafe_disk = true,
                _ => return Err(format!("unknown plan field {key:?}")),
            }
        }
        plan.check()?;
        Ok(plan)
    }
}

impl Plan {
    /// Three servers, ten seconds, one client proposing every 50 ms, no fault at all.
    pub fn quiet() -> Plan {
        Plan {
            nodes: 3,
            time_ms: 10_000,
            latency_ms: None,
            loss: 0,
            duplicate: 0,
            reorder: 0,
            topologies: Vec::new(),
            hold_ms: 0,
            crash_every_ms: 0,
            downtime_ms: 0,
            mid_write: 0,
            skew_percent: 0,
            snapshot_every: 0,
            snapshot_bytes: 0,
            flow: None,
            pipelined_ms: None,
            clients: 1,
            propose_every_ms: 50,
            heal_all: true,
            unsafe_disk: false,
            features: Features::default(),
            transfer_every_ms: 0,
            membership: Vec::new(),
            member_every_ms: 0,
        }
    }

    /// Rejects plans the simulator cannot run.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=64).contains(&self.nodes) {
            return Err(format!("n={} must be 1 to 64 servers", self.nodes));
        }
        if self.time_ms > 300_000 {
            return Err("t must be at most 300000 ms".into());
        }
        if [self.loss, self.duplicate, self.reorder, self.mid_write]
            .iter()
            .any(|&p| p > 1000)
        {
            return Err("rates are per mille: at most 1000".into());
        }
        if self.skew_percent > 90 {
            return Err("skew must be at most 90 %".into());
        }
        if self
            .flow
            .is_some_and(|(entries, bytes, inflight)| entries == 0 || bytes == 0 || inflight == 0)
        {
            return Err("flow limits must be at least 1".into());
        }
        if self.latency_ms.is_some_and(|(low, high)| low > high) {
            return Err("lat=LOW-HIGH needs LOW <= HIGH".into());
        }
        if !self.membership.is_empty() && self.member_every_ms == 0 {
            return Err("member=KINDS/EVERY needs EVERY of at least 1 ms".into());
        }
        if !self.membership.is_empty() && self.nodes > 32 {
            return Err("membership changes need n=32 or fewer servers".into());
        }
        self.features.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_round_trips_and_draws_are_reproducible() {
        for seed in 0..200 {
            let plan = Plan::draw(seed, &Limits::default());
            assert_eq!(plan, Plan::draw(seed, &Limits::default()));
            let text = plan.to_string();
            assert_eq!(text.parse::<Plan>(), Ok(plan), "{text}");
        }
    }

    #[test]
    fn draws_respect_the_limits_and_vary_the_mix() {
        let limits = Limits {
            nodes: 4..=5,
            max_time_ms: 8_000,
        };
        let plans: Vec<Plan> = (0..200).map(|s| Plan::draw(s, &limits)).collect();
        assert!(plans.iter().all(|p| (4..=5).contains(&p.nodes)));
        assert!(plans.iter().all(|p| p.time_ms <= 8_000));
        for kind in ["loss", "crashes", "topologies", "snapshots"] {
            let with = plans.iter().filter(|p| p.fault_kinds().contains(&kind));
            assert!((50..150).contains(&with.count()), "{kind}");
        }
    }

    #[test]
    fn bad_plans_are_refused_with_a_reason() {
        assert!("n=0".parse::<Plan>().unwrap_err().contains("servers"));
        assert!("loss=2000"
            .parse::<Plan>()
            .unwrap_err()
            .contains("per mille"));
        assert!("bogus=1".parse::<Plan>().unwrap_err().contains("unknown"));
        assert!("topo=ring/5".parse::<Plan>().unwrap_err().contains("topo"));
    }
}
