// #/alarms/<name> — state, datapoints against the threshold, history with reasons, deliveries.

import {api, metricQuery, parseMetric} from './api.js';
import {Chart, align} from './charts.js';
import {COMPARISON, add, badge, clockTime, el, enc, errorBox, number, renderInto, section, table, timeEl} from './dom.js';
import {View} from './view.js';

export class AlarmView extends View {
  constructor(main, name) {
    super(main);
    this.name = name;
  }

  mount() {
    document.title = `${this.name} · cutover`;
    this.headBox = el('div');
    this.chartBox = el('div');
    this.historyBox = el('div');
    this.deliveriesBox = el('div');
    add(this.main, [
      el('p', {class: 'crumbs'}, el('a', {href: '#/'}, 'Overview'), ' › alarm'),
      el('h1', {}, 'Alarm ', el('span', {class: 'mono'}, this.name)),
      this.headBox,
      section('Datapoints', this.chartBox),
      section('State history', this.historyBox),
      section('Actions delivered', this.deliveriesBox),
    ]);
    this.chart = new Chart(this.chartBox, {
      title: this.name, unit: '',
      series: [{label: 'datapoints', style: 'metric'}, {label: 'last evaluation', style: 'evaluated', points: true},
        {label: 'threshold', style: 'threshold'}],
      description: `Alarm ${this.name}: datapoints against its threshold`,
    });
    this.charts.push(this.chart);
    this.refresh();
    this.every(2000, () => this.refresh());
  }

  async refresh() {
    let a;
    try {
      a = await api(`/v1/alarms/${enc(this.name)}`);
    } catch (e) {
      if (this.alive) renderInto(this.headBox, 'error:' + e.message, () => errorBox(e));
      return;
    }
    if (!this.alive) return;
    renderInto(this.headBox, JSON.stringify([a.state, a.reason, a.updated_ms]), () => [
      el('p', {class: 'deployment-status'}, el('span', {'data-testid': 'alarm-state'}, badge(a.state, 'big')),
        ' ', el('span', {class: 'muted'}, `since ${clockTime(a.updated_ms)}, evaluated ${clockTime(a.evaluated_ms)}`)),
      el('p', {class: 'reason'}, a.reason || ''),
      a.description ? el('p', {class: 'muted'}, a.description) : null,
      el('dl', {class: 'facts'},
        el('dt', {}, 'Metric'), el('dd', {class: 'mono'}, a.metric || (a.metrics || []).map((m) => m.expression || m.metric).join('; ')),
        el('dt', {}, 'Statistic'), el('dd', {}, a.statistic || 'metric math'),
        el('dt', {}, 'Period'), el('dd', {}, `${a.period} s`),
        el('dt', {}, 'Condition'), el('dd', {}, `${COMPARISON[a.comparison] || a.comparison} ${number(a.threshold)} (${a.comparison})`),
        el('dt', {}, 'Datapoints to alarm'), el('dd', {}, `${a.datapoints_to_alarm} of ${a.evaluation_periods}`),
        el('dt', {}, 'Missing data'), el('dd', {}, a.treat_missing_data),
        el('dt', {}, 'Service'), el('dd', {}, `${a.service} (${a.stage})`)),
    ]);
    renderInto(this.historyBox, JSON.stringify((a.history || []).map((h) => h.timestamp)), () =>
      table('State history', ['Time', 'Change', 'Reason'], (a.history || []).map((h) => [
        timeEl(h.timestamp),
        el('span', {}, badge(h.old_state), ' → ', badge(h.new_state)),
        el('span', {class: 'reason'}, h.reason),
      ]), 'No transitions yet.'));
    renderInto(this.deliveriesBox, JSON.stringify(a.deliveries || []), () =>
      table('Actions delivered', ['Finished', 'URL', 'State', 'Outcome', 'Attempts', 'HTTP'], (a.deliveries || []).map((d) => [
        timeEl(d.finished_ms), el('span', {class: 'mono small'}, d.url), badge(d.state), d.outcome, String(d.attempts),
        d.http_status ? String(d.http_status) : (d.error || '—'),
      ]), 'This alarm has no actions, or none has run.'));

    let series = [];
    const metric = parseMetric(a.metric);
    if (metric) {
      const minutes = Math.max(15, Math.ceil((a.period * a.evaluation_periods * 5) / 60));
      const r = await metricQuery({...metric, statistic: a.statistic, period: a.period, minutes})
        .catch(() => ({datapoints: []}));
      series = r.datapoints || [];
    }
    if (!this.alive) return;
    const evaluated = (a.datapoints || []).filter((p) => p.value !== null);
    const all = [...series, ...evaluated];
    const threshold = all.length ? all.map((p) => ({timestamp: p.timestamp, value: a.threshold})) : [];
    const {xs, ys} = align([series, evaluated, threshold]);
    this.chart.update(xs, ys, `threshold ${number(a.threshold)} · ${a.statistic || ''} per ${a.period} s`);
  }
}
