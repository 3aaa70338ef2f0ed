//! A timeline page says what its trace says: one run is recorded both as a JSON-lines trace
//! (read back with an independent JSON parser) and as a timeline page (read back with a small
//! tag scanner), and the page's lanes, roles, terms, downtimes, cuts, marks and failure are
//! checked against the trace's events.

use raft_sim::swarm::{self, Plan};
use raft_sim::timeline::{self, Recorder};
use raft_sim::trace::Trace;
use raft_sim::{lab, runner, Edition};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::rc::Rc;
use std::sync::OnceLock;

/// A writer whose bytes can be read after the trace is done with it.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A run's JSON trace, parsed, and its timeline page.
struct Recorded {
    events: Vec<Value>,
    page: String,
}

/// A trace that writes JSON lines and feeds a timeline; `run` runs something on it.
fn record(run: impl FnOnce(Trace)) -> Recorded {
    let json = Shared::default();
    let recorder = Rc::new(RefCell::new(Recorder::new()));
    let trace =
        Trace::to_json_writer(Box::new(json.clone())).with_sink(Box::new(Rc::clone(&recorder)));
    run(trace);
    let text = String::from_utf8(json.0.borrow().clone()).expect("UTF-8");
    let events = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let page = timeline::page(recorder.borrow().model());
    Recorded { events, page }
}

/// A swarm run on unsafe disks that fails after 14 s of crashes, cuts, elections and
/// snapshots, when a crash loses a write that a committed entry needed (Durability). It is
/// recorded once and shared by the tests that look at it.
fn failing_swarm_run() -> &'static Recorded {
    static RUN: OnceLock<Recorded> = OnceLock::new();
    RUN.get_or_init(|| {
        let plan: Plan = concat!(
            "n=6,t=20447,lat=0,loss=0,dup=0,reorder=0,topo=split+isolate+oneway+bridge/64,",
            "flow=default,crash=3320/1151/813,skew=9,snap=106/2815,clients=4/43,heal=majority,",
            "unsafe-disk"
        )
        .parse()
        .expect("a valid plan");
        let recorded = record(|trace| {
            swarm::run_with(10, &plan, trace);
        });
        let fail = recorded.events.iter().find(|e| e["kind"] == "fail");
        assert!(
            fail.is_some_and(|f| number(&f["t"]) >= 5_000_000),
            "this run no longer fails late (the swarm changed?): pick another failing seed \
             from `raft-sim swarm --unsafe-disk --seeds 1..=50`"
        );
        recorded
    })
}

/// Every `<tag ...>` element's attributes, in page order.
fn elements(page: &str, tag: &str) -> Vec<BTreeMap<String, String>> {
    let open = format!("<{tag} ");
    let mut found = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find(&open) {
        rest = &rest[at + open.len()..];
        let end = rest.find('>').expect("a closed tag");
        found.push(attributes(&rest[..end]));
        rest = &rest[end..];
    }
    found
}

/// `key="value"` pairs (the page quotes every attribute with `"`).
fn attributes(mut text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    while let Some(eq) = text.find("=\"") {
        let key = text[..eq].trim().trim_end_matches('/').to_string();
        let value_end = text[eq + 2..].find('"').expect("a closing quote");
        map.insert(key, text[eq + 2..eq + 2 + value_end].to_string());
        text = &text[eq + 2 + value_end + 1..];
    }
    map
}

fn with_class<'a>(
    all: &'a [BTreeMap<String, String>],
    class: &str,
) -> Vec<&'a BTreeMap<String, String>> {
    all.iter()
        .filter(|e| {
            e.get("class")
                .is_some_and(|c| c.split(' ').any(|word| word == class))
        })
        .collect()
}

fn number(value: &Value) -> u64 {
    value.as_u64().expect("a number")
}

fn attr(element: &BTreeMap<String, String>, key: &str) -> u64 {
    element[key].parse().expect("a number")
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

#[test]
fn lanes_roles_terms_downtimes_and_the_failure_match_the_trace() {
    let Recorded { events, page } = failing_swarm_run();
    let rects = elements(page, "rect");
    // One lane per server the trace mentions.
    let servers = events
        .iter()
        .filter_map(|e| e["node"].as_u64())
        .max()
        .unwrap()
        + 1;
    let lanes = elements(page, "g")
        .into_iter()
        .filter(|g| g.get("class").is_some_and(|c| c == "lane"))
        .count();
    assert_eq!(lanes as u64, servers);

    // Every role change is a span that starts when it happened, with its role and term.
    let roles = with_class(&rects, "role");
    for event in of_kind(events, "role") {
        let found = roles.iter().any(|r| {
            attr(r, "data-node") == number(&event["node"])
                && attr(r, "data-start") == number(&event["t"])
                && r["data-role"] == event["role"].as_str().unwrap()
                && attr(r, "data-term") == number(&event["term"])
        });
        assert!(found, "no span for {event}");
    }
    // The terms a lane shows are the terms its server was in, and its leaderships are the
    // trace's, no more and no fewer.
    let traced_terms: BTreeSet<(u64, u64)> = events
        .iter()
        .filter(|e| ["start", "role", "persist"].contains(&e["kind"].as_str().unwrap()))
        .filter_map(|e| Some((number(&e["node"]), e["term"].as_u64()?)))
        .collect();
    let shown_terms: BTreeSet<(u64, u64)> = roles
        .iter()
        .map(|r| (attr(r, "data-node"), attr(r, "data-term")))
        .collect();
    assert_eq!(shown_terms, traced_terms);
    let traced_leaders: BTreeSet<(u64, u64)> = of_kind(events, "role")
        .iter()
        .filter(|e| e["role"] == "Leader")
        .map(|e| (number(&e["node"]), number(&e["term"])))
        .collect();
    let shown_leaders: BTreeSet<(u64, u64)> = roles
        .iter()
        .filter(|r| r["data-role"] == "Leader")
        .map(|r| (attr(r, "data-node"), attr(r, "data-term")))
        .collect();
    assert_eq!(shown_leaders, traced_leaders);

    // Every crash starts a downtime that lasts until that server's next start.
    let down = with_class(&rects, "down");
    let crashes = of_kind(events, "crash");
    assert!(
        !crashes.is_empty(),
        "an unsafe disk only loses writes at crashes"
    );
    assert_eq!(down.len(), crashes.len());
    for crash in crashes {
        let (node, at) = (number(&crash["node"]), number(&crash["t"]));
        let restart = of_kind(events, "start")
            .into_iter()
            .find(|s| number(&s["node"]) == node && number(&s["t"]) >= at)
            .map(|s| number(&s["t"]));
        let span = down
            .iter()
            .find(|d| attr(d, "data-node") == node && attr(d, "data-start") == at)
            .unwrap_or_else(|| panic!("no downtime for {crash}"));
        if let Some(restart) = restart {
            assert_eq!(attr(span, "data-end"), restart, "{crash}");
        }
    }

    // The failure is marked where it fired, with its invariant and its explanation.
    let fail = of_kind(events, "fail")[0];
    let lines = elements(page, "line");
    let mark = lines
        .iter()
        .find(|l| l.get("id").is_some_and(|id| id == "failure-mark"))
        .expect("a failure mark");
    assert_eq!(attr(mark, "data-t"), number(&fail["t"]));
    let invariant = fail["invariant"].as_str().expect("a checker fired");
    let why = fail["text"].as_str().unwrap();
    let text = page
        .split("<p id=\"failure-text\"")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .expect("the failure's text");
    assert!(text.contains(&format!("<b>{invariant}</b>")), "{text}");
    assert!(text.contains(&timeline::escape(why)), "{text}");
    assert!(page.contains(&format!("✗ {invariant}")));

    // Lost and torn writes are marked where they happened.
    for (kind, class) in [("disk_lost", "lost"), ("torn_write", "torn")] {
        let marks = with_class(&lines, class);
        let traced = of_kind(events, kind);
        assert_eq!(marks.len(), traced.len(), "{kind}");
        for (mark, event) in marks.iter().zip(&traced) {
            assert_eq!(attr(mark, "data-t"), number(&event["t"]), "{kind}");
        }
    }

    // Each lane's commit line reaches the highest commit index its server reached.
    let commits = elements(page, "polyline");
    for node in 0..servers {
        let traced = events
            .iter()
            .filter(|e| e["node"].as_u64() == Some(node))
            .filter(|e| e["kind"] == "commit" || e["kind"] == "start")
            .map(|e| number(e.get("index").unwrap_or(&e["commit"])))
            .max();
        let shown = with_class(&commits, "commit")
            .iter()
            .filter(|p| attr(p, "data-node") == node)
            .map(|p| attr(p, "data-max"))
            .max();
        assert_eq!(shown, traced, "s{node}");
    }
}

#[test]
fn the_page_carries_every_message_for_its_arrows() {
    let Recorded { events, page } = failing_swarm_run();
    let data = page
        .split("<script type=\"application/json\" id=\"timeline-data\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the page's data");
    let data: Value = serde_json::from_str(data).expect("the page's data is JSON");
    let messages: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "deliver" || e["kind"] == "drop")
        .collect();
    let arrows = data["arrows"].as_array().unwrap();
    assert_eq!(arrows.len(), messages.len());
    for (arrow, message) in arrows.iter().zip(&messages) {
        let at = (number(&message["t"]) as f64) / 1000.0;
        assert_eq!(arrow[1].as_f64().unwrap(), at, "{message}");
        assert_eq!(arrow[2], message["from"]);
        assert_eq!(arrow[3], message["to"]);
        assert_eq!(arrow[5] == 1, message["kind"] == "drop");
        if let Some(sent) = message["sent"].as_u64() {
            assert_eq!(arrow[0].as_f64().unwrap(), sent as f64 / 1000.0);
        }
    }
}

#[test]
fn a_disconnected_server_is_shaded_from_its_disconnect_to_its_reconnect() {
    let test = lab::find("TestFailAgree3B").expect("exists");
    let Recorded { events, page } = record(|trace| {
        runner::run_with(&test, Edition::Y2024, 3, trace);
    });
    assert!(!page.contains("failure-mark"), "the run passed");
    let rects = elements(&page, "rect");
    let shaded = with_class(&rects, "disconnected");
    let disconnects = of_kind(&events, "disconnect");
    assert!(!disconnects.is_empty());
    for event in disconnects {
        let (node, at) = (number(&event["node"]), number(&event["t"]));
        let reconnect = of_kind(&events, "connect")
            .into_iter()
            .find(|c| number(&c["node"]) == node && number(&c["t"]) >= at)
            .map(|c| number(&c["t"]));
        let span = shaded
            .iter()
            .find(|r| attr(r, "data-node") == node && attr(r, "data-start") == at)
            .unwrap_or_else(|| panic!("no shading for {event}"));
        if let Some(reconnect) = reconnect {
            assert_eq!(attr(span, "data-end"), reconnect, "{event}");
        }
    }
}
