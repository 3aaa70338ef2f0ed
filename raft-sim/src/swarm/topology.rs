//! Network topologies that hold for a while: which directed links are cut.
//!
//! Beyond clean majority/minority splits, the shapes that have broken production Raft
//! clusters: one-way links, a *bridge* (two halves that only one server can talk to), and
//! *partial* connectivity where every link fails on its own.

use crate::rng::Stream;

/// A family of topologies; [`TopologyKind::draw`] picks one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TopologyKind {
    /// A minority (up to half) cut off from the rest, both ways.
    Split,
    /// One server cut off from everyone, both ways.
    Isolate,
    /// One server that can only send, or only receive.
    OneWay,
    /// Two halves that cannot talk to each other, and one server that talks to both.
    Bridge,
    /// Every link cut on its own, with one probability for the whole topology.
    Partial,
}

impl TopologyKind {
    /// Every kind.
    pub const ALL: [TopologyKind; 5] = [
        TopologyKind::Split,
        TopologyKind::Isolate,
        TopologyKind::OneWay,
        TopologyKind::Bridge,
        TopologyKind::Partial,
    ];

    /// The kind's name in plans.
    pub fn name(self) -> &'static str {
        match self {
            TopologyKind::Split => "split",
            TopologyKind::Isolate => "isolate",
            TopologyKind::OneWay => "oneway",
            TopologyKind::Bridge => "bridge",
            TopologyKind::Partial => "partial",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<TopologyKind> {
        TopologyKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// One topology of this kind for `n` servers: the directed links `(from, to)` to cut.
    pub fn draw(self, n: usize, rng: &mut Stream) -> Vec<(usize, usize)> {
        let mut cuts = Vec::new();
        let mut cut_both = |a: usize, b: usize| {
            cuts.push((a, b));
            cuts.push((b, a));
        };
        match self {
            TopologyKind::Split => {
                let minority = 1 + rng.below((n / 2).max(1) as u64) as usize;
                let side = shuffled(n, rng);
                for &a in &side[..minority] {
                    for &b in &side[minority..] {
                        cut_both(a, b);
                    }
                }
            }
            TopologyKind::Isolate => {
                let lonely = rng.below(n as u64) as usize;
                (0..n)
                    .filter(|&b| b != lonely)
                    .for_each(|b| cut_both(lonely, b));
            }
            TopologyKind::OneWay => {
                let x = rng.below(n as u64) as usize;
                let deaf = rng.below(2) == 1;
                for other in (0..n).filter(|&o| o != x) {
                    cuts.push(if deaf { (other, x) } else { (x, other) });
                }
            }
            TopologyKind::Bridge => {
                let order = shuffled(n, rng);
                let rest = &order[1..]; // order[0] is the bridge
                let half = rest.len() / 2;
                for &a in &rest[..half] {
                    for &b in &rest[half..] {
                        cut_both(a, b);
                    }
                }
            }
            TopologyKind::Partial => {
                let per_mille = 200 + rng.below(401);
                for a in 0..n {
                    for b in a + 1..n {
                        if rng.chance(per_mille) {
                            cut_both(a, b);
                        }
                    }
                }
            }
        }
        cuts
    }
}

/// `0..n` in a random order (Fisher–Yates).
fn shuffled(n: usize, rng: &mut Stream) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reachable(n: usize, cuts: &[(usize, usize)], from: usize, to: usize) -> bool {
        !cuts.contains(&(from, to)) && from != to && from < n && to < n
    }

    #[test]
    fn a_bridge_connects_two_halves_that_cannot_talk() {
        let mut rng = Stream::new(1, "t", 0);
        for n in 3..=7 {
            let cuts = TopologyKind::Bridge.draw(n, &mut rng);
            let bridges: Vec<usize> = (0..n)
                .filter(|&b| (0..n).all(|o| o == b || reachable(n, &cuts, b, o)))
                .collect();
            assert!(!bridges.is_empty(), "n={n}: no server reaches everyone");
            if n >= 4 {
                assert!(!cuts.is_empty(), "n={n}: the halves must be cut");
            }
        }
    }

    #[test]
    fn one_way_cuts_are_one_way() {
        let mut rng = Stream::new(2, "t", 0);
        for _ in 0..20 {
            let cuts = TopologyKind::OneWay.draw(5, &mut rng);
            assert_eq!(cuts.len(), 4);
            assert!(cuts.iter().all(|&(a, b)| !cuts.contains(&(b, a))));
        }
    }

    #[test]
    fn a_split_leaves_at_least_half_on_the_larger_side() {
        let mut rng = Stream::new(3, "t", 0);
        for n in 3..=7 {
            let cuts = TopologyKind::Split.draw(n, &mut rng);
            let cut_off = (0..n).filter(|&a| cuts.iter().any(|&(x, _)| x == a));
            assert!(cut_off.count() >= 2, "n={n}");
        }
    }
}
