//! The lab's checks and waits, in virtual time (`docs/lab-harness.md`, "The tester").

use crate::tester::{TestResult, Tester};
use crate::value::Value;
use crate::world::MS;
use std::collections::BTreeMap;

impl Tester {
    /// The lab's `checkOneLeader`: a leader must appear within 10 polls of 450–549 ms.
    pub async fn check_one_leader(&self) -> TestResult<usize> {
        for _ in 0..10 {
            let ms = 450 + self.rand_below(100);
            self.sleep(ms).await;
            let mut leaders: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for i in 0..self.n() {
                if self.is_connected(i) && self.is_alive(i) {
                    let (term, leader) = self.get_state(i);
                    if leader {
                        leaders.entry(term).or_default().push(i);
                    }
                }
            }
            for (term, ids) in &leaders {
                if ids.len() > 1 {
                    return self.fail(format!("term {term} has {} (>1) leaders", ids.len()));
                }
            }
            if let Some((_, ids)) = leaders.last_key_value() {
                return Ok(ids[0]);
            }
        }
        self.fail("expected one leader, got none")
    }

    /// The lab's `checkTerms`: all connected servers agree on the term (`None` if none is
    /// connected).
    pub fn check_terms(&self) -> TestResult<Option<u64>> {
        let mut term = None;
        for i in 0..self.n() {
            if self.is_connected(i) && self.is_alive(i) {
                let (xterm, _) = self.get_state(i);
                match term {
                    None => term = Some(xterm),
                    Some(t) if t != xterm => return self.fail("servers disagree on term"),
                    Some(_) => {}
                }
            }
        }
        Ok(term)
    }

    /// The lab's `checkNoLeader`: no connected server claims leadership.
    pub fn check_no_leader(&self) -> TestResult {
        for i in 0..self.n() {
            if self.is_connected(i) && self.is_alive(i) && self.get_state(i).1 {
                return self.fail(format!(
                    "expected no leader among connected servers, but {i} claims to be leader"
                ));
            }
        }
        Ok(())
    }

    /// The lab's `nCommitted(index)`: how many servers applied it, and what.
    pub fn n_committed(&self, index: u64) -> TestResult<(usize, Option<Value>)> {
        let result = {
            let world = self.world();
            match world.failure() {
                Some((why, _)) => Err(why.to_string()),
                None => world.appliers().n_committed(index),
            }
        };
        result.or_else(|why| self.fail(why))
    }

    /// The lab's `wait(index, n, startTerm)`: waits with back-off for `n` servers to apply
    /// `index`. `None` means some server moved past `start_term` (the lab's −1).
    pub async fn wait(
        &self,
        index: u64,
        n: usize,
        start_term: Option<u64>,
    ) -> TestResult<Option<Value>> {
        let mut to = 10;
        for _ in 0..30 {
            let (count, _) = self.n_committed(index)?;
            if count >= n {
                break;
            }
            self.sleep(to).await;
            if to < 1000 {
                to *= 2;
            }
            if let Some(start_term) = start_term {
                for i in 0..self.n() {
                    if self.is_alive(i) && self.get_state(i).0 > start_term {
                        return Ok(None); // someone has moved on; can no longer guarantee
                    }
                }
            }
        }
        let (count, command) = self.n_committed(index)?;
        if count < n {
            return self.fail(format!(
                "only {count} decided for index {index}; wanted {n}"
            ));
        }
        Ok(command)
    }

    /// The lab's `one(cmd, expectedServers, retry)`: full agreement on `cmd` within 10 s.
    pub async fn one(
        &self,
        cmd: impl Into<Value>,
        expected: usize,
        retry: bool,
    ) -> TestResult<u64> {
        let cmd = cmd.into();
        let t0 = self.now();
        let mut starts = 0;
        while self.now() - t0 < 10_000 * MS {
            // Try each connected, live server in turn until one accepts as leader.
            let mut index = None;
            for _ in 0..self.n() {
                starts = (starts + 1) % self.n();
                if self.is_connected(starts) && self.is_alive(starts) {
                    let result = self.start(starts, cmd.clone());
                    if result.is_leader {
                        index = Some(result.index);
                        break;
                    }
                }
            }
            let Some(index) = index else {
                self.sleep(50).await;
                continue;
            };
            // Somebody claimed to be the leader and submitted our command; wait a while.
            let t1 = self.now();
            while self.now() - t1 < 2_000 * MS {
                let (count, committed) = self.n_committed(index)?;
                if count > 0 && count >= expected && committed.as_ref() == Some(&cmd) {
                    return Ok(index);
                }
                self.sleep(20).await;
            }
            if !retry {
                return self.fail(format!("one({cmd}) failed to reach agreement"));
            }
        }
        self.fail(format!("one({cmd}) failed to reach agreement"))
    }
}
