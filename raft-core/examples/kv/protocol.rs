//! The wire: every TCP connection carries length-prefixed frames (a 4-byte little-endian
//! length, then that many bytes). The first frame says who is calling ([`Hello`]); after it a
//! peer sends Raft messages (`raft_core::Message::encode`), a client sends [`ClientRequest`]s
//! and reads one [`Reply`] to each, in order. Everything but the Raft messages is postcard.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest frame either side accepts: room for an `InstallSnapshot` of a large state,
/// small enough that a corrupt length cannot make a reader allocate without bound.
pub const MAX_FRAME: usize = 64 << 20;

/// The first frame of a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Hello {
    /// Another server of the cluster, by id. (On loopback we take its word for it; across
    /// machines a real deployment would authenticate peers, e.g. with TLS.)
    Peer {
        /// The sender's node id.
        id: u64,
    },
    /// A client.
    Client,
}

/// What a client can ask of the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// The key's value ("" if it has none).
    Get {
        /// The key.
        key: String,
    },
    /// Replace the key's value.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Append to the key's value.
    Append {
        /// The key.
        key: String,
        /// What to append.
        value: String,
    },
}

/// One operation of one client: also the command the replicated log holds. `(client, seq)`
/// names it, so a request resent after a lost reply is executed once (the service keeps the
/// highest `seq` it executed per client).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The client's id, drawn at random when the client starts.
    pub client: u64,
    /// The client's number for this operation; each new operation takes the next one.
    pub seq: u64,
    /// What to do.
    pub op: Op,
}

/// A frame from a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientRequest {
    /// Execute a command (a leader only).
    Command(Command),
    /// Report the server's Raft state (any server).
    Status,
}

/// A server's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The command was executed; a `Get` returns the value, writes "".
    Done {
        /// The value read.
        value: String,
    },
    /// This server does not lead; try the one named, if any.
    NotLeader {
        /// The leader this server knows of.
        leader: Option<u64>,
    },
    /// The server lost track of the command (it stopped leading, or another entry took the
    /// command's place): the outcome is unknown, resend it with the same `seq`.
    Retry,
    /// The answer to [`ClientRequest::Status`].
    Status(Status),
}

/// A server's Raft state, for clients, tests and people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Its node id.
    pub id: u64,
    /// Its current term.
    pub term: u64,
    /// Whether it leads that term.
    pub leader: bool,
    /// The leader it knows of.
    pub leader_hint: Option<u64>,
    /// Its commit index.
    pub commit: u64,
    /// The index of its last log entry.
    pub last_index: u64,
    /// The index its snapshot covers.
    pub snapshot_index: u64,
}

/// Postcard bytes of `value`.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("encoding into a Vec cannot fail")
}

/// `bytes` decoded as a `T`, or an `InvalidData` error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(|e| invalid(format!("undecodable frame: {e}")))
}

/// An `InvalidData` I/O error saying `why`.
pub fn invalid(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// Reads one frame; `None` if the other side closed the connection between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 4];
    match reader.read_exact(&mut length).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = u32::from_le_bytes(length) as usize;
    if length > MAX_FRAME {
        return Err(invalid(format!(
            "a frame of {length} bytes exceeds {MAX_FRAME}"
        )));
    }
    let mut payload = vec![0; length];
    reader.read_exact(&mut payload).await?;
    Ok(Some(payload))
}

/// `payload` as one frame: its length, then the bytes.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut framed = (payload.len() as u32).to_le_bytes().to_vec();
    framed.extend_from_slice(payload);
    framed
}

/// Writes one frame (buffered writers need a flush after).
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, payload: &[u8]) -> io::Result<()> {
    if payload.len() > MAX_FRAME {
        return Err(invalid(format!(
            "a frame of {} bytes exceeds {MAX_FRAME}",
            payload.len()
        )));
    }
    writer
        .write_all(&(payload.len() as u32).to_le_bytes())
        .await?;
    writer.write_all(payload).await
}
