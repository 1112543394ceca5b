// #/functions/<name> — configuration, alias, versions with their hashes, deployments, log tail.

import {api} from './api.js';
import {add, badge, clockTime, deploymentLink, el, enc, errorBox, renderInto, section, table, timeEl} from './dom.js';
import {View, aliasSplit} from './view.js';

export class FunctionView extends View {
  constructor(main, name) {
    super(main);
    this.name = name;
  }

  mount() {
    document.title = `${this.name} · cutover`;
    this.headBox = el('div');
    this.versionsBox = el('div');
    this.aliasBox = el('div');
    this.deploymentsBox = el('div');
    this.logs = el('pre', {class: 'logs', tabindex: '0', 'aria-label': 'Log tail'});
    this.follow = el('input', {type: 'checkbox', id: 'follow-logs', checked: true});
    this.logNote = el('span', {class: 'small muted'});
    add(this.main, [
      el('p', {class: 'crumbs'}, el('a', {href: '#/'}, 'Overview'), ' › function'),
      el('h1', {}, 'Function ', el('span', {class: 'mono'}, this.name)),
      this.headBox,
      section('Aliases', this.aliasBox),
      section('Versions', this.versionsBox),
      section('Deployments', this.deploymentsBox),
      section('Logs',
        el('div', {class: 'buttons'},
          el('button', {type: 'button', class: 'secondary', onclick: () => this.refreshLogs()}, 'Refresh logs'),
          el('label', {for: 'follow-logs', class: 'check'}, this.follow, ' Follow (every 2 s)'),
          this.logNote),
        this.logs),
    ]);
    this.refresh();
    this.refreshLogs();
    this.every(3000, () => this.refresh());
    this.every(2000, () => {
      if (this.follow.checked) this.refreshLogs();
    });
    this.listen((e) => {
      if (e.type === '$reconnected' || (e.deployment && e.deployment.lambdaTarget.functionName === this.name)) this.refresh();
    });
  }

  async refresh() {
    let f;
    let deployments = [];
    try {
      [f, deployments] = await Promise.all([
        api(`/v1/functions/${enc(this.name)}`),
        api(`/v1/deployments?function=${enc(this.name)}&limit=10`).then((r) => r.deployments || []).catch(() => []),
      ]);
    } catch (e) {
      if (this.alive) renderInto(this.headBox, 'error:' + e.message, () => errorBox(e));
      return;
    }
    if (!this.alive) return;
    renderInto(this.headBox, JSON.stringify([f.runtime, f.handler, f.timeout, f.memory_size, f.routes]), () => [
      el('dl', {class: 'facts'},
        el('dt', {}, 'Service'), el('dd', {}, `${f.service} (${f.stage})`),
        el('dt', {}, 'Runtime'), el('dd', {}, f.runtime),
        el('dt', {}, 'Handler'), el('dd', {class: 'mono'}, f.handler),
        el('dt', {}, 'Timeout'), el('dd', {}, `${f.timeout} s`),
        el('dt', {}, 'Memory'), el('dd', {}, `${f.memory_size} MB`),
        el('dt', {}, 'Routes'), el('dd', {}, el('ul', {class: 'plain'}, (f.routes || []).map((r) =>
          el('li', {class: 'mono small'}, `${r.method} ${r.path} (${r.kind})`))))),
    ]);
    renderInto(this.aliasBox, JSON.stringify(f.alias), () => f.alias
      ? [el('p', {}, el('strong', {}, f.alias.name), el('span', {class: 'small muted'}, ` · updated ${clockTime(f.alias.updated_ms)}`)),
        aliasSplit(f.alias, 'alias-split')]
      : el('p', {class: 'muted'}, 'No alias.'));
    renderInto(this.versionsBox, JSON.stringify(f.versions), () =>
      table('Versions', ['Version', 'Published', 'Code SHA-256', 'Configuration SHA-256', 'Instances', 'Cold starts'],
        [...(f.versions || [])].reverse().map((v) => [
          el('strong', {}, `v${v.version}`),
          timeEl(v.created_ms),
          el('span', {class: 'mono small hash'}, v.code_sha256),
          el('span', {class: 'mono small hash'}, v.config_sha256),
          v.pool ? `${v.pool.instances} (${v.pool.busy} busy, ${v.pool.queued} queued)` : '—',
          v.pool ? String(v.pool.cold_starts) : '—',
        ]), 'No versions.'));
    renderInto(this.deploymentsBox, JSON.stringify(deployments.map((d) => [d.deploymentId, d.status])), () =>
      table('Deployments', ['Deployment', 'Versions', 'Status', 'Created'], deployments.map((d) => [
        deploymentLink(d.deploymentId),
        `v${d.lambdaTarget.currentVersion} → v${d.lambdaTarget.targetVersion}`,
        badge(d.status),
        timeEl(d.createTime),
      ]), 'No deployments.'));
  }

  async refreshLogs() {
    if (this.logsBusy) return;
    this.logsBusy = true;
    try {
      const text = await api(`/v1/functions/${enc(this.name)}/logs?tail=16384`);
      if (!this.alive) return;
      const atBottom = this.logs.scrollTop + this.logs.clientHeight >= this.logs.scrollHeight - 8;
      if (this.logs.textContent !== text) {
        this.logs.textContent = text || '(no output yet)';
        if (atBottom) this.logs.scrollTop = this.logs.scrollHeight;
      }
      this.logNote.textContent = `the last 16 KiB, read at ${clockTime(Date.now())} (this computer's clock)`;
    } catch (e) {
      if (this.alive) this.logNote.textContent = `could not read the logs: ${e.message}`;
    } finally {
      this.logsBusy = false;
    }
  }
}
