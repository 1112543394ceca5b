// The View base class (a page under <main> that owns its timers, charts and stream
// subscription) and the traffic-split bar that several views show.

import {stream} from './api.js';
import {el, percent} from './dom.js';

// A view: owns its DOM under <main>, its timers, charts and subscriptions; destroy() ends them.
export class View {
  constructor(main) {
    this.main = main;
    this.alive = true;
    this.timers = [];
    this.charts = [];
    this.unsubscribe = [];
  }

  every(ms, fn) {
    const id = setInterval(() => {
      if (this.alive) fn();
    }, ms);
    this.timers.push(() => clearInterval(id));
  }

  later(ms, fn) {
    const stop = () => clearTimeout(id);
    const id = setTimeout(() => {
      this.timers = this.timers.filter((t) => t !== stop);
      if (this.alive) fn();
    }, ms);
    this.timers.push(stop);
  }

  listen(fn) {
    this.unsubscribe.push(stream.subscribe((e) => {
      if (this.alive) fn(e);
    }));
  }

  destroy() {
    this.alive = false;
    for (const stop of this.timers) stop();
    for (const stop of this.unsubscribe) stop();
    for (const c of this.charts) c.destroy();
    this.timers = [];
    this.charts = [];
  }
}

// The split bar: original (solid) vs replacement (striped), with the numbers as text.
export function splitBar({currentVersion, currentWeight, targetVersion, targetWeight, labels, testId}) {
  const [a, b] = labels || ['original', 'replacement'];
  const text = targetVersion
    ? `${a} v${currentVersion} ${percent(currentWeight)} / ${b} v${targetVersion} ${percent(targetWeight)}`
    : `v${currentVersion} 100%`;
  const bar = el('div', {class: 'split-bar', 'aria-hidden': 'true'},
    el('div', {class: 'split-seg seg-original', style: {width: `${Math.max(0, Math.min(1, currentWeight)) * 100}%`}},
      Number(currentWeight) >= 0.15 ? el('span', {}, `v${currentVersion}`) : null),
    targetVersion
      ? el('div', {class: 'split-seg seg-replacement', style: {width: `${Math.max(0, Math.min(1, targetWeight)) * 100}%`}},
        Number(targetWeight) >= 0.15 ? el('span', {}, `v${targetVersion}`) : null)
      : null);
  return el('div', {class: 'split'}, bar,
    el('p', {class: 'split-text', 'data-testid': testId || null}, text));
}

export function aliasSplit(alias, testId) {
  if (!alias) return el('p', {class: 'muted'}, 'No alias yet.');
  const w = Number(alias.additional_weight || 0);
  if (alias.additional_version) {
    return splitBar({currentVersion: alias.primary_version, currentWeight: 1 - w,
      targetVersion: alias.additional_version, targetWeight: w, labels: ['primary', 'additional'], testId});
  }
  return splitBar({currentVersion: alias.primary_version, currentWeight: 1, testId});
}

export function deploymentWeights(d) {
  const t = d.lambdaTarget || {};
  const w = Number(t.targetVersionWeight || 0);
  return {currentVersion: t.currentVersion, currentWeight: 1 - w,
    targetVersion: t.targetVersion, targetWeight: w};
}

export function weightsText(w) {
  if (!w) return '';
  return `original v${w.currentVersion} ${percent(w.currentWeight)} / replacement v${w.targetVersion} ${percent(w.targetWeight)}`;
}
