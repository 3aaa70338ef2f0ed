//! A client: finds the leader, resends until it gets an answer or its deadline passes.
//!
//! Each operation gets the next sequence number of this client's random id; resending the
//! same `(client, seq)` is harmless (the service executes a write once). The client tries the
//! server it believes leads, follows a `NotLeader` hint, and moves to the next server on a
//! broken connection, a timeout or a redirection without a hint, pausing after each round
//! of the cluster without an answer.

#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // real time, real randomness

use crate::protocol::{self, ClientRequest, Command, Hello, Op, Reply, Status};
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// How long a client waits.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// For one server's answer, before trying another. A leader that lost its majority never
    /// answers; this is what moves the client on.
    pub attempt: Duration,
    /// For the operation as a whole; after it, the outcome is unknown.
    pub deadline: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            attempt: Duration::from_secs(1),
            deadline: Duration::from_secs(10),
        }
    }
}

/// Pause after a round of the whole cluster without an answer.
const ROUND_PAUSE: Duration = Duration::from_millis(50);

/// One client: at most one operation at a time.
pub struct Client {
    servers: Vec<(u64, SocketAddr)>,
    connections: Vec<Option<TcpStream>>,
    leader: usize,
    id: u64,
    seq: u64,
    timeouts: Timeouts,
}

impl Client {
    /// A client of the cluster `servers` (ids and addresses), with a random id.
    pub fn new(servers: Vec<(u64, SocketAddr)>, timeouts: Timeouts) -> Client {
        let id = RandomState::new().hash_one(std::process::id());
        Client {
            connections: servers.iter().map(|_| None).collect(),
            leader: (id % servers.len() as u64) as usize, // until a server names the leader
            servers,
            id,
            seq: 0,
            timeouts,
        }
    }

    /// This client's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Executes `op` and returns its result (a `Get`'s value, "" for a write). An `Err` means
    /// no answer came before the deadline: the operation may or may not have taken effect.
    pub async fn execute(&mut self, op: Op) -> Result<String, String> {
        self.seq += 1;
        let command = Command {
            client: self.id,
            seq: self.seq,
            op,
        };
        let request = protocol::encode(&ClientRequest::Command(command));
        let deadline = Instant::now() + self.timeouts.deadline;
        let mut attempts = 0usize;
        while Instant::now() < deadline {
            let target = self.leader;
            match self.ask(target, &request).await {
                Ok(Reply::Done { value }) => return Ok(value),
                Ok(Reply::NotLeader { leader: Some(hint) })
                    if self.position(hint).is_some_and(|i| i != target) =>
                {
                    self.leader = self.position(hint).unwrap_or(target);
                }
                Ok(Reply::Retry) => {} // the same server may lead again, or will redirect
                _ => self.leader = (target + 1) % self.servers.len(),
            }
            attempts += 1;
            if attempts.is_multiple_of(self.servers.len()) {
                tokio::time::sleep(ROUND_PAUSE).await;
            }
        }
        Err(format!(
            "client {:x} seq {}: no answer within {:?}",
            self.id, self.seq, self.timeouts.deadline
        ))
    }

    fn position(&self, id: u64) -> Option<usize> {
        self.servers.iter().position(|&(server, _)| server == id)
    }

    /// One request to one server, within the attempt timeout. On any failure the connection
    /// is dropped, so a late answer can never be taken for the next request's.
    async fn ask(&mut self, target: usize, request: &[u8]) -> io::Result<Reply> {
        let addr = self.servers[target].1;
        let slot = &mut self.connections[target];
        let exchange = async {
            if slot.is_none() {
                *slot = Some(connect(addr).await?);
            }
            let stream = slot.as_mut().expect("connected above");
            request_reply(stream, request).await
        };
        let result = match tokio::time::timeout(self.timeouts.attempt, exchange).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "no answer")),
        };
        if result.is_err() {
            self.connections[target] = None;
        }
        result
    }
}

/// A client connection to `addr`, hello sent.
async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let hello = protocol::encode(&Hello::Client);
    stream.write_all(&protocol::frame(&hello)).await?;
    Ok(stream)
}

/// Sends one request frame and reads the reply frame.
async fn request_reply(stream: &mut TcpStream, request: &[u8]) -> io::Result<Reply> {
    stream.write_all(&protocol::frame(request)).await?;
    match protocol::read_frame(stream).await? {
        Some(frame) => protocol::decode(&frame),
        None => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed",
        )),
    }
}

/// The Raft state of the server at `addr`.
pub async fn status(addr: SocketAddr, timeout: Duration) -> io::Result<Status> {
    let exchange = async {
        let mut stream = connect(addr).await?;
        match request_reply(&mut stream, &protocol::encode(&ClientRequest::Status)).await? {
            Reply::Status(status) => Ok(status),
            other => Err(protocol::invalid(format!("not a status: {other:?}"))),
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "no status")))
}
