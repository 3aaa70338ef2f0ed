// raft-sim timeline: zoom and pan the picture, keep its labels in place, draw the time axis,
// and draw messages as arrows once the view is short enough. The picture itself is static
// SVG in virtual milliseconds inside #plot; only its transform changes.
(() => {
  'use strict';
  const NS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  const svg = $('timeline'), plot = $('plot'), overlay = $('overlay');
  const axis = $('axis'), arrows = $('arrows'), status = $('status');
  const D = JSON.parse($('timeline-data').textContent);
  const KIND = ['vote', 'vote reply', 'append', 'append reply', 'snap', 'snap reply'];
  const MAX_DRAWN = 4000;
  const height = +svg.getAttribute('height');
  let width = 0, t0 = 0, k = 1;

  const plotWidth = () => width - D.left - D.right;
  const x = (t) => D.left + (t - t0) * k;
  const laneMid = (i) => D.laneTop + i * (D.laneHeight + D.laneGap) + D.laneHeight / 2;
  const el = (name, attrs, parent) => {
    const e = document.createElementNS(NS, name);
    for (const [a, v] of Object.entries(attrs)) e.setAttribute(a, v);
    parent.appendChild(e);
    return e;
  };
  const seconds = (t, digits) => (t / 1000).toFixed(digits) + ' s';

  function clamp() {
    const full = D.viewEnd;
    k = Math.min(Math.max(k, plotWidth() / full / 2), 4000);
    const span = plotWidth() / k;
    t0 = Math.min(Math.max(t0, -span / 2), full - span / 2);
  }

  function show(a, b) {
    t0 = a;
    k = plotWidth() / Math.max(b - a, 0.001);
    draw();
  }
  const fit = () => show(0, D.viewEnd);
  const toFailure = () => D.failure !== null && show(D.failure - 1500, D.failure + 500);

  function draw() {
    clamp();
    plot.setAttribute('transform', `translate(${D.left - t0 * k} 0) scale(${k} 1)`);
    placeLabels();
    drawAxis();
    drawArrows();
    svg.dataset.window = `${t0.toFixed(3)}-${(t0 + plotWidth() / k).toFixed(3)}`;
    if (D.failure !== null) svg.dataset.failureX = x(D.failure).toFixed(1);
  }

  function placeLabels() {
    const right = width - D.right;
    for (const e of overlay.querySelectorAll('[data-a]')) {
      const lo = Math.max(x(+e.dataset.a), D.left), hi = Math.min(x(+e.dataset.b), right);
      const fits = hi - lo >= (+e.dataset.min || 24);
      e.setAttribute('display', fits ? 'inline' : 'none');
      if (fits) e.setAttribute('x', ((lo + hi) / 2).toFixed(1));
    }
    for (const e of overlay.querySelectorAll('[data-at]')) {
      const px = x(+e.dataset.at);
      e.setAttribute('display', px >= D.left - 1 && px <= right + 1 ? 'inline' : 'none');
      // A label that would run off the right edge goes to the left of its moment.
      const w = e.getBBox().width + 8;
      e.setAttribute('transform', `translate(${(px + w > width ? px - w : px).toFixed(1)} 0)`);
    }
  }

  function drawAxis() {
    axis.replaceChildren();
    const span = plotWidth() / k;
    const wanted = span / Math.max(plotWidth() / 100, 1);
    const p = Math.pow(10, Math.floor(Math.log10(wanted)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= wanted);
    const digits = Math.max(0, Math.ceil(-Math.log10(step / 1000) - 1e-9));
    for (let t = Math.ceil(t0 / step) * step; t <= t0 + span; t += step) {
      const px = x(t).toFixed(1);
      el('line', { class: 'tick', x1: px, x2: px, y1: 18, y2: height }, axis);
      el('text', { x: +px + 3, y: 14 }, axis).textContent = seconds(t, digits);
    }
  }

  // The first message delivered at or after t (arrows are in delivery order).
  function firstAt(t) {
    let lo = 0, hi = D.arrows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (D.arrows[mid][1] < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function drawArrows() {
    arrows.replaceChildren();
    const span = plotWidth() / k, end = t0 + span;
    let drawn = 0;
    if (span <= D.arrowSpan) {
      for (let i = firstAt(t0); i < D.arrows.length && drawn < MAX_DRAWN; i++) {
        const [sent, at, from, to, kind, dropped, summary] = D.arrows[i];
        if (sent > end + 5000) break;
        if (sent > end) continue;
        const y1 = laneMid(from), y2 = dropped ? (y1 + laneMid(to)) / 2 : laneMid(to);
        const x2 = dropped ? x(at) + 6 : x(at);
        const cls = `arrow ${KIND[kind]}${dropped ? ' dropped' : ''}`;
        const a = el('line', { class: cls, x1: x(sent).toFixed(1), y1, x2: x2.toFixed(1), y2 }, arrows);
        el('title', {}, a).textContent = `s${from}→s${to} ${summary}`;
        drawn++;
      }
    }
    svg.dataset.arrows = drawn;
  }

  // How many of `points` ([[ms, ...], ...], in time order) are at or before t.
  function upTo(points, t) {
    let lo = 0, hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (points[mid][0] <= t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // The note nearest time t, if within a few pixels.
  function noteNear(t) {
    const i = upTo(D.notes, t);
    const near = [D.notes[i - 1], D.notes[i]].filter((n) => n && Math.abs(n[0] - t) * k < 5);
    return near.sort((a, b) => Math.abs(a[0] - t) - Math.abs(b[0] - t))[0];
  }

  // A lane's commit and applied index at time t.
  function indexesAt(lane, t) {
    const at = (points) => {
      const i = upTo(points, t);
      return i > 0 ? points[i - 1][1] : '-';
    };
    const [commit, applied] = D.indexes[lane];
    return `commit ${at(commit)} applied ${at(applied)}`;
  }

  function hover(e) {
    const box = svg.getBoundingClientRect();
    const px = e.clientX - box.left, py = e.clientY - box.top;
    if (px < D.left) return;
    const t = t0 + (px - D.left) / k;
    const lane = Math.floor((py - D.laneTop) / (D.laneHeight + D.laneGap));
    let text = `t = ${seconds(t, 6)}`;
    if (lane >= 0 && lane < D.lanes) text += `  s${lane}: ${indexesAt(lane, t)}`;
    const note = noteNear(t);
    if (note) text += `  · ${seconds(note[0], 6)} ${note[1]}`;
    status.textContent = text;
  }

  function zoomAt(px, factor) {
    const t = t0 + (px - D.left) / k;
    k *= factor;
    clamp();
    t0 = t - (px - D.left) / k;
    draw();
  }

  let drag = null;
  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    zoomAt(e.clientX - svg.getBoundingClientRect().left, Math.exp(-e.deltaY * 0.002));
  }, { passive: false });
  svg.addEventListener('pointerdown', (e) => {
    drag = { x: e.clientX, t0 };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener('pointermove', (e) => {
    if (drag) { t0 = drag.t0 - (e.clientX - drag.x) / k; draw(); } else hover(e);
  });
  svg.addEventListener('pointerup', () => { drag = null; });
  svg.addEventListener('dblclick', fit);
  document.addEventListener('keydown', (e) => {
    const middle = D.left + plotWidth() / 2, pan = plotWidth() / k / 4;
    const keys = {
      '+': () => zoomAt(middle, 1.5), '=': () => zoomAt(middle, 1.5), '-': () => zoomAt(middle, 1 / 1.5),
      ArrowLeft: () => { t0 -= pan; draw(); }, ArrowRight: () => { t0 += pan; draw(); },
      '0': fit, f: toFailure,
    };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  $('fit').addEventListener('click', fit);
  $('to-failure').addEventListener('click', toFailure);
  $('failure-flag')?.addEventListener('click', toFailure);

  function measure() {
    width = svg.getBoundingClientRect().width || +svg.getAttribute('width');
    svg.setAttribute('width', width);
    $('plot-area').firstElementChild.setAttribute('width', Math.max(plotWidth(), 1));
  }
  window.addEventListener('resize', () => {
    const span = plotWidth() / k;
    measure();
    k = plotWidth() / span;
    draw();
  });

  // The first view: #failure, #t=A-B (seconds), or the whole run.
  measure();
  const wanted = /^#t=([\d.]+)-([\d.]+)$/.exec(location.hash);
  if (location.hash === '#failure' && D.failure !== null) toFailure();
  else if (wanted) show(+wanted[1] * 1000, +wanted[2] * 1000);
  else fit();
  svg.dataset.ready = '1';
})();
