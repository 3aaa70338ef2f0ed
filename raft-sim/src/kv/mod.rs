//! The lab's key/value service (Lab 4) on raft-core: the part the students write.
//!
//! Both editions' servers sit on one replicated-state-machine layer ([`rsm`], the 2025 lab's
//! design): a request is proposed to Raft with a unique id, executed by every server's state
//! machine when it commits, and its result handed back to the request waiting on the leader.
//! On top of it:
//! - [`kvraft`] (2024): Get/Put/Append; each clerk numbers its writes, and the state machine
//!   keeps the last number per clerk, so a write resent after a lost reply runs once.
//! - [`kvraft1`] (2025): Get and a Put conditional on the key's version; a resent Put that
//!   fails its version check makes the clerk answer `ErrMaybe`.
//!
//! Clerks call servers over the simulated labrpc network ([`labrpc`]), with its drops,
//! delays and partitions, and retry like real clients: on a failed call or a wrong leader
//! they try the next server, and after a round without success they wait 100 ms.
//! Everything runs in virtual time as tasks of the test's executor; a request waiting for its
//! entry to commit is a suspended task, not a thread.

pub mod kvraft;
pub mod kvraft1;
pub mod labrpc;
pub mod rpc;
pub mod rsm;

pub use rsm::{Rsm, StateMachine};

/// A deliberate bug in the service, to show that the lab's tests catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    /// Servers answer Get from their own state at once, without going through Raft, even
    /// as followers: reads can be stale.
    StaleReads,
    /// A write resent after a lost reply is performed again: 2024's duplicate table is
    /// ignored, and 2025's Put skips its version check when the key exists.
    ReapplyDuplicates,
}

/// How long a clerk waits after trying every server without success.
pub const RETRY_MS: u64 = 100;
