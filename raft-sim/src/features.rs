//! The production features a simulated cluster runs with: raft-core's `Config` switches for
//! PreVote, CheckQuorum, ReadIndex and lease reads (all off in the lab, unless asked for).

use raft_core::Config;
use std::fmt;
use std::str::FromStr;

/// Which of raft-core's production features every node of a run has on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// `Config::pre_vote` (thesis §9.6).
    pub pre_vote: bool,
    /// `Config::check_quorum` (thesis §6.2) with leader stickiness (§4.2.3).
    pub check_quorum: bool,
    /// `Config::read_index` (thesis §6.4).
    pub read_index: bool,
    /// `Config::lease_reads` (thesis §6.4.1); needs the two above it.
    pub lease_reads: bool,
    /// `Config::clock_drift_percent`: the clock drift the lease assumes.
    pub drift_percent: u32,
}

/// How a run's cluster departs from the lab's: production features and clock skew.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// The features every node runs with.
    pub features: Features,
    /// Every server's clock runs within this many percent of the nominal rate
    /// (`World::set_clock_skew`).
    pub clock_skew_percent: u64,
}

impl Default for Features {
    /// Everything off (the lab's configuration); the core's default drift bound.
    fn default() -> Features {
        Features {
            pre_vote: false,
            check_quorum: false,
            read_index: false,
            lease_reads: false,
            drift_percent: 10,
        }
    }
}

impl Features {
    /// Whether every feature is off.
    pub fn is_off(&self) -> bool {
        !(self.pre_vote || self.check_quorum || self.read_index || self.lease_reads)
    }

    /// Sets the switches in a node's configuration.
    pub fn apply(&self, config: &mut Config) {
        config.pre_vote = self.pre_vote;
        config.check_quorum = self.check_quorum;
        config.read_index = self.read_index;
        config.lease_reads = self.lease_reads;
        config.clock_drift_percent = self.drift_percent;
    }

    /// Checks that a node could run with these (a lease needs CheckQuorum and ReadIndex).
    pub fn check(&self) -> Result<(), String> {
        let mut config = Config::new(raft_core::NodeId(0), vec![raft_core::NodeId(0)], 0);
        self.apply(&mut config);
        config
            .validate()
            .map_err(|e| format!("features {self}: {e}"))
    }
}

impl fmt::Display for Features {
    /// `none`, or the features on joined by `+`: `prevote+checkquorum+readindex+lease/20`
    /// (the lease with its drift bound).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        if self.pre_vote {
            names.push("prevote".to_string());
        }
        if self.check_quorum {
            names.push("checkquorum".to_string());
        }
        if self.read_index {
            names.push("readindex".to_string());
        }
        if self.lease_reads {
            names.push(format!("lease/{}", self.drift_percent));
        }
        match names.is_empty() {
            true => f.write_str("none"),
            false => f.write_str(&names.join("+")),
        }
    }
}

impl FromStr for Features {
    type Err = String;

    fn from_str(text: &str) -> Result<Features, String> {
        let mut features = Features::default();
        if text == "none" {
            return Ok(features);
        }
        for name in text.split('+') {
            match name.split_once('/') {
                Some(("lease", drift)) => {
                    features.lease_reads = true;
                    features.drift_percent = drift
                        .parse()
                        .map_err(|_| format!("bad lease drift bound {drift:?}"))?;
                }
                None if name == "prevote" => features.pre_vote = true,
                None if name == "checkquorum" => features.check_quorum = true,
                None if name == "readindex" => features.read_index = true,
                _ => return Err(format!("unknown feature {name:?}")),
            }
        }
        features.check()?;
        Ok(features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_round_trips_and_bad_mixes_are_refused() {
        for text in [
            "none",
            "prevote",
            "prevote+checkquorum",
            "checkquorum+readindex+lease/30",
        ] {
            let features: Features = text.parse().unwrap();
            assert_eq!(features.to_string(), text);
        }
        assert!("lease/10"
            .parse::<Features>()
            .unwrap_err()
            .contains("check_quorum"));
        assert!("checkquorum+readindex+lease/100"
            .parse::<Features>()
            .is_err());
        assert!("fast".parse::<Features>().unwrap_err().contains("unknown"));
    }
}
