//! A clerk's side of the labrpc network: its ends to the servers, and `Call`.
//!
//! Each clerk has one end per server, enabled or not; the servers' connect, disconnect and
//! partition operations never touch them (only the clerk-specific calls of the tests do), and
//! they are bound to the server's name, so after a restart they reach the new incarnation.
//!
//! A call follows labrpc: it is counted; an unreachable server fails it after
//! 0–99 ms; an unreliable network delays the request 0–26 ms and may drop it; the handler
//! runs on the server; while it waits (e.g. for its entry to commit), every 100 ms the call
//! checks whether its end was disabled or the server killed, and fails if so; when the handler
//! returns the same check is made, and an unreliable network may drop the reply. There is no
//! other time-out: a handler stuck on a leader cut off in a minority keeps its clerk waiting.

use crate::executor::{race, Either};
use crate::network::ClerkFate;
use crate::tester::Tester;
use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::future::Future;
use std::pin::pin;

/// How often a call waiting for its handler checks that the server is still there.
pub const LIVENESS_POLL_MS: u64 = 100;

/// One clerk's ends, one per server.
#[derive(Debug)]
pub struct Ends {
    /// A label for the trace.
    clerk: u64,
    enabled: RefCell<Vec<bool>>,
    deleted: Cell<bool>,
}

impl Ends {
    /// Ends to `n` servers, those in `to` enabled; `clerk` labels the trace lines.
    pub fn new(n: usize, clerk: u64, to: &[usize]) -> Ends {
        let ends = Ends {
            clerk,
            enabled: RefCell::new(vec![false; n]),
            deleted: Cell::new(false),
        };
        ends.enable(to);
        ends
    }

    /// Enables the ends to `servers` (2024 `ConnectClient`).
    pub fn enable(&self, servers: &[usize]) {
        let mut enabled = self.enabled.borrow_mut();
        for &i in servers {
            enabled[i] = true;
        }
    }

    /// Enables every end (2025 `Clnt.ConnectAll`).
    pub fn enable_all(&self) {
        self.enabled.borrow_mut().fill(true);
    }

    /// Removes the ends from the network (2025 `DeleteClerk`): later calls fail.
    pub fn delete(&self) {
        self.deleted.set(true);
    }

    /// Whether the end to `server` is enabled.
    pub fn is_enabled(&self, server: usize) -> bool {
        !self.deleted.get() && self.enabled.borrow()[server]
    }

    /// The trace label.
    pub fn clerk(&self) -> u64 {
        self.clerk
    }
}

/// labrpc's `Call`: sends a request over `ends` to `server`, where `handler` answers it.
/// `None` is labrpc's `false`: the request or its reply was lost, the server unreachable, or
/// it died while the handler ran. The handler is not started unless the request arrives.
pub async fn call<R: Debug>(
    t: &Tester,
    ends: &Ends,
    server: usize,
    method: &str,
    handler: impl Future<Output = R>,
) -> Option<R> {
    let (fate, target) = {
        let mut world = t.world();
        let target = world
            .network()
            .endpoint(server)
            .filter(|_| ends.is_enabled(server));
        (world.network_mut().clerk_call(target.is_some()), target)
    };
    let reliable = match fate {
        ClerkFate::Unreachable(after) | ClerkFate::Dropped(after) => {
            t.sleep_for(after).await;
            return None;
        }
        ClerkFate::Delivered { delay, reliable } => {
            t.sleep_for(delay).await;
            reliable
        }
    };
    // The request was addressed to the incarnation that was up when the call started.
    let dead = || !ends.is_enabled(server) || t.world().network().endpoint(server) != target;
    if dead() {
        return None;
    }
    note(t, ends, server, method, "->");
    let mut handler = pin!(handler);
    let reply = loop {
        match race(handler.as_mut(), t.sleep(LIVENESS_POLL_MS)).await {
            Either::Left(reply) => break reply,
            Either::Right(()) if dead() => {
                note(t, ends, server, method, "x (server gone)");
                return None;
            }
            Either::Right(()) => {}
        }
    };
    let delay = if dead() {
        None
    } else {
        t.world().network_mut().clerk_reply(reliable)
    };
    let Some(delay) = delay else {
        note(t, ends, server, method, "x (reply lost)");
        return None;
    };
    t.sleep_for(delay).await;
    let mut answer = format!("<- {reply:?}");
    if answer.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|&i| answer.is_char_boundary(i))
            .unwrap_or(0);
        answer.truncate(cut);
        answer.push('…');
    }
    note(t, ends, server, method, &answer);
    Some(reply)
}

fn note(t: &Tester, ends: &Ends, server: usize, method: &str, what: &str) {
    let mut world = t.world();
    let now = world.now();
    world.trace_note(
        now,
        format_args!("c{} s{server} {method} {what}", ends.clerk()),
    );
}
