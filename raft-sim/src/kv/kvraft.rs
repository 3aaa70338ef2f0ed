//! The 2024 key/value service (`kvraft`): Get, Put and Append, each write performed exactly
//! once however often its clerk resends it.
//!
//! Every clerk has a random 62-bit id and numbers its writes 1, 2, 3, …; it has at most one
//! request outstanding, so a request also tells the servers that the clerk saw the answer to
//! every earlier one. The state machine therefore keeps just the last number it performed
//! for each clerk, and skips a write it has already performed; that table is part of the
//! snapshot, so a restart or an installed snapshot does not forget it. Gets go through the log
//! too, so a leader cut off in a minority cannot answer with a stale value; or, with ReadIndex,
//! through Raft's read index (see `rsm::read`).

use super::labrpc::{self, Ends};
use super::rpc::KvErr;
use super::rsm::{self, with_rsm, StateMachine};
use super::{Bug, RETRY_MS};
use crate::tester::Tester;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A write's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteOp {
    /// Replace the value.
    Put,
    /// Append to the value.
    Append,
}

/// A request in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Read `key`.
    Get {
        /// The key.
        key: String,
    },
    /// Write `value` to `key`: write number `seq` of clerk `client`.
    Write {
        /// Put or Append.
        op: WriteOp,
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The clerk's id.
        client: u64,
        /// The clerk's number for this write.
        seq: u64,
    },
}

/// The state machine: the data, and the last write performed for each clerk.
#[derive(Debug, Default)]
pub struct KvServer {
    data: BTreeMap<String, String>,
    last_write: BTreeMap<u64, u64>,
    /// [`Bug::ReapplyDuplicates`]: ignore `last_write`.
    reapply: bool,
}

impl KvServer {
    /// An empty store; `bug` plants a deliberate bug.
    pub fn new(bug: Option<Bug>) -> KvServer {
        KvServer {
            reapply: bug == Some(Bug::ReapplyDuplicates),
            ..KvServer::default()
        }
    }

    /// The value of `key` in this replica's own state.
    pub fn local_get(&self, key: &str) -> Option<&String> {
        self.data.get(key)
    }
}

impl StateMachine for KvServer {
    type Request = Request;
    /// A Get's value (`None`: no such key); writes answer `None`.
    type Reply = Option<String>;

    fn do_op(&mut self, request: Request) -> Result<Option<String>, String> {
        match request {
            Request::Get { key } => Ok(self.data.get(&key).cloned()),
            Request::Write {
                op,
                key,
                value,
                client,
                seq,
            } => {
                let seen = self
                    .last_write
                    .get(&client)
                    .is_some_and(|&last| seq <= last);
                if !seen || self.reapply {
                    self.last_write.insert(client, seq);
                    let slot = self.data.entry(key).or_default();
                    match op {
                        WriteOp::Put => *slot = value,
                        WriteOp::Append => slot.push_str(&value),
                    }
                }
                Ok(None)
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_stdvec(&(&self.data, &self.last_write)).expect("encoding cannot fail")
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        let (kv, last) = postcard::from_bytes(data).map_err(|e| e.to_string())?;
        self.data = kv;
        self.last_write = last;
        Ok(())
    }
}

/// The reply to Get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetReply {
    /// `OK`, `ErrNoKey` or `ErrWrongLeader`.
    pub err: KvErr,
    /// The value (empty if none).
    pub value: String,
}

/// The server's `Get` handler.
pub async fn get(t: &Tester, server: usize, key: String) -> GetReply {
    let stale = with_rsm(t, |rsm: &mut rsm::Rsm<KvServer>| {
        (rsm.bug() == Some(Bug::StaleReads))
            .then(|| {
                rsm.state_machine(server)
                    .map(|m| m.local_get(&key).cloned())
            })
            .flatten()
    });
    let result = match stale {
        Some(value) => Ok(value),
        None if rsm::reads_skip_the_log(t) => {
            rsm::read::<KvServer, _>(t, server, |m| m.local_get(&key).cloned()).await
        }
        None => rsm::submit::<KvServer>(t, server, Request::Get { key }).await,
    };
    match result {
        Ok(Some(value)) => GetReply {
            err: KvErr::OK,
            value,
        },
        Ok(None) => GetReply {
            err: KvErr::ErrNoKey,
            value: String::new(),
        },
        Err(err) => GetReply {
            err,
            value: String::new(),
        },
    }
}

/// The server's `PutAppend` handler.
pub async fn put_append(t: &Tester, server: usize, request: Request) -> KvErr {
    match rsm::submit::<KvServer>(t, server, request).await {
        Ok(_) => KvErr::OK,
        Err(err) => err,
    }
}

/// A 2024 clerk.
pub struct Clerk {
    ends: Rc<Ends>,
    /// The servers in the order of the clerk's (shuffled) ends.
    servers: Vec<usize>,
    /// The position in `servers` of the last server that answered.
    leader: Cell<usize>,
    id: u64,
    seq: Cell<u64>,
}

impl Clerk {
    /// A clerk with id `id` calling `servers` (the tester's shuffled handles) over `ends`.
    pub fn new(ends: Rc<Ends>, servers: Vec<usize>, id: u64) -> Clerk {
        Clerk {
            ends,
            servers,
            leader: Cell::new(0),
            id,
            seq: Cell::new(0),
        }
    }

    /// The clerk's ends.
    pub fn ends(&self) -> &Rc<Ends> {
        &self.ends
    }

    /// The current value of `key` ("" if none); keeps trying forever.
    pub async fn get(&self, t: &Tester, key: &str) -> String {
        loop {
            for _ in 0..self.servers.len() {
                let server = self.servers[self.leader.get()];
                let handler = get(t, server, key.to_string());
                let reply = labrpc::call(t, &self.ends, server, "KVServer.Get", handler).await;
                match reply {
                    Some(r) if matches!(r.err, KvErr::OK | KvErr::ErrNoKey) => return r.value,
                    _ => self.next_server(),
                }
            }
            t.sleep(RETRY_MS).await;
        }
    }

    /// `Put(key, value)`.
    pub async fn put(&self, t: &Tester, key: &str, value: &str) {
        self.write(t, WriteOp::Put, key, value).await;
    }

    /// `Append(key, value)`.
    pub async fn append(&self, t: &Tester, key: &str, value: &str) {
        self.write(t, WriteOp::Append, key, value).await;
    }

    async fn write(&self, t: &Tester, op: WriteOp, key: &str, value: &str) {
        self.seq.set(self.seq.get() + 1);
        let request = Request::Write {
            op,
            key: key.to_string(),
            value: value.to_string(),
            client: self.id,
            seq: self.seq.get(),
        };
        loop {
            for _ in 0..self.servers.len() {
                let server = self.servers[self.leader.get()];
                let handler = put_append(t, server, request.clone());
                let reply =
                    labrpc::call(t, &self.ends, server, "KVServer.PutAppend", handler).await;
                if reply == Some(KvErr::OK) {
                    return;
                }
                self.next_server();
            }
            t.sleep(RETRY_MS).await;
        }
    }

    fn next_server(&self) {
        self.leader
            .set((self.leader.get() + 1) % self.servers.len());
    }
}
