// The admin API (docs/API.md), same-origin: fetch for the endpoints, the daemon's clock from
// /v1/health, one EventSource on /v1/events for the whole page, and metric queries.

import {byId, enc, number, say, setConnection} from './dom.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, {method = 'GET', body} = {}) {
  const init = {method, headers: {Accept: 'application/json'}, credentials: 'same-origin'};
  if (method !== 'GET' && method !== 'HEAD') {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body === undefined ? {} : body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'Unavailable', `cannot reach the daemon (${e.message})`);
  }
  if (res.status === 401) {
    byId('auth-needed').hidden = false;
    throw new ApiError(401, 'Unauthenticated',
      'This daemon needs a token: open the URL that `cutover serve` printed (…/?token=…)');
  }
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const code = data && data.code ? data.code : `HTTP ${res.status}`;
    const message = data && data.message ? data.message : res.statusText;
    throw new ApiError(res.status, code, message);
  }
  return data;
}

// ---- the daemon's clock ------------------------------------------------------------------------

// /v1/health tells the daemon's time and --time-scale; between reads its clock is extrapolated.
const daemonClock = {scale: 1, nowMs: 0, readAt: 0};

export async function readHealth() {
  try {
    const h = await api('/v1/health');
    daemonClock.scale = Number(h.time_scale) > 0 ? Number(h.time_scale) : 1;
    daemonClock.nowMs = Number(h.now_ms) || 0;
    daemonClock.readAt = Date.now();
    const note = byId('time-scale');
    note.hidden = daemonClock.scale === 1;
    note.textContent = `time ×${number(daemonClock.scale)}`;
    note.title = `The daemon runs with --time-scale ${number(daemonClock.scale)}: its schedules and clock run that much faster.`;
  } catch (e) {
    // The views report errors; the clock is a nicety.
  }
}

export function daemonNow() {
  if (!daemonClock.nowMs) return 0;
  return daemonClock.nowMs + (Date.now() - daemonClock.readAt) * daemonClock.scale;
}

// ---- the event stream -------------------------------------------------------------------------

// One EventSource for the page. EventSource reconnects by itself (sending Last-Event-ID); when the
// daemon refuses it outright (readyState CLOSED) we open a new one after a pause, resuming after
// the last event seen. A deployment page watches its deployment's charts on the same stream
// (`?charts=ID`): the daemon pushes their newest periods once a second, to every page at once,
// instead of each page asking for them.
export const stream = {
  source: null,
  lastId: '',
  charts: '',      // the deployment whose charts this page watches
  openCharts: '',  // the one the open EventSource asked for
  rewatch: null,
  listeners: new Set(),
  reopenTimer: 0,
  everOpen: false,

  start() {
    const params = new URLSearchParams();
    if (this.lastId) params.set('after', this.lastId);
    if (this.charts) params.set('charts', this.charts);
    const query = params.toString();
    const source = new EventSource(query ? `/v1/events?${query}` : '/v1/events');
    this.source = source;
    this.openCharts = this.charts;
    source.addEventListener('open', () => {
      const wasDown = byId('conn').dataset.state === 'reconnecting';
      setConnection('live');
      if (wasDown) {
        say('Live updates resumed.');
        this.emit({type: '$reconnected'});
      }
      this.everOpen = true;
    });
    source.addEventListener('error', () => {
      setConnection('reconnecting');
      if (source.readyState === EventSource.CLOSED && !this.reopenTimer) {
        this.reopenTimer = setTimeout(() => {
          this.reopenTimer = 0;
          this.start();
        }, 3000);
      }
    });
    source.addEventListener('deployment', (message) => {
      if (message.lastEventId) this.lastId = message.lastEventId;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      this.emit(event);
    });
    source.addEventListener('charts', (message) => {
      let post;
      try {
        post = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      this.emit({type: '$charts', post});
    });
  },

  // Watch deployment `id`'s charts ('' for none): the stream is opened again with the new
  // `?charts=`, resuming after the last event seen. Changes within one task (leaving one
  // deployment's page for another's) reopen it once.
  watchCharts(id) {
    this.charts = id || '';
    if (this.rewatch) return;
    this.rewatch = Promise.resolve().then(() => {
      this.rewatch = null;
      if (!this.source || this.openCharts === this.charts) return;
      this.source.close();
      clearTimeout(this.reopenTimer);
      this.reopenTimer = 0;
      this.start();
    });
  },

  emit(event) {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (e) {
        console.error(e);
      }
    }
  },

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  },
};

// "AWS/ApiGateway 5XXError {ApiName=dev-svc}" → {namespace, name, dimensions: "ApiName=dev-svc"}
export function parseMetric(text) {
  const m = /^(\S+) (\S+) \{(.*)\}$/.exec(text || '');
  return m ? {namespace: m[1], name: m[2], dimensions: m[3]} : null;
}

export function metricQuery({namespace, name, dimensions, statistic, period, start, end, minutes}) {
  const q = new URLSearchParams({namespace, name, statistic, period: String(period)});
  if (dimensions) q.set('dimensions', dimensions);
  if (start !== undefined) q.set('start', String(Math.floor(start)));
  if (end !== undefined) q.set('end', String(Math.floor(end)));
  if (minutes !== undefined) q.set('minutes', String(minutes));
  return api(`/v1/metrics/query?${q}`);
}

// Several queries in one request (POST /v1/metrics/data): [{id, namespace, name, dimensions:
// {Name: Value}, statistic, period, start, end}] → {id: answer}, each answer as metricQuery's.
export async function metricData(queries) {
  const body = {queries: queries.map(({id, namespace, name, dimensions, statistic, period, start, end}) => {
    const q = {id, namespace, name, statistic, period};
    if (dimensions) q.dimensions = dimensions;
    if (start !== undefined) q.start = Math.floor(start);
    if (end !== undefined) q.end = Math.floor(end);
    return q;
  })};
  const got = await api('/v1/metrics/data', {method: 'POST', body});
  const out = {};
  for (const r of got.results || []) out[r.id] = r;
  return out;
}

// A period that keeps a window to about 200 points; percentiles beyond 15 minutes need whole
// minutes (docs/API.md).
export function periodFor(spanMs) {
  const seconds = Math.max(1, spanMs / 1000);
  let period = Math.max(1, Math.ceil(seconds / 200));
  if (seconds > 14 * 60) period = Math.max(60, Math.ceil(period / 60) * 60);
  return period;
}
