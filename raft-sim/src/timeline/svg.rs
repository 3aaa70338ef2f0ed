//! The timeline's picture: an inline SVG, drawn once here in virtual time (x in milliseconds)
//! inside a group that the page's script scales and shifts to zoom and pan. Strokes keep
//! their width whatever the zoom (`vector-effect`); labels live outside that group and are
//! placed by the script (their first places are computed here, for the unzoomed view).

use super::model::{Lane, Mark, Model, Span};
use crate::world::SimTime;
use raft_core::RoleKind;
use std::fmt::Write as _;

/// The picture's fixed measures, in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    /// Total width (the script fits the page's width instead).
    pub width: f64,
    /// The gutter with the lanes' names.
    pub left: f64,
    /// The margin on the right.
    pub right: f64,
    /// Where the first lane starts.
    pub lane_top: f64,
    /// A lane's height.
    pub lane_height: f64,
    /// The space between lanes.
    pub lane_gap: f64,
}

impl Layout {
    /// The measures for a page `width` pixels wide.
    pub fn new(width: f64) -> Layout {
        Layout {
            width,
            left: 96.0,
            right: 16.0,
            lane_top: 74.0,
            lane_height: 64.0,
            lane_gap: 8.0,
        }
    }

    /// The top of lane `i`.
    pub fn lane(&self, i: usize) -> f64 {
        self.lane_top + i as f64 * (self.lane_height + self.lane_gap)
    }

    /// The picture's height for `lanes` lanes.
    pub fn height(&self, lanes: usize) -> f64 {
        self.lane(lanes) + 4.0
    }

    /// Pixels per millisecond when a run of `end` fits the width.
    pub fn scale(&self, end: SimTime) -> f64 {
        (self.width - self.left - self.right) / view_end(end)
    }
}

/// Rows above the lanes: the time axis, the network's topologies, the harness's steps.
const AXIS_BOTTOM: f64 = 22.0;
const NETWORK_TOP: f64 = 28.0;
const NETWORK_HEIGHT: f64 = 18.0;
const NOTES_TOP: f64 = 52.0;
const NOTES_HEIGHT: f64 = 14.0;
/// A lane's bands: role and term on top, then the indexes, then the writes.
const ROLE_HEIGHT: f64 = 18.0;
const INDEX_TOP: f64 = 21.0;
const INDEX_HEIGHT: f64 = 34.0;
const PERSIST_TOP: f64 = 57.0;

/// The end of the whole-run view, in milliseconds: a little after the last event, so that
/// a failure at the very end stays in sight.
pub fn view_end(end: SimTime) -> f64 {
    ms(end) * 1.03 + 1.0
}

/// Virtual microseconds as milliseconds.
pub fn ms(t: SimTime) -> f64 {
    t as f64 / 1000.0
}

/// A number, short: at most 3 decimals, no trailing zeros.
fn num(x: f64) -> String {
    let text = format!("{x:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".to_string(),
        _ => text.to_string(),
    }
}

/// Virtual time in seconds, for people.
pub fn seconds(t: SimTime) -> String {
    format!("{:.6} s", t as f64 / 1e6)
}

/// Escapes text for XML and HTML (content and quoted attributes).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole picture.
pub fn svg(model: &Model, layout: &Layout) -> String {
    let n = model.lanes.len();
    let (width, height) = (layout.width, layout.height(n));
    let k = layout.scale(model.end);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" data-lanes="{n}">"#,
        num(width),
        num(height)
    );
    defs(&mut s, layout, height);
    gutter(&mut s, layout, n);
    // The script draws the time axis here, its grid under the picture.
    s.push_str(r#"<g id="axis"></g>"#);
    let _ = write!(
        s,
        r#"<g clip-path="url(#plot-area)"><g id="plot" transform="translate({} 0) scale({} 1)">"#,
        num(layout.left),
        k
    );
    network(&mut s, model);
    notes(&mut s, model);
    for (i, lane) in model.lanes.iter().enumerate() {
        lane_svg(&mut s, layout, model.max_index, i, lane);
    }
    failure_line(&mut s, model, height);
    s.push_str("</g></g>");
    s.push_str(r#"<g id="arrows" clip-path="url(#plot-area)"></g>"#);
    overlay(&mut s, model, layout, k);
    s.push_str("</svg>");
    s
}

fn defs(s: &mut String, layout: &Layout, height: f64) {
    let _ = write!(
        s,
        concat!(
            r#"<defs><clipPath id="plot-area"><rect x="{}" y="0" width="{}" height="{}"/></clipPath>"#,
            r##"<pattern id="hatch-cut" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#d62728" fill-opacity="0.35"/></pattern>"##,
            r##"<pattern id="hatch-down" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="6" height="6" fill="#3b3b3b"/><rect width="2" height="6" fill="#6b6b6b"/></pattern>"##,
            "</defs>"
        ),
        num(layout.left),
        num(layout.width - layout.left - layout.right),
        num(height)
    );
    // Arrowheads, one per message colour.
    s.truncate(s.len() - "</defs>".len());
    for (name, colour) in [
        ("vote", "#ff7f0e"),
        ("append", "#1f77b4"),
        ("snap", "#8c2d82"),
    ] {
        let _ = write!(
            s,
            r#"<marker id="head-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="{colour}"/></marker>"#
        );
    }
    s.push_str("</defs>");
}

/// Lane names and row names, and a light band behind every other lane.
fn gutter(s: &mut String, layout: &Layout, n: usize) {
    let rows = [
        ("time", 15.0),
        ("network", NETWORK_TOP + 13.0),
        ("harness", NOTES_TOP + 11.0),
    ];
    for (name, y) in rows {
        let _ = write!(s, r#"<text class="row-label" x="8" y="{y}">{name}</text>"#);
    }
    for i in 0..n {
        let top = layout.lane(i);
        let _ = write!(
            s,
            r#"<rect class="lane-band" x="0" y="{}" width="{}" height="{}"/>"#,
            num(top - 2.0),
            num(layout.width),
            num(layout.lane_height + 4.0)
        );
        let _ = write!(
            s,
            r#"<text class="lane-label" id="lane-label-{i}" x="8" y="{}">s{i}</text>"#,
            num(top + 14.0)
        );
        let _ = write!(
            s,
            concat!(
                r#"<text class="band-label" x="8" y="{}">commit</text>"#,
                r#"<text class="band-label applied" x="8" y="{}">applied</text>"#
            ),
            num(top + 34.0),
            num(top + 46.0)
        );
    }
}

fn network(s: &mut String, model: &Model) {
    for span in &model.topologies {
        let _ = write!(
            s,
            r#"<rect class="topology" x="{}" y="{NETWORK_TOP}" width="{}" height="{NETWORK_HEIGHT}" data-start="{}" data-end="{}"><title>{} ({} to {})</title></rect>"#,
            num(ms(span.start)),
            num(ms(span.end.saturating_sub(span.start))),
            span.start,
            span.end,
            escape(&span.what),
            seconds(span.start),
            seconds(span.end)
        );
    }
}

fn notes(s: &mut String, model: &Model) {
    if model.notes.is_empty() {
        return;
    }
    let mut d = String::new();
    for (at, _) in &model.notes {
        let _ = write!(d, "M{} {NOTES_TOP}v{NOTES_HEIGHT}", num(ms(*at)));
    }
    let _ = write!(
        s,
        r#"<path class="notes" data-count="{}" d="{d}"/>"#,
        model.notes.len()
    );
}

fn role_class(role: RoleKind) -> &'static str {
    match role {
        RoleKind::Follower => "follower",
        RoleKind::Candidate => "candidate",
        RoleKind::Leader => "leader",
    }
}

fn lane_svg(s: &mut String, layout: &Layout, max_index: u64, i: usize, lane: &Lane) {
    let top = layout.lane(i);
    let _ = write!(s, r#"<g class="lane" id="lane-{i}" data-node="{i}">"#);
    spans(s, i, top, layout.lane_height, &lane.isolated, |label| {
        let class = match label.as_str() {
            "disconnected" => "isolated disconnected",
            _ => "isolated cut",
        };
        (class, label.clone())
    });
    for span in &lane.roles {
        role_rect(s, i, top, span);
    }
    indexes(s, top, max_index, i, lane);
    persists(s, top, lane);
    marks(s, i, top, layout.lane_height, lane);
    spans(s, i, top, layout.lane_height, &lane.down, |_| {
        ("down", "down".to_string())
    });
    s.push_str("</g>");
}

/// Shaded spans over a whole lane, each with its class and description.
fn spans<T>(
    s: &mut String,
    i: usize,
    top: f64,
    height: f64,
    spans: &[Span<T>],
    describe: impl Fn(&T) -> (&'static str, String),
) {
    for span in spans {
        let (class, what) = describe(&span.what);
        let _ = write!(
            s,
            r#"<rect class="{class}" x="{}" y="{}" width="{}" height="{}" data-node="{i}" data-start="{}" data-end="{}"><title>s{i} {} from {} to {}</title></rect>"#,
            num(ms(span.start)),
            num(top),
            num(ms(span.end.saturating_sub(span.start))),
            num(height),
            span.start,
            span.end,
            escape(&what),
            seconds(span.start),
            seconds(span.end)
        );
    }
}

fn role_rect(s: &mut String, i: usize, top: f64, span: &Span<(RoleKind, u64)>) {
    let (role, term) = span.what;
    let parity = if term % 2 == 0 { "even" } else { "odd" };
    let _ = write!(
        s,
        r#"<rect class="role {} {parity}" x="{}" y="{}" width="{}" height="{ROLE_HEIGHT}" data-node="{i}" data-role="{role:?}" data-term="{term}" data-start="{}" data-end="{}"><title>s{i} {role:?} in term {term}, {} to {}</title></rect>"#,
        role_class(role),
        num(ms(span.start)),
        num(top),
        num(ms(span.end.saturating_sub(span.start))),
        span.start,
        span.end,
        seconds(span.start),
        seconds(span.end)
    );
}

/// The commit and applied indexes as step lines, scaled to the highest index of the run.
fn indexes(s: &mut String, top: f64, max_index: u64, i: usize, lane: &Lane) {
    let y = |index: u64| {
        top + INDEX_TOP + INDEX_HEIGHT * (1.0 - index as f64 / max_index.max(1) as f64)
    };
    for (class, all) in [("commit", &lane.commit), ("applied", &lane.applied)] {
        for series in all {
            let mut points = String::new();
            let mut last = None;
            for &(at, index) in series {
                if let Some(previous) = last {
                    let _ = write!(points, "{},{} ", num(ms(at)), num(y(previous)));
                }
                let _ = write!(points, "{},{} ", num(ms(at)), num(y(index)));
                last = Some(index);
            }
            let highest = series.iter().map(|&(_, index)| index).max().unwrap_or(0);
            let _ = write!(
                s,
                r#"<polyline class="{class}" data-node="{i}" data-max="{highest}" points="{}"/>"#,
                points.trim_end()
            );
        }
    }
}

fn persists(s: &mut String, top: f64, lane: &Lane) {
    if lane.persists.is_empty() {
        return;
    }
    let mut d = String::new();
    for at in &lane.persists {
        let _ = write!(d, "M{} {}v6", num(ms(*at)), num(top + PERSIST_TOP));
    }
    let _ = write!(
        s,
        r#"<path class="persists" data-count="{}" d="{d}"><title>durable writes</title></path>"#,
        lane.persists.len()
    );
}

fn marks(s: &mut String, i: usize, top: f64, height: f64, lane: &Lane) {
    for (at, mark) in &lane.marks {
        let (class, y1, y2, what) = match mark {
            Mark::Snapshot { index, installed } => {
                let how = if *installed {
                    "installed a leader's snapshot"
                } else {
                    "snapshot"
                };
                let class = if *installed {
                    "snapshot installed"
                } else {
                    "snapshot"
                };
                (
                    class,
                    INDEX_TOP,
                    INDEX_TOP + INDEX_HEIGHT,
                    format!("{how} through index {index}"),
                )
            }
            Mark::TornWrite { parts, of } => (
                "torn",
                0.0,
                height,
                format!("crashed inside a write: {parts} of {of} parts durable"),
            ),
            Mark::DiskLost => (
                "lost",
                0.0,
                height,
                "its unsafe disk lost its last write".to_string(),
            ),
        };
        let x = num(ms(*at));
        let _ = write!(
            s,
            r#"<line class="mark {class}" x1="{x}" x2="{x}" y1="{}" y2="{}" data-node="{i}" data-t="{at}"><title>s{i} {what} at {}</title></line>"#,
            num(top + y1),
            num(top + y2),
            seconds(*at)
        );
    }
}

fn failure_line(s: &mut String, model: &Model, height: f64) {
    if let Some(failure) = &model.failure {
        let x = num(ms(failure.at));
        let _ = write!(
            s,
            r#"<line id="failure-mark" class="failure" x1="{x}" x2="{x}" y1="{AXIS_BOTTOM}" y2="{}" data-t="{}"><title>{} at {}</title></line>"#,
            num(height),
            failure.at,
            escape(&failure.why),
            seconds(failure.at)
        );
    }
}

/// Labels placed by the script: terms on role spans, topology names, the failure's flag, lost
/// writes. Their first places are for the unzoomed view (`k` pixels per millisecond).
fn overlay(s: &mut String, model: &Model, layout: &Layout, k: f64) {
    s.push_str(r#"<g id="overlay">"#);
    let place = |start: SimTime, end: SimTime| {
        let x = layout.left + k * (ms(start) + ms(end)) / 2.0;
        let shown = k * ms(end.saturating_sub(start)) >= 24.0;
        (num(x), if shown { "inline" } else { "none" })
    };
    for (i, lane) in model.lanes.iter().enumerate() {
        for span in &lane.roles {
            let (x, display) = place(span.start, span.end);
            let _ = write!(
                s,
                r#"<text class="term-label" x="{x}" y="{}" display="{display}" data-a="{}" data-b="{}">{}</text>"#,
                num(layout.lane(i) + 13.0),
                num(ms(span.start)),
                num(ms(span.end)),
                span.what.1
            );
        }
        for (at, mark) in &lane.marks {
            if *mark == Mark::DiskLost {
                point_label(
                    s,
                    layout,
                    k,
                    *at,
                    layout.lane(i) + 32.0,
                    "lost-label",
                    "lost write",
                );
            }
        }
    }
    for span in &model.topologies {
        let (x, display) = place(span.start, span.end);
        let name = span.what.split(':').next().unwrap_or_default();
        let _ = write!(
            s,
            r#"<text class="topology-label" x="{x}" y="{}" display="{display}" data-a="{}" data-b="{}" data-min="40">{}</text>"#,
            num(NETWORK_TOP + 13.0),
            num(ms(span.start)),
            num(ms(span.end)),
            escape(name)
        );
    }
    if let Some(failure) = &model.failure {
        let label = failure
            .invariant
            .map_or("failed".to_string(), |i| format!("✗ {i}"));
        let x = num(layout.left + k * ms(failure.at));
        let _ = write!(
            s,
            r#"<g id="failure-flag" transform="translate({x} 0)" data-at="{}"><rect x="-2" y="{}" width="{}" height="16" rx="3"/><text x="4" y="{}">{}</text><title>{}</title></g>"#,
            num(ms(failure.at)),
            NETWORK_TOP,
            8 + 7 * label.chars().count(),
            NETWORK_TOP + 12.0,
            escape(&label),
            escape(&failure.why)
        );
    }
    s.push_str("</g>");
}

fn point_label(
    s: &mut String,
    layout: &Layout,
    k: f64,
    at: SimTime,
    y: f64,
    class: &str,
    text: &str,
) {
    let _ = write!(
        s,
        r#"<g class="{class}" transform="translate({} 0)" data-at="{}"><text x="4" y="{}">{text}</text></g>"#,
        num(layout.left + k * ms(at)),
        num(ms(at)),
        num(y)
    );
}
