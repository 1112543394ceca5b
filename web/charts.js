// Charts: uPlot (loaded as a classic script, window.uPlot) in a <figure> that says "No data yet"
// when every series is empty, and that follows its container's width.

import {add, clockTime, el, number} from './dom.js';

const PALETTE = {
  original: {stroke: '#1f5fbf', dash: undefined},
  replacement: {stroke: '#b3541e', dash: [7, 4]},
  threshold: {stroke: '#b0182b', dash: [3, 3]},
  metric: {stroke: '#1f5fbf', dash: undefined},
  evaluated: {stroke: '#5a2a8a', dash: undefined},
};

// A chart in a <figure>: title, a "no data yet" note when every series is empty, uPlot inside.
// series: [{label, style: key of PALETTE, points: bool (markers only)}]
export class Chart {
  constructor(parent, {title, unit, series, description}) {
    this.unit = unit || '';
    this.seriesSpec = series;
    this.plot = null;
    this.figure = el('figure', {class: 'chart'});
    this.caption = el('figcaption', {}, el('span', {class: 'chart-title'}, title),
      unit ? el('span', {class: 'chart-unit'}, ` (${unit})`) : null);
    this.note = el('p', {class: 'chart-note'}, 'No data yet');
    this.body = el('div', {class: 'chart-body', role: 'img', 'aria-label': description || title});
    this.summary = el('p', {class: 'chart-summary'});
    add(this.figure, [this.caption, this.body, this.note, this.summary]);
    parent.append(this.figure);
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(this.body);
  }

  width() {
    return Math.max(200, Math.floor(this.body.clientWidth || 300));
  }

  fit() {
    if (this.plot) {
      const w = this.width();
      if (Math.abs(this.plot.width - w) > 2) this.plot.setSize({width: w, height: 180});
    }
  }

  // xs: seconds; ys: one array per series, null where there is no value.
  update(xs, ys, summaryText) {
    const hasData = ys.some((arr) => arr.some((v) => v !== null && v !== undefined));
    this.note.hidden = hasData;
    this.figure.classList.toggle('empty', !hasData);
    this.summary.textContent = summaryText || '';
    if (typeof window.uPlot !== 'function') {
      this.note.hidden = false;
      this.note.textContent = 'Charts are unavailable (uPlot did not load).';
      return;
    }
    const data = [xs, ...ys];
    if (!this.plot) {
      const unit = this.unit;
      const opts = {
        width: this.width(),
        height: 180,
        cursor: {drag: {x: false, y: false}},
        legend: {show: true, live: false},
        // y from 0 (or below, for negative values) to at least 1, so that an all-zero series
        // lies flat at the bottom instead of filling a microscopic scale.
        scales: {x: {time: true}, y: {range: (u, min, max) => [Math.min(0, min ?? 0), Math.max(max ?? 0, 1) * 1.1]}},
        axes: [
          {space: 72, values: (u, splits) => splits.map((x) => clockTime(x * 1000))},
          {size: 56, values: (u, vals) => vals.map((v) => number(v, 3) + (unit === '%' ? '%' : ''))},
        ],
        series: [{}, ...this.seriesSpec.map((s) => {
          const style = PALETTE[s.style] || PALETTE.metric;
          return {
            label: s.label,
            stroke: style.stroke,
            width: 2,
            dash: style.dash,
            spanGaps: !s.points,
            points: s.points ? {show: true, size: 8, fill: style.stroke} : {show: false},
            paths: s.points ? () => null : undefined,
            value: (u, v) => (v === null || v === undefined ? '—' : number(v, 3) + (unit ? ' ' + unit : '')),
          };
        })],
      };
      this.plot = new window.uPlot(opts, data, this.body);
    } else {
      this.plot.setData(data);
    }
  }

  destroy() {
    this.resize.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}

// Aligns several [{timestamp (ms), value}] lists on one x axis (seconds) for uPlot.
export function align(lists) {
  const xs = new Set();
  for (const list of lists) for (const p of list) xs.add(Math.round(p.timestamp / 1000));
  const sorted = [...xs].sort((a, b) => a - b);
  const index = new Map(sorted.map((x, i) => [x, i]));
  const ys = lists.map((list) => {
    const arr = new Array(sorted.length).fill(null);
    for (const p of list) {
      if (p.value !== null && p.value !== undefined) arr[index.get(Math.round(p.timestamp / 1000))] = p.value;
    }
    return arr;
  });
  return {xs: sorted, ys};
}
