//! Builds a timeline's [`Model`] from a run's events, as a trace [`Sink`].

use super::model::{Arrow, Failure, Lane, Mark, Model, Span};
use crate::trace::{Event, Field, Sink};
use crate::world::SimTime;
use raft_core::{PersistChange, RoleKind};
use std::collections::VecDeque;
use std::io;

/// What is known of one server as the run goes.
#[derive(Clone, Debug)]
struct Server {
    alive: bool,
    connected: bool,
    role: RoleKind,
    term: u64,
    /// Since when the current role and term (if alive), or the downtime (if not), hold.
    since: SimTime,
    /// The isolation shown now, and since when.
    isolation: Option<(SimTime, String)>,
    /// Whether this server ever started (a lane is down only after a first start).
    started: bool,
}

impl Default for Server {
    fn default() -> Server {
        Server {
            alive: false,
            connected: false,
            role: RoleKind::Follower,
            term: 0,
            since: 0,
            isolation: None,
            started: false,
        }
    }
}

/// A trace sink that draws nothing yet: it gathers what a timeline shows. Add it to a run's
/// [`Trace`](crate::trace::Trace) (shared, as `Rc<RefCell<Recorder>>`), then take the
/// [`Model`] when the run is over.
#[derive(Debug, Default)]
pub struct Recorder {
    model: Model,
    servers: Vec<Server>,
    cuts: Vec<(usize, usize)>,
    topology: Option<(SimTime, String)>,
    arrows: VecDeque<Arrow>,
    notes: VecDeque<(SimTime, String)>,
    finished: bool,
}

impl Recorder {
    /// A recorder that has seen nothing.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// What was gathered (complete once the trace has finished).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Whether the trace has finished (and every span is closed).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Takes what was gathered, leaving an empty model.
    pub fn take_model(&mut self) -> Model {
        std::mem::take(&mut self.model)
    }

    fn lane(&mut self, server: usize) -> &mut Lane {
        if self.model.lanes.len() <= server {
            self.model.lanes.resize_with(server + 1, Lane::default);
            self.servers.resize_with(server + 1, Server::default);
        }
        &mut self.model.lanes[server]
    }

    fn record(&mut self, now: SimTime, event: &Event<'_>) {
        self.model.end = self.model.end.max(now);
        if let Some(server) = event.server() {
            self.lane(server);
        }
        match *event {
            Event::Note(text) => {
                push_capped(&mut self.notes, (now, text.to_string()), Model::MAX_NOTES);
            }
            Event::Start {
                server,
                term,
                commit,
                ..
            } => self.start(now, server, term.0, commit.0),
            Event::Crash { server } => self.crash(now, server),
            Event::Connect { server } | Event::Disconnect { server } => {
                self.servers[server].connected = matches!(event, Event::Connect { .. });
                self.isolation(now, server);
            }
            Event::Topology { name, cuts } => self.topology(now, name, cuts),
            Event::Fail { why, invariant } => {
                self.model.failure.get_or_insert(Failure {
                    at: now,
                    invariant,
                    why: why.to_string(),
                });
            }
            Event::Deliver { .. } | Event::Drop { .. } => self.arrow(now, event),
            Event::Apply { server, index, .. } => self.index(now, server, index.0, false),
            Event::Commit { server, index } => self.index(now, server, index.0, true),
            Event::Role { server, role, term } => self.role(now, server, role, term.0),
            Event::Persist { server, change } => self.persist(now, server, change),
            Event::InstallSnapshot { server, index } => {
                self.index(now, server, index.0, false);
                let marks = &mut self.model.lanes[server].marks;
                let persisted = marks.iter_mut().rev().find(|(at, mark)| {
                    *at == now && matches!(mark, Mark::Snapshot { index: i, .. } if *i == index.0)
                });
                if let Some((_, Mark::Snapshot { installed, .. })) = persisted {
                    *installed = true;
                }
            }
            Event::DiskLost { server } => self.lane(server).marks.push((now, Mark::DiskLost)),
            Event::TornWrite { server, parts, of } => {
                let mark = Mark::TornWrite { parts, of };
                self.lane(server).marks.push((now, mark));
            }
        }
    }

    fn start(&mut self, now: SimTime, server: usize, term: u64, commit: u64) {
        let lane = &mut self.model.lanes[server];
        let state = &mut self.servers[server];
        if state.started && !state.alive {
            lane.down.push(Span {
                start: state.since,
                end: now,
                what: (),
            });
        }
        lane.commit.push(vec![(now, commit)]);
        lane.applied.push(vec![(now, commit)]);
        *state = Server {
            alive: true,
            role: RoleKind::Follower,
            term,
            since: now,
            started: true,
            ..state.clone()
        };
        self.model.max_index = self.model.max_index.max(commit);
        self.isolation(now, server);
    }

    fn crash(&mut self, now: SimTime, server: usize) {
        self.close_role(now, server);
        let lane = &mut self.model.lanes[server];
        for series in [lane.commit.last_mut(), lane.applied.last_mut()]
            .into_iter()
            .flatten()
        {
            let last = series.last().map_or(0, |&(_, index)| index);
            series.push((now, last));
        }
        let state = &mut self.servers[server];
        state.alive = false;
        state.connected = false;
        state.since = now;
        self.isolation(now, server);
    }

    fn close_role(&mut self, now: SimTime, server: usize) {
        let state = &self.servers[server];
        if state.alive {
            self.model.lanes[server].roles.push(Span {
                start: state.since,
                end: now,
                what: (state.role, state.term),
            });
        }
    }

    fn role(&mut self, now: SimTime, server: usize, role: RoleKind, term: u64) {
        let state = &self.servers[server];
        if !state.alive || (state.role, state.term) == (role, term) {
            return;
        }
        self.close_role(now, server);
        let state = &mut self.servers[server];
        (state.role, state.term, state.since) = (role, term, now);
    }

    fn persist(&mut self, now: SimTime, server: usize, change: &PersistChange) {
        self.model.lanes[server].persists.push(now);
        if let Some(hard) = &change.hard_state {
            // A term only changes with a durable write (Figure 2): a follower's new term
            // shows here, with no change of role.
            let role = self.servers[server].role;
            self.role(now, server, role, hard.term.0);
        }
        if let Some(snapshot) = &change.snapshot {
            let mark = Mark::Snapshot {
                index: snapshot.index.0,
                installed: false,
            };
            self.model.lanes[server].marks.push((now, mark));
        }
    }

    /// A new commit index (`commit`) or applied index for `server`.
    fn index(&mut self, now: SimTime, server: usize, index: u64, commit: bool) {
        let lane = &mut self.model.lanes[server];
        let series = match commit {
            true => &mut lane.commit,
            false => &mut lane.applied,
        };
        if let Some(series) = series.last_mut() {
            series.push((now, index));
        }
        self.model.max_index = self.model.max_index.max(index);
    }

    fn topology(&mut self, now: SimTime, name: &str, cuts: &[(usize, usize)]) {
        if let Some((start, what)) = self.topology.take() {
            self.model.topologies.push(Span {
                start,
                end: now,
                what,
            });
        }
        if !cuts.is_empty() {
            let links: Vec<String> = cuts.iter().map(|(a, b)| format!("{a}→{b}")).collect();
            self.topology = Some((now, format!("{name}: cut {}", links.join(" "))));
        }
        self.cuts = cuts.to_vec();
        for &(a, b) in cuts {
            self.lane(a.max(b));
        }
        for server in 0..self.servers.len() {
            self.isolation(now, server);
        }
    }

    /// Recomputes how `server` is cut off, and starts a new span if that changed.
    fn isolation(&mut self, now: SimTime, server: usize) {
        let state = &self.servers[server];
        let label = match (state.alive, state.connected) {
            (false, _) => None,
            (true, false) => Some("disconnected".to_string()),
            (true, true) => {
                let mut links = Vec::new();
                for &(a, b) in &self.cuts {
                    match (a == server, b == server) {
                        (true, _) => links.push(format!("→{b}")),
                        (_, true) => links.push(format!("←{a}")),
                        _ => {}
                    }
                }
                (!links.is_empty()).then(|| format!("cut {}", links.join(" ")))
            }
        };
        if state.isolation.as_ref().map(|(_, l)| l) == label.as_ref() {
            return;
        }
        let state = &mut self.servers[server];
        match state.isolation.take() {
            // A server connected as it starts was never cut off.
            Some((start, _)) if start == now => {}
            Some((start, what)) => {
                let span = Span {
                    start,
                    end: now,
                    what,
                };
                self.model.lanes[server].isolated.push(span);
            }
            None => {}
        }
        state.isolation = label.map(|label| (now, label));
    }

    fn arrow(&mut self, now: SimTime, event: &Event<'_>) {
        let arrow = match *event {
            Event::Deliver {
                from,
                to,
                sent,
                message,
            } => Arrow {
                sent: sent.unwrap_or(now),
                at: now,
                from,
                to,
                kind: message.kind(),
                dropped: false,
                summary: crate::trace::summary(message),
            },
            Event::Drop {
                from,
                to,
                message,
                why,
            } => Arrow {
                sent: now,
                at: now,
                from,
                to,
                kind: message.kind(),
                dropped: true,
                summary: format!("{} (dropped: {why})", crate::trace::summary(message)),
            },
            _ => return,
        };
        self.lane(arrow.from.max(arrow.to));
        if push_capped(&mut self.arrows, arrow, Model::MAX_ARROWS) {
            self.model.arrows_left_out += 1;
        }
    }

    /// Closes every span still open at the end of the run.
    fn close(&mut self) {
        let end = self.model.end;
        for server in 0..self.servers.len() {
            self.close_role(end, server);
            let state = &mut self.servers[server];
            let lane = &mut self.model.lanes[server];
            if state.started && !state.alive {
                let start = state.since;
                lane.down.push(Span {
                    start,
                    end,
                    what: (),
                });
            }
            if let Some((start, what)) = state.isolation.take() {
                lane.isolated.push(Span { start, end, what });
            }
            if state.alive {
                for series in [lane.commit.last_mut(), lane.applied.last_mut()]
                    .into_iter()
                    .flatten()
                {
                    let last = series.last().map_or(0, |&(_, index)| index);
                    series.push((end, last));
                }
            }
            state.alive = false;
        }
        if let Some((start, what)) = self.topology.take() {
            self.model.topologies.push(Span { start, end, what });
        }
        self.model.arrows = self.arrows.drain(..).collect();
        self.model.notes = self.notes.drain(..).collect();
    }
}

/// Appends `item`, dropping the oldest beyond `cap`; says whether one was dropped.
fn push_capped<T>(items: &mut VecDeque<T>, item: T, cap: usize) -> bool {
    items.push_back(item);
    if items.len() > cap {
        items.pop_front();
        return true;
    }
    false
}

impl Sink for Recorder {
    fn header(&mut self, fields: &[(&str, Field<'_>)]) -> io::Result<()> {
        for (key, value) in fields {
            let value = match value {
                Field::Text(text) => text.to_string(),
                Field::Number(n) => n.to_string(),
            };
            self.model.header.push((key.to_string(), value));
        }
        Ok(())
    }

    fn comment(&mut self, text: &str) -> io::Result<()> {
        self.model
            .header
            .push(("comment".to_string(), text.to_string()));
        Ok(())
    }

    fn event(&mut self, now: SimTime, event: &Event<'_>) -> io::Result<()> {
        self.record(now, event);
        Ok(())
    }

    fn finish(&mut self, digest: u64) -> io::Result<()> {
        let digest = format!("{digest:016x}");
        self.model.header.push(("digest".to_string(), digest));
        self.close();
        self.finished = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Trace;
    use raft_core::{HardState, LogIndex, NodeId, Term};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Records what `run` traces, and returns the model.
    fn model(run: impl FnOnce(&mut Trace)) -> Model {
        let recorder = Rc::new(RefCell::new(Recorder::new()));
        let mut trace = Trace::new(false).with_sink(Box::new(Rc::clone(&recorder)));
        run(&mut trace);
        trace.finish().unwrap();
        let model = recorder.borrow_mut().take_model();
        model
    }

    fn node(id: u64) -> raft_core::RaftNode {
        let peers = (0..3).map(NodeId).collect();
        raft_core::RaftNode::new(raft_core::Config::new(NodeId(id), peers, id), None).unwrap()
    }

    #[test]
    fn cuts_shade_both_ends_of_each_link_until_the_network_heals() {
        let model = model(|trace| {
            for i in 0..3 {
                trace.start(0, i, 1, &node(i as u64));
                trace.connected(0, i, true);
            }
            trace.topology(100, "split", &[(0, 1), (1, 0), (0, 2)]);
            trace.topology(300, "healthy", &[]);
            trace.note(400, "done");
        });
        let label = |i: usize| model.lanes[i].isolated.clone();
        let span = |what: &str| Span {
            start: 100,
            end: 300,
            what: what.to_string(),
        };
        assert_eq!(label(0), [span("cut →1 ←1 →2")]);
        assert_eq!(label(1), [span("cut ←0 →0")]);
        assert_eq!(label(2), [span("cut ←0")]);
        let topology = Span {
            start: 100,
            end: 300,
            what: "split: cut 0→1 1→0 0→2".to_string(),
        };
        assert_eq!(model.topologies, [topology]);
    }

    #[test]
    fn a_term_changes_with_a_durable_write_and_a_crash_ends_the_role_until_the_restart() {
        let model = model(|trace| {
            trace.start(0, 0, 1, &node(0));
            let change = PersistChange {
                hard_state: Some(HardState {
                    term: Term(3),
                    voted_for: None,
                }),
                ..PersistChange::default()
            };
            trace.persist(50, 0, &change);
            trace.role(60, 0, RoleKind::Candidate, Term(4));
            trace.commit(70, 0, LogIndex(2));
            trace.crash(80, 0);
            trace.start(90, 0, 2, &node(0));
            trace.note(120, "done");
        });
        let lane = &model.lanes[0];
        let roles: Vec<_> = lane
            .roles
            .iter()
            .map(|s| (s.start, s.end, s.what))
            .collect();
        assert_eq!(
            roles,
            [
                (0, 50, (RoleKind::Follower, 0)),
                (50, 60, (RoleKind::Follower, 3)),
                (60, 80, (RoleKind::Candidate, 4)),
                (90, 120, (RoleKind::Follower, 0)),
            ]
        );
        let down: Vec<_> = lane.down.iter().map(|s| (s.start, s.end)).collect();
        assert_eq!(down, [(80, 90)]);
        assert_eq!(
            lane.commit,
            [vec![(0, 0), (70, 2), (80, 2)], vec![(90, 0), (120, 0)]]
        );
    }
}
