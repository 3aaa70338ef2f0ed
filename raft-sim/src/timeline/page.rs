//! The timeline page: one self-contained HTML file (style, picture, data and script inline;
//! nothing fetched from the network).

use super::model::Model;
use super::svg::{escape, ms, seconds, svg, view_end, Layout};
use crate::trace::escape_into;
use crate::world::SimTime;
use std::fmt::Write as _;

/// The page's style.
const STYLE: &str = include_str!("timeline.css");
/// The page's script: zoom, pan, axis, labels, message arrows, hover.
const SCRIPT: &str = include_str!("timeline.js");

/// The width the page is drawn for before its script fits it to the window.
pub const DEFAULT_WIDTH: f64 = 1600.0;

/// The whole page for `model`.
pub fn page(model: &Model) -> String {
    let layout = Layout::new(DEFAULT_WIDTH);
    let title = title(model);
    let mut html = String::new();
    let _ = write!(
        html,
        concat!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width\">",
            "<title>{}</title><style>{}</style></head><body>\n"
        ),
        escape(&format!("timeline: {title}")),
        STYLE
    );
    header(&mut html, model, &title);
    html.push_str(&svg(model, &layout));
    html.push('\n');
    html.push_str(LEGEND);
    let _ = write!(
        html,
        "\n<script type=\"application/json\" id=\"timeline-data\">{}</script>\n<script>{}</script>\n</body></html>\n",
        data(model, &layout),
        SCRIPT
    );
    html
}

/// A header field's value.
fn field<'a>(model: &'a Model, key: &str) -> Option<&'a str> {
    model
        .header
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// What ran: the test, edition and seed, or the swarm's seed.
fn title(model: &Model) -> String {
    let seed = field(model, "seed").unwrap_or("?");
    match (field(model, "test"), field(model, "edition")) {
        (Some(test), Some(edition)) => format!("{test}, edition {edition}, seed {seed}"),
        (Some(test), None) => format!("{test}, seed {seed}"),
        _ => format!("{} seed {seed}", field(model, "run").unwrap_or("run")),
    }
}

fn header(html: &mut String, model: &Model, title: &str) {
    let _ = write!(html, "<header><h1>{}</h1><dl class=\"run\">", escape(title));
    // Comments repeat what the fields say; the command is shown on its own line.
    let shown = model
        .header
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "comment" | "command"));
    for (key, value) in shown {
        let _ = write!(
            html,
            "<div><dt>{}</dt><dd>{}</dd></div>",
            escape(key),
            escape(value)
        );
    }
    html.push_str("</dl>");
    if let Some(command) = field(model, "command") {
        let _ = write!(
            html,
            "<p class=\"command\"><code>{}</code></p>",
            escape(command)
        );
    }
    let lanes = model.lanes.len();
    let span = seconds(model.end);
    match &model.failure {
        Some(failure) => {
            let invariant = failure
                .invariant
                .map_or(String::new(), |i| format!("<b>{}</b>: ", escape(i.name())));
            let _ = write!(
                html,
                "<p id=\"failure-text\" class=\"outcome failed\">FAILED at {}: {invariant}{}</p>",
                seconds(failure.at),
                escape(&failure.why)
            );
        }
        None => {
            let _ = write!(
                html,
                "<p id=\"outcome\" class=\"outcome passed\">passed</p>"
            );
        }
    }
    let _ = write!(
        html,
        concat!(
            "<nav><button id=\"fit\">whole run</button>",
            "<button id=\"to-failure\"{}>zoom to the failure</button>",
            "<span class=\"hint\">{lanes} servers, {span} virtual. Wheel or +/− to zoom, drag or ←/→ to pan, ",
            "double-click to see it all; messages appear as arrows below {arrow_span} s.</span></nav>",
            "<div id=\"status\">&nbsp;</div></header>\n"
        ),
        if model.failure.is_some() { "" } else { " disabled" },
        lanes = lanes,
        span = span,
        arrow_span = ARROW_SPAN_MS / 1000,
    );
}

/// The widest view (in virtual milliseconds) in which messages are drawn.
const ARROW_SPAN_MS: u64 = 3000;

const LEGEND: &str = concat!(
    "<div id=\"legend\">",
    "<span><i class=\"sw leader\"></i>leader</span>",
    "<span><i class=\"sw candidate\"></i>candidate</span>",
    "<span><i class=\"sw follower\"></i>follower (shade alternates with the term; the number is the term)</span>",
    "<span><i class=\"sw down\"></i>down</span>",
    "<span><i class=\"sw cut\"></i>disconnected or cut off</span>",
    "<span><i class=\"ln commit\"></i>commit index</span>",
    "<span><i class=\"ln applied\"></i>applied index</span>",
    "<span><i class=\"ln snapshot\"></i>snapshot</span>",
    "<span><i class=\"ln persist\"></i>durable write</span>",
    "<span><i class=\"ln lost\"></i>torn or lost write</span>",
    "<span><i class=\"ln failure\"></i>failed check</span>",
    "<span><i class=\"ln vote\"></i>vote messages</span>",
    "<span><i class=\"ln append\"></i>append messages</span>",
    "<span><i class=\"ln snap\"></i>snapshot messages</span>",
    "<span><i class=\"ln dropped\"></i>lost message</span>",
    "</div>"
);

/// What the script needs: the measures, the failure, and the messages and notes it draws
/// when zoomed in.
fn data(model: &Model, layout: &Layout) -> String {
    let mut json = String::new();
    let _ = write!(
        json,
        r#"{{"end":{},"viewEnd":{},"left":{},"right":{},"laneTop":{},"laneHeight":{},"laneGap":{},"lanes":{},"arrowSpan":{ARROW_SPAN_MS},"failure":{},"kinds":["#,
        ms(model.end),
        view_end(model.end),
        layout.left,
        layout.right,
        layout.lane_top,
        layout.lane_height,
        layout.lane_gap,
        model.lanes.len(),
        model
            .failure
            .as_ref()
            .map_or("null".to_string(), |f| ms(f.at).to_string()),
    );
    let kinds = KINDS.map(|k| format!("\"{k}\"")).join(",");
    json.push_str(&kinds);
    json.push_str(r#"],"arrows":["#);
    for (n, arrow) in model.arrows.iter().enumerate() {
        let kind = KINDS.iter().position(|k| *k == arrow.kind).unwrap_or(0);
        let _ = write!(
            json,
            "{}[{},{},{},{},{kind},{},",
            if n > 0 { "," } else { "" },
            ms(arrow.sent),
            ms(arrow.at),
            arrow.from,
            arrow.to,
            u8::from(arrow.dropped)
        );
        escape_into(&mut json, &arrow.summary);
        json.push(']');
    }
    let _ = write!(json, r#"],"leftOut":{},"indexes":["#, model.arrows_left_out);
    for (n, lane) in model.lanes.iter().enumerate() {
        json.push_str(if n > 0 { ",[" } else { "[" });
        series(&mut json, &lane.commit);
        json.push(',');
        series(&mut json, &lane.applied);
        json.push(']');
    }
    json.push_str(r#"],"notes":["#);
    for (n, (at, text)) in model.notes.iter().enumerate() {
        let _ = write!(json, "{}[{},", if n > 0 { "," } else { "" }, ms(*at));
        escape_into(&mut json, text);
        json.push(']');
    }
    json.push_str("]}");
    // Inside a <script> element no "<" may start a tag or a comment ("</script>", "<!--"):
    // every "<" is in a string, where "\u003c" is the same character.
    json.replace('<', "\\u003c")
}

/// An index's values over time as `[[ms, index], ...]`, incarnations one after the other.
fn series(json: &mut String, incarnations: &[Vec<(SimTime, u64)>]) {
    json.push('[');
    let points = incarnations.iter().flatten();
    for (n, (at, index)) in points.enumerate() {
        let _ = write!(
            json,
            "{}[{},{index}]",
            if n > 0 { "," } else { "" },
            ms(*at)
        );
    }
    json.push(']');
}

/// Message kinds, as the script indexes them.
const KINDS: [&str; 6] = [
    "RequestVote",
    "RequestVoteReply",
    "AppendEntries",
    "AppendEntriesReply",
    "InstallSnapshot",
    "InstallSnapshotReply",
];
