//! The network side, on tokio: one listener for peers and clients, one outgoing connection
//! per peer. Everything that arrives becomes an [`Input`] on the node's inbox (a channel to
//! the driver's thread); what the node sends goes through an [`Outbox`].
//!
//! Raft tolerates lost messages, so the network side never blocks the node: a peer that is
//! down or slow has its queue of messages dropped (the leader resends at the next heartbeat).

use crate::protocol::{self, ClientRequest, Hello, Reply};
use raft_core::{Message, NodeId};
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

/// Messages waiting for one peer's connection; beyond this they are dropped.
const PEER_QUEUE: usize = 4096;
/// How long to wait before connecting again to a peer that refused.
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// Something for the node.
pub enum Input {
    /// A Raft message from a peer.
    Peer {
        /// Who sent it (as it said in its `Hello`).
        from: NodeId,
        /// The message.
        message: Message,
    },
    /// A client's command; the driver answers on `reply` once it is executed (or cannot be).
    Client {
        /// The command.
        command: protocol::Command,
        /// Where the answer goes.
        reply: oneshot::Sender<Reply>,
    },
    /// A client asks for the node's state.
    Status {
        /// Where the answer goes.
        reply: oneshot::Sender<Reply>,
    },
}

/// The node's way out: one queue per peer.
pub struct Outbox {
    queues: Vec<(NodeId, mpsc::Sender<Message>)>,
}

impl Outbox {
    /// Queues `message` for `to`, or drops it if the queue is full (a lost message).
    pub fn send(&self, to: NodeId, message: Message) {
        if let Some((_, queue)) = self.queues.iter().find(|(id, _)| *id == to) {
            let _ = queue.try_send(message);
        }
    }
}

/// Starts the listener and one connection task per peer on `runtime`.
pub fn start(
    runtime: &Runtime,
    me: NodeId,
    cluster: &[(NodeId, SocketAddr)],
    listener: TcpListener,
    inbox: Sender<Input>,
) -> Outbox {
    let mut queues = Vec::new();
    for &(id, addr) in cluster.iter().filter(|(id, _)| *id != me) {
        let (sender, receiver) = mpsc::channel(PEER_QUEUE);
        runtime.spawn(send_to_peer(me, addr, receiver));
        queues.push((id, sender));
    }
    let peers: Vec<NodeId> = cluster.iter().map(|(id, _)| *id).collect();
    runtime.spawn(accept(listener, peers, inbox));
    Outbox { queues }
}

/// Keeps a connection to the peer at `addr` and writes its messages, reconnecting as needed.
async fn send_to_peer(me: NodeId, addr: SocketAddr, mut queue: mpsc::Receiver<Message>) {
    let hello = protocol::encode(&Hello::Peer { id: me.0 });
    loop {
        let connected = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr));
        let Ok(Ok(stream)) = connected.await else {
            while queue.try_recv().is_ok() {} // stale by the time the peer is back
            tokio::time::sleep(RECONNECT_PAUSE).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut writer = BufWriter::new(stream);
        match pump(&mut writer, &hello, &mut queue).await {
            Ok(()) => return, // the node is gone
            Err(_) => continue,
        }
    }
}

/// Writes the hello, then every queued message, flushing whenever the queue runs dry.
async fn pump(
    writer: &mut BufWriter<TcpStream>,
    hello: &[u8],
    queue: &mut mpsc::Receiver<Message>,
) -> io::Result<()> {
    protocol::write_frame(writer, hello).await?;
    writer.flush().await?;
    let mut buf = Vec::new();
    while let Some(message) = queue.recv().await {
        let mut next = Some(message);
        while let Some(message) = next {
            buf.clear();
            message.encode_into(&mut buf);
            protocol::write_frame(writer, &buf).await?;
            next = queue.try_recv().ok();
        }
        writer.flush().await?;
    }
    Ok(())
}

async fn accept(listener: TcpListener, peers: Vec<NodeId>, inbox: Sender<Input>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await; // out of descriptors, say
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(stream, peers.clone(), inbox.clone()));
    }
}

/// Serves one incoming connection, as its `Hello` says. A connection that breaks the protocol
/// is closed; nothing it sent reaches the node.
async fn serve(stream: TcpStream, peers: Vec<NodeId>, inbox: Sender<Input>) -> io::Result<()> {
    let (reader, writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let Some(frame) = protocol::read_frame(&mut reader).await? else {
        return Ok(());
    };
    match protocol::decode(&frame)? {
        Hello::Peer { id } if peers.contains(&NodeId(id)) => {
            serve_peer(reader, NodeId(id), inbox).await
        }
        Hello::Client => serve_client(reader, BufWriter::new(writer), inbox).await,
        Hello::Peer { id } => Err(protocol::invalid(format!("unknown peer {id}"))),
    }
}

async fn serve_peer(
    mut reader: BufReader<OwnedReadHalf>,
    from: NodeId,
    inbox: Sender<Input>,
) -> io::Result<()> {
    while let Some(frame) = protocol::read_frame(&mut reader).await? {
        let message = Message::decode(&frame)
            .map_err(|e| protocol::invalid(format!("from node {}: {e}", from.0)))?;
        if inbox.send(Input::Peer { from, message }).is_err() {
            return Ok(()); // the node stopped
        }
    }
    Ok(())
}

/// One request at a time: read it, hand it to the node, write the answer. A client that hangs
/// up while its request is in the log is let go (its command may still be executed).
async fn serve_client(
    mut reader: BufReader<OwnedReadHalf>,
    mut writer: BufWriter<tokio::net::tcp::OwnedWriteHalf>,
    inbox: Sender<Input>,
) -> io::Result<()> {
    while let Some(frame) = protocol::read_frame(&mut reader).await? {
        let (reply, answer) = oneshot::channel();
        let input = match protocol::decode(&frame)? {
            ClientRequest::Command(command) => Input::Client { command, reply },
            ClientRequest::Status => Input::Status { reply },
        };
        if inbox.send(input).is_err() {
            return Ok(());
        }
        let reply = tokio::select! {
            reply = answer => reply.unwrap_or(Reply::Retry),
            _ = reader.fill_buf() => return Ok(()), // hung up (or sent before its answer)
        };
        protocol::write_frame(&mut writer, &protocol::encode(&reply)).await?;
        writer.flush().await?;
    }
    Ok(())
}
