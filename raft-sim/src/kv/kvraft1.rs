//! The 2025 key/value service (`kvraft1`): Get, and Put conditional on the key's version.
//!
//! The state is key → (value, version). `Put(k, v, ver)` writes when `ver` is the key's
//! version (or the key is new and `ver` is 0) and bumps the version; otherwise it answers
//! `ErrVersion` (or `ErrNoKey` for a missing key). Performing a Put twice is therefore
//! harmless, and servers need no duplicate table. The clerk cannot tell whether a resent Put
//! that failed its version check was performed by an earlier attempt, so it answers
//! `ErrMaybe` then.

use super::labrpc::{self, Ends};
use super::rpc::KvErr;
use super::rsm::{self, with_rsm, StateMachine};
use super::{Bug, RETRY_MS};
use crate::tester::Tester;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A request in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Read `key`.
    Get {
        /// The key.
        key: String,
    },
    /// Write `value` to `key` if its version is `version`.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The version the writer saw.
        version: u64,
    },
}

/// The result of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The value read (Get).
    pub value: String,
    /// The version read (Get).
    pub version: u64,
    /// `OK`, `ErrNoKey` or `ErrVersion`.
    pub err: KvErr,
}

/// The state machine: key → (value, version).
#[derive(Debug, Default)]
pub struct KvServer {
    data: BTreeMap<String, (String, u64)>,
    /// [`Bug::ReapplyDuplicates`]: Put ignores the version of an existing key.
    blind_puts: bool,
}

impl KvServer {
    /// An empty store; `bug` plants a deliberate bug.
    pub fn new(bug: Option<Bug>) -> KvServer {
        KvServer {
            blind_puts: bug == Some(Bug::ReapplyDuplicates),
            ..KvServer::default()
        }
    }

    /// `Get` on this replica's own state.
    pub fn local_get(&self, key: &str) -> Reply {
        match self.data.get(key) {
            Some((value, version)) => Reply {
                value: value.clone(),
                version: *version,
                err: KvErr::OK,
            },
            None => Reply {
                value: String::new(),
                version: 0,
                err: KvErr::ErrNoKey,
            },
        }
    }

    fn put(&mut self, key: String, value: String, version: u64) -> KvErr {
        match self.data.get_mut(&key) {
            Some(slot) if slot.1 == version || self.blind_puts => {
                *slot = (value, slot.1 + 1);
                KvErr::OK
            }
            Some(_) => KvErr::ErrVersion,
            None if version == 0 => {
                self.data.insert(key, (value, 1));
                KvErr::OK
            }
            None => KvErr::ErrNoKey,
        }
    }
}

impl StateMachine for KvServer {
    type Request = Request;
    type Reply = Reply;

    fn do_op(&mut self, request: Request) -> Result<Reply, String> {
        Ok(match request {
            Request::Get { key } => self.local_get(&key),
            Request::Put {
                key,
                value,
                version,
            } => Reply {
                value: String::new(),
                version: 0,
                err: self.put(key, value, version),
            },
        })
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_stdvec(&self.data).expect("encoding cannot fail")
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        self.data = postcard::from_bytes(data).map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// The server's `Get` and `Put` handlers: submit the request, convert the result.
pub async fn handle(t: &Tester, server: usize, request: Request) -> Reply {
    if let Request::Get { key } = &request {
        let stale = with_rsm(t, |rsm: &mut rsm::Rsm<KvServer>| {
            (rsm.bug() == Some(Bug::StaleReads))
                .then(|| rsm.state_machine(server).map(|m| m.local_get(key)))
                .flatten()
        });
        if let Some(reply) = stale {
            return reply;
        }
        if rsm::reads_skip_the_log(t) {
            let key = key.clone();
            let read = rsm::read::<KvServer, _>(t, server, |m| m.local_get(&key)).await;
            return read.unwrap_or_else(|err| Reply {
                value: String::new(),
                version: 0,
                err,
            });
        }
    }
    match rsm::submit::<KvServer>(t, server, request).await {
        Ok(reply) => reply,
        Err(err) => Reply {
            value: String::new(),
            version: 0,
            err,
        },
    }
}

/// A 2025 clerk: servers in index order, remembering the last one that answered.
pub struct Clerk {
    ends: Rc<Ends>,
    n: usize,
    leader: Cell<usize>,
}

impl Clerk {
    /// A clerk calling `n` servers over `ends`.
    pub fn new(ends: Rc<Ends>, n: usize) -> Clerk {
        Clerk {
            ends,
            n,
            leader: Cell::new(0),
        }
    }

    /// The clerk's ends.
    pub fn ends(&self) -> &Rc<Ends> {
        &self.ends
    }

    /// `Get(key)`: (value, version, `OK`) or ("", 0, `ErrNoKey`); keeps trying otherwise.
    pub async fn get(&self, t: &Tester, key: &str) -> (String, u64, KvErr) {
        let request = Request::Get {
            key: key.to_string(),
        };
        let (reply, _) = self.until_answered(t, "KVServer.Get", &request).await;
        (reply.value, reply.version, reply.err)
    }

    /// `Put(key, value, version)`: `OK`, `ErrNoKey`, `ErrVersion` if the first attempt failed
    /// its version check, or `ErrMaybe` if a later one did (an earlier attempt may have been
    /// performed).
    pub async fn put(&self, t: &Tester, key: &str, value: &str, version: u64) -> KvErr {
        let request = Request::Put {
            key: key.to_string(),
            value: value.to_string(),
            version,
        };
        match self.until_answered(t, "KVServer.Put", &request).await {
            (reply, attempts) if reply.err == KvErr::ErrVersion && attempts > 1 => KvErr::ErrMaybe,
            (reply, _) => reply.err,
        }
    }

    /// Calls servers, starting with the last one that answered, until one answers anything
    /// but `ErrWrongLeader`. Returns the answer and how many calls it took.
    async fn until_answered(&self, t: &Tester, method: &str, request: &Request) -> (Reply, u64) {
        let mut attempts = 0;
        loop {
            for _ in 0..self.n {
                let server = self.leader.get();
                attempts += 1;
                let handler = handle(t, server, request.clone());
                match labrpc::call(t, &self.ends, server, method, handler).await {
                    Some(reply) if reply.err != KvErr::ErrWrongLeader => return (reply, attempts),
                    _ => self.leader.set((server + 1) % self.n),
                }
            }
            t.sleep(RETRY_MS).await;
        }
    }
}
