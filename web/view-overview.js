// #/ — every function with its alias and traffic split, the alarms, active and recent deployments.

import {api} from './api.js';
import {COMPARISON, add, alarmLink, badge, deploymentLink, el, errorBox, functionLink, isActive, number, renderInto, say, section, table, timeEl} from './dom.js';
import {View, aliasSplit, deploymentWeights, splitBar, weightsText} from './view.js';

export class OverviewView extends View {
  mount() {
    document.title = 'Overview · cutover';
    this.activeBox = el('div', {class: 'cards'});
    this.functionsBox = el('div', {class: 'cards'});
    this.alarmsBox = el('div');
    this.recentBox = el('div');
    add(this.main, [
      el('h1', {}, 'Overview'),
      section('Active deployments', this.activeBox),
      section('Functions', this.functionsBox),
      section('Alarms', this.alarmsBox),
      section('Recent deployments', this.recentBox),
    ]);
    this.refresh();
    this.every(3000, () => this.refresh());
    this.listen((e) => {
      if (e.type === '$reconnected') return this.refresh();
      if (e.deployment) {
        const d = e.deployment;
        if (e.type === 'TrafficShifted') {
          say(`${d.deploymentId}: ${weightsText(deploymentWeights(d))}`);
        } else if (!isActive(d) && (e.type === 'DeploymentSucceeded' || e.type === 'DeploymentStopped' || e.type === 'DeploymentFailed')) {
          say(`${d.deploymentId} ${d.status}`);
        }
      }
      this.soon();
    });
  }

  soon() {
    if (this.pending) return;
    this.pending = true;
    this.later(200, () => {
      this.pending = false;
      this.refresh();
    });
  }

  async refresh() {
    const ignore404 = (p, empty) => p.catch((e) => {
      if (e.status === 404) return empty;
      throw e;
    });
    try {
      const [status, alarms, deployments] = await Promise.all([
        api('/v1/status'),
        ignore404(api('/v1/alarms'), {alarms: []}),
        ignore404(api('/v1/deployments?limit=20'), {deployments: []}),
      ]);
      if (!this.alive) return;
      this.render(status, alarms.alarms || [], deployments.deployments || []);
    } catch (e) {
      if (!this.alive) return;
      renderInto(this.activeBox, 'error:' + e.message, () => errorBox(e));
    }
  }

  render(status, alarms, deployments) {
    const active = deployments.filter(isActive);
    renderInto(this.activeBox, JSON.stringify(active), () => active.length
      ? active.map((d) => this.activeCard(d))
      : el('p', {class: 'muted'}, 'No deployment in progress.'));

    const functions = status.functions || [];
    renderInto(this.functionsBox, JSON.stringify(functions.map((f) => [f.function_name, f.latest_version, f.alias, f.runtime])),
      () => functions.length ? functions.map((f) => this.functionCard(f))
        : el('p', {class: 'muted'}, 'Nothing deployed yet: run `cutover deploy`.'));

    renderInto(this.alarmsBox, JSON.stringify(alarms.map((a) => [a.name, a.state, a.reason, a.threshold])),
      () => table('Alarms', ['State', 'Alarm', 'Condition', 'Reason'], alarms.map((a) => [
        badge(a.state),
        alarmLink(a.name),
        `${a.statistic || 'expression'} ${COMPARISON[a.comparison] || a.comparison} ${number(a.threshold)}`,
        el('span', {class: 'reason'}, a.reason || '—'),
      ]), 'No alarms.'));

    const recent = deployments.filter((d) => !isActive(d));
    renderInto(this.recentBox, JSON.stringify(recent.map((d) => [d.deploymentId, d.status, d.updateTime])),
      () => table('Recent deployments', ['Deployment', 'Function', 'Versions', 'Status', 'Configuration', 'Ended'],
        recent.map((d) => [
          deploymentLink(d.deploymentId),
          `${d.lambdaTarget.functionName}:${d.lambdaTarget.functionAlias}`,
          `v${d.lambdaTarget.currentVersion} → v${d.lambdaTarget.targetVersion}`,
          el('span', {}, badge(d.status), d.creator === 'codeDeployRollback' ? el('span', {class: 'tag'}, 'rollback') : null,
            d.errorInformation ? el('span', {class: 'mono small'}, ` ${d.errorInformation.code}`) : null),
          d.deploymentConfigName,
          timeEl(d.completeTime),
        ]), 'No deployment has ended yet.'));
  }

  activeCard(d) {
    const t = d.lambdaTarget;
    return el('article', {class: 'card', 'data-deployment': d.deploymentId},
      el('h3', {}, deploymentLink(d.deploymentId), ' ', badge(d.status)),
      el('p', {}, functionLink(t.functionName), `:${t.functionAlias} · v${t.currentVersion} → v${t.targetVersion}`),
      el('p', {class: 'small muted'}, `${d.deploymentConfigName} · ${d.phase}` +
        (d.plan && d.plan.steps ? ` · step ${Math.min(d.step + 1, d.plan.steps.length)} of ${d.plan.steps.length}` : '')),
      splitBar(deploymentWeights(d)));
  }

  functionCard(f) {
    return el('article', {class: 'card'},
      el('h3', {}, functionLink(f.function_name)),
      el('p', {class: 'small muted'}, `${f.runtime} · ${f.handler} · latest v${f.latest_version} · ${(f.versions || []).length} version(s)`),
      f.alias ? el('p', {class: 'small'}, 'alias ', el('strong', {}, f.alias.name)) : null,
      aliasSplit(f.alias));
  }
}
