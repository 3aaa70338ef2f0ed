//! A self-contained HTML page showing a checked history: per partition, one lane per client
//! with each operation as a bar from call to return, the longest linearizable prefix the
//! search found (numbered, joined in order, with the state after each step), and the operation
//! it could not get past.

use super::{CheckResult, Model, Operation, PartitionResult, Verdict};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// Partitions with more operations are shown around where the search got stuck.
const WINDOW_OPS: usize = 120;
/// Linearizable partitions are drawn (folded) only up to this size.
const DRAW_LINEARIZABLE_UP_TO: usize = 300;
const LANE_PX: usize = 30;
const EVENT_PX: usize = 26;
/// Room before the first event.
const LEFT_PX: usize = 10;
const LABELS_PX: usize = 80;

/// Renders the page. `time` formats the history's timestamps.
pub fn visualize<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    result: &CheckResult,
    title: &str,
    time: &dyn Fn(u64) -> String,
) -> String {
    let mut page = String::new();
    let stats = &result.stats;
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{STYLE}</style></head><body>\n\
         <h1>{}</h1>\n<p class=\"verdict {}\">History is <b>{}</b>.</p>\n\
         <p>{} operations in {} partitions (largest {}); {} search steps, {} configurations.</p>\n",
        escape(title),
        escape(title),
        class(result.verdict),
        result.verdict,
        stats.ops,
        stats.partitions,
        stats.largest_partition,
        stats.steps,
        stats.states
    );
    page.push_str(LEGEND);
    let mut order: Vec<&PartitionResult> = result.partitions.iter().collect();
    order.sort_by_key(|p| p.verdict == Verdict::Linearizable);
    for (n, partition) in order.into_iter().enumerate() {
        let heading = partition_heading(model, history, partition);
        if partition.verdict != Verdict::Linearizable {
            let _ = writeln!(page, "<section><h2>{}</h2>", escape(&heading));
            draw_partition(&mut page, model, history, partition, time, n);
            page.push_str("</section>\n");
        } else if partition.ops.len() <= DRAW_LINEARIZABLE_UP_TO {
            let _ = writeln!(page, "<details><summary>{}</summary>", escape(&heading));
            draw_partition(&mut page, model, history, partition, time, n);
            page.push_str("</details>\n");
        } else {
            let _ = writeln!(page, "<p class=\"folded\">{}</p>", escape(&heading));
        }
    }
    page.push_str(SCROLL_TO_STUCK);
    page.push_str("</body></html>\n");
    page
}

/// Renders the page and writes it to `path`.
pub fn write_visualization<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    result: &CheckResult,
    title: &str,
    time: &dyn Fn(u64) -> String,
    path: &Path,
) -> std::io::Result<()> {
    std::fs::write(path, visualize(model, history, result, title, time))
}

fn partition_heading<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    partition: &PartitionResult,
) -> String {
    let name = partition
        .ops
        .first()
        .map(|&i| model.describe_partition(&history[i].input))
        .unwrap_or_default();
    format!(
        "{name}: {}, {} operations, {} steps{}",
        partition.verdict,
        partition.ops.len(),
        partition.steps,
        if partition.longest_prefix.is_empty() {
            String::new()
        } else {
            format!(
                ", longest linearizable prefix {} operations",
                partition.longest_prefix.len()
            )
        }
    )
}

/// The operations to draw: all of a small partition, else a window around the focus.
fn window(history_calls: &[(u64, usize)], focus: Option<usize>) -> Vec<usize> {
    if history_calls.len() <= WINDOW_OPS {
        return history_calls.iter().map(|&(_, i)| i).collect();
    }
    let at = focus
        .and_then(|f| history_calls.iter().position(|&(_, i)| i == f))
        .unwrap_or(history_calls.len() - 1);
    let start = at.saturating_sub(WINDOW_OPS * 2 / 3);
    let end = (start + WINDOW_OPS).min(history_calls.len());
    history_calls[start..end].iter().map(|&(_, i)| i).collect()
}

fn draw_partition<M: Model>(
    page: &mut String,
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    partition: &PartitionResult,
    time: &dyn Fn(u64) -> String,
    n: usize,
) {
    let mut calls: Vec<(u64, usize)> = partition
        .ops
        .iter()
        .map(|&i| (history[i].call, i))
        .collect();
    calls.sort_unstable();
    let focus = partition
        .stuck_op
        .or_else(|| partition.longest_prefix.last().map(|s| s.op));
    let shown = window(&calls, focus);
    if shown.len() < partition.ops.len() {
        let _ = writeln!(
            page,
            "<p>Showing {} of {} operations, around where the search got stuck.</p>",
            shown.len(),
            partition.ops.len()
        );
    }
    // Compressed time axis: every distinct call or return time gets one column.
    let mut times: Vec<u64> = Vec::new();
    for &i in &shown {
        times.push(history[i].call);
        if let Some(r) = &history[i].returned {
            times.push(r.time.max(history[i].call));
        }
    }
    times.sort_unstable();
    times.dedup();
    let x = |t: u64| LEFT_PX + EVENT_PX * times.partition_point(|&u| u < t);
    let right = LEFT_PX + EVENT_PX * (times.len() + 1);
    let mut lanes: BTreeMap<i64, usize> = BTreeMap::new();
    for &i in &shown {
        lanes.insert(history[i].client, 0);
    }
    for (lane, slot) in lanes.values_mut().enumerate() {
        *slot = lane;
    }
    let order: BTreeMap<usize, usize> = partition
        .longest_prefix
        .iter()
        .enumerate()
        .map(|(k, step)| (step.op, k + 1))
        .collect();
    let height = LANE_PX * (lanes.len() + 1);
    // The lane labels stay put while the timeline scrolls.
    let _ = writeln!(
        page,
        "<div class=\"timeline\"><svg width=\"{LABELS_PX}\" height=\"{height}\">"
    );
    for (client, lane) in &lanes {
        let y = LANE_PX * lane + LANE_PX / 2 + 4;
        let _ = writeln!(
            page,
            "<text x=\"4\" y=\"{y}\" class=\"lane\">client {client}</text>"
        );
    }
    let _ = writeln!(
        page,
        "</svg><div class=\"scroll\"><svg width=\"{right}\" height=\"{height}\" id=\"p{n}\">"
    );
    let mut markers: Vec<(usize, usize, usize)> = Vec::new(); // (order, x, y)
    for &i in &shown {
        let op = &history[i];
        let x0 = x(op.call);
        let x1 = op
            .returned
            .as_ref()
            .map_or(right, |r| x(r.time.max(op.call)));
        let width = (x1 - x0).max(EVENT_PX / 2);
        let y = LANE_PX * lanes[&op.client] + 4;
        let kind = if partition.stuck_op == Some(i) {
            "stuck"
        } else if order.contains_key(&i) {
            "linearized"
        } else if op.returned.is_none() {
            "pending"
        } else {
            "other"
        };
        let description = model.describe_operation(&op.input, op.output());
        let returned = op
            .returned
            .as_ref()
            .map_or("never".to_string(), |r| time(r.time));
        let _ = writeln!(
            page,
            "<svg x=\"{x0}\" y=\"{y}\" width=\"{width}\" height=\"{}\"><title>{} (client {}, called {}, returned {})</title>\
             <rect class=\"{kind}\" width=\"{width}\" height=\"{}\" rx=\"3\"/><text x=\"3\" y=\"15\">{}</text></svg>",
            LANE_PX - 8,
            escape(&description),
            op.client,
            escape(&time(op.call)),
            escape(&returned),
            LANE_PX - 8,
            escape(&description)
        );
        if let Some(&k) = order.get(&i) {
            markers.push((k, x0, y + LANE_PX - 8));
        }
    }
    // Linearization points, in order: each as early as its call allows, after the previous.
    markers.sort_unstable();
    let mut last_x = 0;
    let mut points = String::new();
    let mut circles = String::new();
    for (k, x0, y) in &markers {
        let px = (*x0 + 6).max(last_x + 4);
        last_x = px;
        let _ = write!(points, "{px},{y} ");
        let _ = writeln!(
            circles,
            "<circle cx=\"{px}\" cy=\"{y}\" r=\"7\" class=\"point\"/><text x=\"{px}\" y=\"{}\" class=\"order\">{k}</text>",
            y + 3
        );
    }
    if !points.is_empty() {
        let _ = writeln!(page, "<polyline points=\"{points}\" class=\"path\"/>");
    }
    page.push_str(&circles);
    page.push_str("</svg></div></div>\n");
    draw_prefix_table(page, model, history, partition);
}

fn draw_prefix_table<M: Model>(
    page: &mut String,
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    partition: &PartitionResult,
) {
    if partition.longest_prefix.is_empty() && partition.stuck_op.is_none() {
        return;
    }
    page.push_str(
        "<table><tr><th>#</th><th>client</th><th>operation</th><th>state after</th></tr>\n",
    );
    let skip = partition.longest_prefix.len().saturating_sub(12);
    if skip > 0 {
        let _ = writeln!(
            page,
            "<tr><td colspan=\"4\">… {skip} earlier steps …</td></tr>"
        );
    }
    for (k, step) in partition.longest_prefix.iter().enumerate().skip(skip) {
        let op = &history[step.op];
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            k + 1,
            op.client,
            escape(&model.describe_operation(&op.input, op.output())),
            escape(&step.state)
        );
    }
    if let Some(stuck) = partition.stuck_op {
        let op = &history[stuck];
        let _ = writeln!(
            page,
            "<tr class=\"stuckrow\"><td>✗</td><td>{}</td><td>{}</td><td>cannot be linearized here, nor any earlier choice made it possible</td></tr>",
            op.client,
            escape(&model.describe_operation(&op.input, op.output()))
        );
    }
    page.push_str("</table>\n");
}

fn class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Linearizable => "ok",
        Verdict::NotLinearizable => "bad",
        Verdict::BudgetExhausted => "unknown",
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Scrolls each timeline so that the operation the search could not get past is in view.
const SCROLL_TO_STUCK: &str = "<script>for(const r of document.querySelectorAll('rect.stuck')){\
const box=r.closest('.scroll');const x=r.parentNode.x.baseVal.value;\
box.scrollLeft=Math.max(0,x-box.clientWidth*0.6);}</script>\n";

const LEGEND: &str = "<p class=\"legend\"><span class=\"sw linearized\"></span> in the longest linearizable prefix (numbered in order) \
<span class=\"sw stuck\"></span> the operation the search could not get past \
<span class=\"sw other\"></span> not linearized in that prefix \
<span class=\"sw pending\"></span> never returned. Hover a bar for its times.</p>\n";

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.5em}\
.verdict.bad b{color:#b00}.verdict.ok b{color:#070}.verdict.unknown b{color:#a60}\
.timeline{display:flex;border:1px solid #ddd;background:#fafafa;padding:4px}.scroll{overflow-x:auto;flex:1}\
svg text{font-size:11px;font-family:monospace}text.lane{font-family:sans-serif;font-size:12px}\
rect.linearized{fill:#bfe5bf;stroke:#3a3}rect.stuck{fill:#f4b4b4;stroke:#c00;stroke-width:2}\
rect.other{fill:#e4e4e4;stroke:#999}rect.pending{fill:#fff;stroke:#999;stroke-dasharray:4 2}\
circle.point{fill:#fff;stroke:#060}text.order{font-size:9px;text-anchor:middle;fill:#060}\
polyline.path{fill:none;stroke:#060;stroke-width:1;opacity:.35}\
table{border-collapse:collapse;margin-top:.6em;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}\
td:nth-child(3),td:nth-child(4){font-family:monospace}tr.stuckrow{background:#fbe0e0}\
.legend{font-size:13px}.sw{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px;border:1px solid #999}\
.sw.linearized{background:#bfe5bf}.sw.stuck{background:#f4b4b4}.sw.other{background:#e4e4e4}.sw.pending{background:#fff;border-style:dashed}\
.folded{color:#555;font-size:13px}summary{cursor:pointer;margin-top:.5em}";
