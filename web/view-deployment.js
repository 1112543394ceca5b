// #/deployments/<id> — CodeDeploy's deployment page, live: status, actions, traffic, lifecycle,
// per-version metrics, watched alarms and the event log with the evidence behind each decision.

import {ApiError, api, daemonNow, metricData, metricQuery, parseMetric, periodFor, stream} from './api.js';
import {Chart, align} from './charts.js';
import {COMPARISON, add, alarmLink, badge, clockTime, confirmAction, deploymentLink, duration, el, enc, errorBox, functionLink, isActive, number, percent, renderInto, say, section, table, timeEl} from './dom.js';
import {View, deploymentWeights, splitBar, weightsText} from './view.js';

const PHASES = ['Start', 'BeforeAllowTraffic', 'AllowTraffic', 'AfterAllowTraffic', 'End'];
const METRICS = [
  {name: 'Requests', statistic: 'Sum', title: 'Requests per second', unit: 'req/s', per: 'second'},
  {name: '5XXError', statistic: 'Average', title: '5XX error rate', unit: '%', scale: 100},
  {name: 'Latency', statistic: 'p50', title: 'Latency p50', unit: 'ms'},
  {name: 'Latency', statistic: 'p99', title: 'Latency p99', unit: 'ms'},
];

export class DeploymentView extends View {
  constructor(main, id) {
    super(main);
    this.id = id;
    this.d = null;
    this.events = [];
    this.alarmViews = new Map();  // name → /v1/alarms/{name}
    this.early = [];              // events that came before the deployment was loaded
    this.latestTime = 0;          // the newest daemon time seen: the daemon's "now", about
  }

  mount() {
    document.title = `${this.id} · cutover`;
    this.heading = el('h1', {}, 'Deployment ', el('span', {class: 'mono'}, this.id));
    this.summaryBox = el('div', {class: 'summary'});
    this.actionsBox = el('div', {class: 'actions'});
    this.trafficBox = el('div');
    this.lifecycleBox = el('div');
    this.metricsBox = el('div', {class: 'chart-grid'});
    this.metricsNote = el('p', {class: 'small muted'});
    this.alarmsBox = el('div', {class: 'chart-grid'});
    this.eventsBox = el('ol', {class: 'events', reversed: true});  // newest first
    add(this.main, [
      el('p', {class: 'crumbs'}, el('a', {href: '#/'}, 'Overview'), ' › deployment'),
      this.heading,
      this.summaryBox,
      section('Actions', this.actionsBox),
      section('Traffic shifting', this.trafficBox),
      section('Lifecycle events', this.lifecycleBox),
      section('Metrics per version', this.metricsNote, this.metricsBox),
      section('Alarms watched', this.alarmsBox),
      section('Event log', el('p', {class: 'small muted'}, 'Newest first. Each decision carries the alarm evidence it was made on.'), this.eventsBox),
    ]);
    this.buildActions();
    this.listen((e) => this.onEvent(e));
    this.load();
  }

  async load() {
    try {
      const got = await api(`/v1/deployments/${enc(this.id)}`);
      if (!this.alive) return;
      this.d = got.deployment;
      this.events = got.events || [];
      this.noteTimes();
      this.renderAll();
      this.setupCharts();
      const early = this.early;
      this.early = [];
      for (const e of early) this.onEvent(e);
      // The daemon pushes the charts' newest periods once a second on the event stream; the
      // window so far is read once, after watching starts, so no period falls between the two.
      stream.watchCharts(this.id);
      this.refreshMetrics();
      this.refreshAlarms();
    } catch (e) {
      if (!this.alive) return;
      this.summaryBox.replaceChildren(errorBox(e.status === 404
        ? new ApiError(404, 'NotFound', `There is no deployment ${this.id}.`) : e));
      say(`Could not load ${this.id}: ${e.message}`);
    }
  }

  noteTimes() {
    const d = this.d;
    for (const t of [d.createTime, d.updateTime, d.completeTime, ...this.events.map((e) => e.time)]) {
      if (Number(t) > this.latestTime) this.latestTime = Number(t);
    }
  }

  destroy() {
    stream.watchCharts('');
    super.destroy();
  }

  onEvent(e) {
    if (e.type === '$reconnected') {
      // The events and chart posts sent while the stream was down: read the log, the window and
      // the alarms' series again. The pushes that would have finished the periods seen before the
      // gap are lost, so the series read now replaces what the page holds.
      this.reload();
      if (this.metricCache) this.refreshMetrics(this.metricCache.period);
      this.refreshAlarms({replace: true});
      return;
    }
    if (e.type === '$charts') {
      this.onCharts(e.post);
      return;
    }
    if (e.deploymentId !== this.id) return;
    if (!this.d) {
      // Before the log is loaded: kept, and applied after it if the log did not have it yet.
      this.early.push(e);
      return;
    }
    const last = this.events.length ? this.events[this.events.length - 1].seq : 0;
    if (e.seq <= last) return;  // seen already (a resumed stream)
    if (e.seq !== last + 1) {
      this.reload();  // a gap: read the whole log again
      return;
    }
    const wasActive = isActive(this.d);
    this.events.push({seq: e.seq, time: e.time, type: e.type, data: e.data});
    this.d = e.deployment;
    this.noteTimes();
    this.renderAll();
    if (e.type === 'TrafficShifted') say(`Traffic shifted: ${weightsText(deploymentWeights(this.d))}`);
    if (wasActive && !isActive(this.d)) {
      const err = this.d.errorInformation;
      say(`Deployment ${this.d.status}${err ? ` (${err.code}: ${err.message})` : ''}.`);
    }
  }

  async reload() {
    try {
      const got = await api(`/v1/deployments/${enc(this.id)}`);
      if (!this.alive) return;
      this.d = got.deployment;
      this.events = got.events || [];
      this.noteTimes();
      this.renderAll();
    } catch (e) {
      say(`Could not refresh ${this.id}: ${e.message}`);
    }
  }

  renderAll() {
    this.renderSummary();
    this.renderActions();
    this.renderTraffic();
    this.renderLifecycle();
    this.renderEvents();
  }

  renderSummary() {
    const d = this.d;
    const t = d.lambdaTarget;
    const rb = d.rollbackInfo;
    const err = d.errorInformation;
    renderInto(this.summaryBox, JSON.stringify([d.status, d.phase, err, rb, d.completeTime, d.promoteRequested]), () => [
      el('p', {class: 'deployment-status'},
        el('span', {class: 'visually-hidden'}, 'Status: '),
        el('span', {'data-testid': 'deployment-status', class: 'status-word'}, badge(d.status, 'big')),
        ' ', el('span', {class: 'muted'}, isActive(d) ? `phase ${d.phase}` : `ended at ${clockTime(d.completeTime)}`)),
      err ? el('p', {class: 'error-info', 'data-testid': 'error-information'},
        el('strong', {class: 'mono'}, err.code), ': ', err.message) : null,
      rb && rb.rollbackDeploymentId ? el('p', {class: 'rollback-info'},
        el('span', {'aria-hidden': 'true'}, '↩ '), 'Rolled back by ',
        el('a', {href: `#/deployments/${enc(rb.rollbackDeploymentId)}`, class: 'mono', 'data-testid': 'rollback-link'}, rb.rollbackDeploymentId),
        rb.rollbackMessage ? ` — ${rb.rollbackMessage}` : '') : null,
      rb && rb.rollbackTriggeringDeploymentId ? el('p', {class: 'rollback-info'},
        el('span', {'aria-hidden': 'true'}, '↩ '), 'Rollback of ',
        deploymentLink(rb.rollbackTriggeringDeploymentId),
        rb.rollbackMessage ? ` — ${rb.rollbackMessage}` : '') : null,
      el('dl', {class: 'facts'},
        el('dt', {}, 'Function'), el('dd', {}, functionLink(t.functionName)),
        el('dt', {}, 'Alias'), el('dd', {}, t.functionAlias),
        el('dt', {}, 'Versions'), el('dd', {}, `original v${t.currentVersion} → replacement v${t.targetVersion}`),
        el('dt', {}, 'Configuration'), el('dd', {}, d.deploymentConfigName),
        el('dt', {}, 'Created by'), el('dd', {}, d.creator === 'codeDeployRollback' ? 'automatic rollback' : d.creator),
        el('dt', {}, 'Started'), el('dd', {}, timeEl(d.createTime)),
        el('dt', {}, 'Duration'), el('dd', {}, d.completeTime ? duration(d.completeTime - d.createTime) : 'running')),
      d.promoteRequested && isActive(d) ? el('p', {class: 'small'}, 'Promotion requested: moving to 100% now.') : null,
    ]);
  }

  buildActions() {
    const make = (label, kind, question, run) => el('button', {type: 'button', class: kind,
      onclick: async () => {
        if (!isActive(this.d)) return;
        const ok = await confirmAction({title: `${label}?`, text: question});
        if (!ok) {
          say(`${label}: cancelled.`);
          return;
        }
        try {
          say(`${label}: sending…`);
          const got = await run();
          if (got && got.deployment) {
            // The stream brings the events; the answer already has the new state.
            this.d = got.deployment;
            this.noteTimes();
            this.renderAll();
          }
          say(`${label}: done.`);
        } catch (e) {
          say(`${label} failed: ${e.code}: ${e.message}`);
          this.actionError.replaceChildren(errorBox(e));
        }
      }}, label);
    this.stopButton = make('Stop', 'secondary',
      `Stop ${this.id} where it is? Traffic stays split as it is now.`,
      () => api(`/v1/deployments/${enc(this.id)}/stop`, {method: 'POST', body: {rollback: false}}));
    this.rollbackButton = make('Stop and roll back', 'danger',
      `Stop ${this.id} and move all traffic back to the original version?`,
      () => api(`/v1/deployments/${enc(this.id)}/stop`, {method: 'POST', body: {rollback: true}}));
    this.promoteButton = make('Promote', 'primary',
      `Skip the remaining waits of ${this.id}: all traffic goes to the replacement version now (the post-traffic hook still runs).`,
      () => api(`/v1/deployments/${enc(this.id)}/promote`, {method: 'POST', body: {}}));
    this.actionsNote = el('p', {class: 'small muted'});
    this.actionError = el('div');
    add(this.actionsBox, [el('div', {class: 'buttons'}, this.stopButton, this.rollbackButton, this.promoteButton),
      this.actionsNote, this.actionError]);
  }

  renderActions() {
    const active = isActive(this.d);
    for (const b of [this.stopButton, this.rollbackButton, this.promoteButton]) b.disabled = !active;
    if (active && this.d.promoteRequested) this.promoteButton.disabled = true;
    this.actionsNote.textContent = active
      ? 'Each action asks for confirmation first.'
      : `This deployment has ended (${this.d.status}); there is nothing to stop or promote.`;
  }

  renderTraffic() {
    const d = this.d;
    const steps = (d.plan && d.plan.steps) || [];
    const last = [...this.events].reverse().find((e) => e.type === 'TrafficShifted');
    const next = last && last.data && last.data.nextShiftTime;
    const stepText = d.step >= steps.length && d.step > 0
      ? `All ${steps.length} steps done: all traffic on the replacement`
      : d.phase === 'AllowTraffic' || d.step > 0
      ? `Step ${d.step + 1} of ${steps.length}`
      : d.phase === 'Start' || d.phase === 'BeforeAllowTraffic' ? 'Traffic has not moved yet.' : '';
    renderInto(this.trafficBox, JSON.stringify([d.lambdaTarget, d.step, d.phase, d.status, next]), () => [
      splitBar({...deploymentWeights(d), testId: 'traffic-split'}),
      el('p', {class: 'small'}, stepText,
        isActive(d) && next && d.phase === 'AllowTraffic' ? ` · next shift at ${clockTime(next)}` : '',
        ` · ${d.deploymentConfigName}`),
      steps.length ? el('details', {class: 'plan'}, el('summary', {}, 'Plan'),
        el('ol', {}, steps.map((s, i) => el('li', {class: i === d.step ? 'current' : null},
          `${percent(s.weight)} for ${duration(s.hold_ms)}`, i === d.step && isActive(d) ? ' ◀ now' : '')),
        el('li', {}, '100%')))
        : null,
    ]);
  }

  // When each lifecycle step started and ended, from the event log.
  phaseTimes() {
    const ended = {};
    for (const e of this.events) {
      if (e.type === 'LifecycleEvent' && e.data && e.data.name) ended[e.data.name] = e.time;
    }
    const started = {};
    const startEvent = this.events.find((e) => e.type === 'DeploymentStarted');
    if (startEvent) started.Start = startEvent.time;
    for (let i = 1; i < PHASES.length; i++) {
      if (ended[PHASES[i - 1]] !== undefined) started[PHASES[i]] = ended[PHASES[i - 1]];
    }
    const stop = this.events.find((e) => e.type === 'DeploymentStopped' || e.type === 'DeploymentFailed');
    if (stop && stop.data && stop.data.phase && ended[stop.data.phase] === undefined) ended[stop.data.phase] = stop.time;
    return {started, ended};
  }

  renderLifecycle() {
    const {started, ended} = this.phaseTimes();
    const statuses = new Map((this.d.lifecycleEvents || []).map((l) => [l.lifecycleEventName, l]));
    renderInto(this.lifecycleBox, JSON.stringify([[...statuses.values()], started, ended]), () =>
      el('ol', {class: 'lifecycle'}, PHASES.map((name) => {
        const l = statuses.get(name) || {status: 'Pending'};
        const s = started[name];
        const e = ended[name];
        return el('li', {class: `phase state-${String(l.status).toLowerCase()}`},
          el('span', {class: 'phase-name'}, name),
          badge(l.status),
          el('span', {class: 'phase-time small'},
            s ? ['started ', timeEl(s)] : null,
            e && l.status !== 'Pending' ? [s ? ', ended ' : 'ended ', timeEl(e), s ? ` (${duration(e - s)})` : ''] : null),
          l.hook ? el('span', {class: 'small muted'}, ` hook ${l.hook.function_name}: ${l.hook.status || 'pending'}`) : null);
      })));
  }

  renderEvents() {
    const shown = Number(this.eventsBox.dataset.count || 0);
    if (shown > this.events.length) {
      this.eventsBox.replaceChildren();
      this.eventsBox.dataset.count = '0';
    }
    for (let i = Number(this.eventsBox.dataset.count || 0); i < this.events.length; i++) {
      this.eventsBox.prepend(eventItem(this.events[i]));
    }
    this.eventsBox.dataset.count = String(this.events.length);
  }

  // ---- charts

  setupCharts() {
    const t = this.d.lambdaTarget;
    this.metricCache = null;
    this.versions = [
      {version: t.currentVersion, label: `v${t.currentVersion} original`, style: 'original'},
      {version: t.targetVersion, label: `v${t.targetVersion} replacement`, style: 'replacement'},
    ];
    this.metricCharts = METRICS.map((m) => {
      const chart = new Chart(this.metricsBox, {
        title: m.title, unit: m.unit,
        series: this.versions.map((v) => ({label: v.label, style: v.style})),
        description: `${m.title} of versions ${this.versions.map((v) => v.version).join(' and ')}`,
      });
      this.charts.push(chart);
      return chart;
    });
    this.alarmCharts = new Map();
    this.alarmData = new Map();  // name → {alarm, series: Map(timestamp → point), period}
    const names = this.d.alarms || [];
    if (!names.length) this.alarmsBox.append(el('p', {class: 'muted'}, 'This deployment watches no alarm.'));
    for (const name of names) {
      const box = el('div', {class: 'alarm-box'});
      const head = el('div', {class: 'alarm-head'});
      box.append(head);
      this.alarmsBox.append(box);
      const chart = new Chart(box, {
        title: name, unit: '',
        series: [{label: 'datapoints', style: 'metric'}, {label: 'evaluated', style: 'evaluated', points: true},
          {label: 'threshold', style: 'threshold'}],
        description: `Alarm ${name}: datapoints against its threshold`,
      });
      this.charts.push(chart);
      this.alarmCharts.set(name, {chart, head});
    }
  }

  window() {
    const d = this.d;
    const start = Number(d.createTime) - 60000;
    const end = d.completeTime ? Number(d.completeTime) + 60000 : undefined;
    const span = (end || Math.max(this.latestTime, Number(d.updateTime), daemonNow())) - start;
    return {start, end, period: periodFor(span)};
  }

  // The id the daemon gives a chart query in its pushes: "Latency:p99:2".
  static queryId(m, v) {
    return `${m.name}:${m.statistic}:${v.version}`;
  }

  // Reads the whole window at `period` (the page's own estimate until the daemon's first push),
  // into a new set of held periods that pushes merge into from now on.
  async refreshMetrics(period) {
    if (!this.metricCharts) return;
    const t = this.d.lambdaTarget;
    const w = this.window();
    if (period === undefined) period = w.period;
    const cache = {period, held: METRICS.map(() => this.versions.map(() => new Map()))};
    this.metricCache = cache;
    const fn = t.functionName;
    const queries = [];
    METRICS.forEach((m, i) => this.versions.forEach((v, k) => {
      queries.push({id: `${i}.${k}`, namespace: 'Cutover', name: m.name, statistic: m.statistic, period, start: w.start, end: w.end,
        dimensions: {FunctionName: fn, Resource: `${fn}:${t.functionAlias}`, ExecutedVersion: String(v.version)}});
    }));
    const answers = await metricData(queries).catch(() => ({}));
    if (!this.alive || this.metricCache !== cache) return;
    METRICS.forEach((m, i) => this.versions.forEach((v, k) => {
      const r = answers[`${i}.${k}`];
      if (r && r.exists) cache.exists = true;
      // A push may already hold a newer value of the last period: keep it.
      for (const p of (r && r.datapoints) || []) {
        if (!cache.held[i][k].has(Number(p.timestamp))) cache.held[i][k].set(Number(p.timestamp), p);
      }
    }));
    this.drawMetrics();
  }

  // A push of the daemon's (api/live_charts.h): the periods since its previous push, for the
  // per-version charts and each watched alarm.
  onCharts(post) {
    if (!this.metricCharts || !post || post.deploymentId !== this.id) return;
    if (Number(post.now) > this.latestTime) this.latestTime = Number(post.now);
    this.pushes = (this.pushes || 0) + 1;
    this.metricsBox.dataset.pushes = String(this.pushes);  // for tests and the curious
    if (!this.metricCache || this.metricCache.period !== post.period) {
      // The window outgrew its period: the points held no longer fit; read it again at the new one.
      this.refreshMetrics(post.period);
    }
    const cache = this.metricCache;
    const byId = new Map((post.metrics || []).map((r) => [r.id, r]));
    METRICS.forEach((m, i) => this.versions.forEach((v, k) => {
      const r = byId.get(DeploymentView.queryId(m, v));
      if (!r) return;
      if (r.exists) cache.exists = true;
      for (const p of r.datapoints || []) cache.held[i][k].set(Number(p.timestamp), p);
    }));
    this.drawMetrics();
    for (const {alarm, series} of post.alarms || []) {
      const state = this.alarmData.get(alarm.name) || {alarm: null, series: new Map(), period: 0};
      if (series && state.period !== series.period) state.series = new Map();
      state.alarm = alarm;
      if (series) {
        state.period = series.period;
        for (const p of series.datapoints || []) state.series.set(Number(p.timestamp), p);
      }
      this.alarmData.set(alarm.name, state);
      this.drawAlarm(alarm.name);
    }
  }

  drawMetrics() {
    const {period, held, exists} = this.metricCache;
    METRICS.forEach((m, i) => {
      const lists = this.versions.map((v, k) => [...held[i][k].values()]
        .sort((x, y) => x.timestamp - y.timestamp)
        .map((p) => {
          if (Number(p.timestamp) > this.latestTime) this.latestTime = Number(p.timestamp);
          let value = p.value;
          if (value !== null && value !== undefined) {
            if (m.per === 'second') value /= period;
            if (m.scale) value *= m.scale;
          }
          return {timestamp: p.timestamp, value};
        }));
      const {xs, ys} = align(lists);
      const lastValues = ys.map((arr) => [...arr].reverse().find((v) => v !== null));
      const summary = this.versions.map((v, k) => `${v.label}: ${lastValues[k] === undefined ? 'no data' : number(lastValues[k]) + ' ' + m.unit}`).join(' · ');
      this.metricCharts[i].update(xs, ys, summary);
    });
    this.metricsNote.textContent = exists
      ? `Per version, from the gateway (namespace Cutover), ${period}-second periods of the daemon's clock.`
      : 'No per-version metrics yet: they appear once requests reach the alias.';
  }

  // Reads each watched alarm and its metric over the whole window: once at load, where a period
  // already pushed is kept (the push may be newer than the read), and after a reconnect with
  // `replace`, where the read wins. Pushes keep them current in between.
  async refreshAlarms({replace = false} = {}) {
    if (!this.alarmCharts) return;
    const {start, end} = this.window();
    await Promise.all([...this.alarmCharts.keys()].map(async (name) => {
      let alarm = null;
      try {
        alarm = await api(`/v1/alarms/${enc(name)}`);
      } catch (e) {
        if (!this.alive) return;
        const {head} = this.alarmCharts.get(name);
        renderInto(head, 'error:' + e.message, () => el('p', {}, badge('UNKNOWN'), ' ', alarmLink(name), ` — ${e.message}`));
        return;
      }
      const metric = parseMetric(alarm.metric);
      let series = null;
      if (metric) {
        series = await metricQuery({...metric, statistic: alarm.statistic, period: alarm.period, start, end})
          .catch(() => null);
      }
      if (!this.alive) return;
      const state = this.alarmData.get(name) || {alarm, series: new Map(), period: alarm.period};
      if (!this.alarmData.has(name)) this.alarmData.set(name, state);
      if (replace) state.alarm = alarm;
      for (const p of (series && series.datapoints) || []) {
        if (replace || !state.series.has(Number(p.timestamp))) state.series.set(Number(p.timestamp), p);
      }
      this.drawAlarm(name);
    }));
  }

  drawAlarm(name) {
    const {chart, head} = this.alarmCharts.get(name) || {};
    const state = this.alarmData.get(name);
    if (!chart || !state) return;
    const alarm = state.alarm;
    // The datapoints every decision saw: the evidence in the event log.
    const evaluated = new Map();
    for (const e of this.events) {
      for (const a of evidenceOf(e)) {
        if (a.name !== name) continue;
        for (const p of a.datapoints || []) evaluated.set(p.timestamp, p.value);
      }
    }
    for (const p of alarm.datapoints || []) evaluated.set(p.timestamp, p.value);
    const series = [...state.series.values()].sort((x, y) => x.timestamp - y.timestamp);
    const evaluatedList = [...evaluated.entries()].map(([timestamp, value]) => ({timestamp, value}));
    const all = [...series, ...evaluatedList];
    const threshold = alarm.threshold;
    const thresholdList = threshold === null || !all.length ? [] : all.map((p) => ({timestamp: p.timestamp, value: threshold}));
    const {xs, ys} = align([series, evaluatedList, thresholdList]);
    renderInto(head, JSON.stringify([alarm.state, alarm.reason]), () => [
      el('p', {}, badge(alarm.state), ' ', alarmLink(name)),
      el('p', {class: 'small'}, `${alarm.statistic || 'expression'} over ${alarm.period} s ${COMPARISON[alarm.comparison] || alarm.comparison} ${number(alarm.threshold)}, ${alarm.datapoints_to_alarm} of ${alarm.evaluation_periods}`),
      el('p', {class: 'small reason'}, alarm.reason || ''),
    ]);
    chart.update(xs, ys, `threshold ${number(threshold)} · state ${alarm.state}`);
  }
}

function evidenceOf(e) {
  const data = e.data || {};
  if (Array.isArray(data.evidence)) return data.evidence;
  if (Array.isArray(data.alarms) && data.alarms.length && typeof data.alarms[0] === 'object') return data.alarms;
  return [];
}

// One entry of the event log: what happened, and for decisions the evidence behind them.
function eventItem(e) {
  const data = e.data && typeof e.data === 'object' ? e.data : {};
  let summary = '';
  switch (e.type) {
    case 'DeploymentCreated': summary = 'created'; break;
    case 'DeploymentStarted': summary = `v${data.currentVersion} → v${data.targetVersion} with ${data.deploymentConfigName || ''}`; break;
    case 'LifecycleEvent': summary = `${data.name}: ${data.status}`; break;
    case 'HookStarted': summary = `${data.phase} hook ${data.function} invoked (deadline ${clockTime(data.deadline)})`; break;
    case 'HookReported': summary = `${data.phase} hook ${data.function} reported ${data.status} after ${duration(data.afterMs)}`; break;
    case 'TrafficShifted': summary = `step ${Math.min(Number(data.step) + 1, data.steps)} of ${data.steps}: ${weightsText(data.weights)}${data.promoted ? ' (promoted)' : ''}`; break;
    case 'AlarmsIgnoredAtStart': summary = 'alarms already in ALARM were ignored at start (ignoreAlarmsAtStart)'; break;
    case 'AlarmWatched': summary = `watching ${data.name}`; break;
    case 'PromoteRequested': summary = `promotion requested in ${data.phase}`; break;
    case 'DeploymentStopped':
    case 'DeploymentFailed': summary = `${data.errorCode}: ${data.message} (in ${data.phase}, at ${weightsText(data.weights)})${data.rollback ? ', rolling back' : ''}`; break;
    case 'RolledBack': summary = `rollback ${data.rollbackDeploymentId}: ${weightsText(data.weights)} (the replacement had ${percent(data.targetWeightAtStop)})`; break;
    case 'RollbackCreated': summary = `rollback of ${data.triggeringDeploymentId}`; break;
    case 'RollbackSucceeded': summary = weightsText(data.weights); break;
    case 'DeploymentSucceeded': summary = `all traffic on v${data.weights ? data.weights.targetVersion : '?'} after ${duration(data.durationMs)}`; break;
    default: summary = '';
  }
  const decision = e.type === 'DeploymentStopped' || e.type === 'DeploymentFailed';
  const evidence = evidenceOf(e);
  const item = el('li', {class: `event${decision ? ' decision' : ''}`, 'data-type': e.type},
    el('span', {class: 'event-seq small'}, `#${e.seq}`), ' ',
    el('span', {class: 'event-time small'}, timeEl(e.time)), ' ',
    el('span', {class: 'event-type'}, e.type), ' ',
    el('span', {class: 'event-summary'}, summary));
  if (evidence.length) {
    item.append(el('details', {class: 'evidence', open: decision ? true : null},
      el('summary', {}, decision ? 'Evidence' : `Alarms at this step: ${evidence.map((a) => `${a.name} ${a.state}`).join(', ')}`),
      evidence.map(alarmEvidence)));
  }
  return item;
}

function alarmEvidence(a) {
  return el('div', {class: 'evidence-alarm'},
    el('p', {}, badge(a.state), ' ', alarmLink(a.name), a.ignored ? ' (ignored at start)' : '',
      a.threshold !== undefined ? el('span', {class: 'small'}, ` · threshold ${COMPARISON[a.comparison] || a.comparison || ''} ${number(a.threshold)}`) : ''),
    a.reason ? el('p', {class: 'small reason'}, a.reason) : null,
    (a.datapoints || []).length ? table(`Datapoints of ${a.name}`, ['Time', 'Value'],
      a.datapoints.map((p) => [timeEl(p.timestamp), p.value === null ? 'missing' : number(p.value, 6)])) : null);
}
