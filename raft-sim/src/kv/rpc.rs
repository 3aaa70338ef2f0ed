//! The answers a key/value server gives (the lab's `rpc.Err` strings).

use serde::{Deserialize, Serialize};

/// An RPC's error, `OK` when it worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum KvErr {
    /// It worked.
    OK,
    /// The key does not exist.
    ErrNoKey,
    /// (2025) The Put's version does not match the key's.
    ErrVersion,
    /// (2025, clerk only) A resent Put failed its version check: an earlier attempt may have
    /// been performed.
    ErrMaybe,
    /// The server is not the leader (or lost leadership before the request committed).
    ErrWrongLeader,
}
