//! # raft-sim
//!
//! A deterministic discrete-event simulator for [`raft_core`]: seeded, virtual-time clusters
//! on the MIT 6.5840 lab's network model (drops, delays, long reordering, partitions, crashes
//! and restarts), with the lab's persister and tester, and the lab's Raft test suite.
//!
//! One `u64` seed derives every random draw, so a run replays bit for bit; see
//! [`runner::run`] and [`Outcome::digest`](runner::Outcome::digest). A run's events can be
//! written as text or JSON lines ([`trace`]) and drawn as an HTML timeline ([`timeline`]).
//!
//! Beyond the lab: the [`checkers`] (Raft's safety properties, checked from outside the nodes on
//! every event of every run), the [`swarm`] (a different cluster and fault mix per seed, a
//! liveness phase, shrinking), and crash consistency in the [`persister`] (torn writes).
//!
//! `docs/lab-harness.md` (in this package) describes what is modelled of the lab's harness.
//! The `raft-sim` binary's dependencies come with the default `cli` feature; a library user can
//! turn default features off and get none of them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod applier;
pub mod checkers;
mod checks;
pub mod executor;
pub mod features;
pub mod kv;
pub mod lab;
pub mod linearizability;
pub mod network;
pub mod persister;
pub mod reads;
pub mod rng;
pub mod runner;
pub mod scenarios;
pub mod seeds;
pub mod service;
pub mod swarm;
pub mod tester;
pub mod timeline;
pub mod trace;
pub mod value;
pub mod world;

pub use features::Features;
pub use lab::LabTest;
pub use runner::{run, Outcome};
pub use tester::{CheckReplay, CheckSink, Failure, Setup, Stats, TestResult, Tester};
pub use value::Value;
pub use world::{Edition, SimTime};
