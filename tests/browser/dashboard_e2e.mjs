// End to end in a real browser: the seed's story watched and steered from the dashboard.
//
//   node dashboard_e2e.mjs --cutover BUILD/cutover --source REPO --out BUILD/test-output/browser
//
// Starts `cutover serve --time-scale 60` (Linear10PercentEvery1Minute then shifts every second),
// deploys examples/seed as v1 and v2, opens the dashboard in Debian's headless Chromium through
// playwright-core, follows the deployment from the overview, checks that the traffic split moves
// from step to step, clicks "Stop and roll back", confirms, and checks the page shows the rollback
// and the gateway answers from v1 again. Then it SIGKILLs the daemon and starts it again on the
// same ports and data, and checks the page reconnects by itself and reads again what the gap lost
// (the deployment's log and its alarms). Screenshots go to --out.
//
// Exit codes: 0 passed, 1 failed, 77 skipped (no /usr/bin/chromium; ctest's SKIP_RETURN_CODE).
// Every wait is a condition polled against a deadline; the daemon and Chromium are ended on every
// exit path, an overall deadline included.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = 77;
const FUNCTION = 'bref-canary-deployments-demo-dev-website';
const OVERALL_DEADLINE_MS = 170_000;  // below the ctest TIMEOUT, so cleanup runs before a kill

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ['cutover', 'source', 'out']) {
    if (!out[k]) throw new Error(`--${k} is required`);
  }
  return out;
}

const started = Date.now();
const timings = [];
function mark(what) {
  const t = (Date.now() - started) / 1000;
  timings.push([what, t]);
  console.log(`[${t.toFixed(2)} s] ${what}`);
}

// Thrown by a check when waiting longer cannot help (the daemon died).
class Fatal extends Error {}

// Polls `check` until it returns a truthy value; throws with `what` after `ms`.
async function waitFor(what, ms, check, every = 50) {
  const deadline = Date.now() + ms;
  let lastError = null;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      if (e instanceof Fatal) throw e;
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`);
    }
    await delay(every);  // polling a condition, not waiting for time to pass
  }
}

let failurePage = null;  // where a failure's screenshot goes
const cleanups = [];
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
    }
  }
}

function exitProcess(code) {
  cleanup().finally(() => process.exit(code));
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`browser test: ${sig}, cleaning up`);
    exitProcess(1);
  });
}

async function main() {
  if (!fs.existsSync(CHROMIUM)) {
    console.log(`SKIPPED: ${CHROMIUM} is missing; install Debian's chromium (scripts/install-deps does).`);
    return SKIP;
  }
  const args = parseArgs(process.argv.slice(2));
  const require = createRequire(path.join(args.source, 'web', 'package.json'));
  let chromium;
  try {
    ({chromium} = require('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is missing from web/node_modules: run scripts/install-deps (${e.message})`);
  }
  const out = path.resolve(args.out);
  fs.rmSync(out, {recursive: true, force: true});
  fs.mkdirSync(out, {recursive: true});
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-browser-'));
  cleanups.push(() => {
    // Keep the daemon's log next to the screenshots; the rest goes.
    for (const f of ['daemon.log', 'daemon.out']) {
      const from = path.join(tmp, f);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(out, f));
    }
    fs.rmSync(tmp, {recursive: true, force: true});
  });

  // ---- the daemon (started again, on the same ports and data, after the SIGKILL below)
  const ready = path.join(tmp, 'ready.json');
  let daemon = null;
  let daemonExit = null;
  const startDaemon = async (ports = ['--port', '0', '--admin-port', '0']) => {
    fs.rmSync(ready, {force: true});
    daemonExit = null;
    const child = spawn(args.cutover, ['serve', ...ports, '--time-scale', '60',
      '--ready-file', ready, '--data', path.join(tmp, 'data'), '--log-level', 'info'], {
      stdio: ['ignore', fs.openSync(path.join(tmp, 'daemon.out'), 'a'), fs.openSync(path.join(tmp, 'daemon.log'), 'a')],
      detached: true,  // its own process group: function instances and php-fpm go with it
    });
    daemon = child;
    child.on('exit', (code, signal) => { if (daemon === child) daemonExit = {code, signal}; });
    child.on('error', (e) => { if (daemon === child) daemonExit = {error: e.message}; });
    return waitFor('the daemon to be ready', 30_000, () => {
      if (daemonExit) throw new Fatal(`the daemon exited: ${JSON.stringify(daemonExit)}\n${fs.readFileSync(path.join(tmp, 'daemon.log'), 'utf8')}`);
      if (!fs.existsSync(ready)) return null;
      return JSON.parse(fs.readFileSync(ready, 'utf8'));
    });
  };
  // SIGKILL to the daemon's process group (its instances and php-fpm too); returns once it is gone.
  const killDaemon = async (signal = 'SIGKILL') => {
    if (daemonExit) return;
    try { process.kill(-daemon.pid, signal); } catch (e) { /* gone */ }
    const deadline = Date.now() + 10_000;
    while (!daemonExit && Date.now() < deadline) await delay(50);
  };
  cleanups.push(async () => {
    await killDaemon('SIGTERM');
    await killDaemon('SIGKILL');
  });
  const urls = await startDaemon();
  const admin = urls.admin;
  const gateway = urls.gateway;
  mark(`daemon ready: admin ${admin}, gateway ${gateway}`);

  const adminJson = async (p, init) => {
    const r = await fetch(admin + p, init);
    if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${await r.text()}`);
    return r.json();
  };
  const gatewayVersion = async () => {
    const r = await fetch(gateway + '/');
    await r.arrayBuffer();
    return {status: r.status, version: r.headers.get('x-cutover-version')};
  };

  // ---- the seed, as v1 then v2 (a change of code publishes a new version)
  const seedVersion = (tag) => {
    const dir = path.join(tmp, tag);
    fs.cpSync(path.join(args.source, 'examples', 'seed'), dir, {recursive: true});
    fs.writeFileSync(path.join(dir, 'public', 'VERSION'), `${tag}\n`);
    return dir;
  };
  const deploy = (dir) => {
    const r = spawnSync(args.cutover, ['deploy', '--dir', dir, '--admin', admin, '--json', '--no-wait'], {
      encoding: 'utf8', timeout: 120_000, env: {...process.env, NO_COLOR: '1'},
    });
    if (r.status !== 0) throw new Error(`cutover deploy ${dir}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  deploy(seedVersion('v1'));
  await waitFor('the gateway to answer from v1', 30_000, async () => {
    const g = await gatewayVersion();
    return g.status === 200 && g.version === '1';
  });
  mark('v1 deployed and answering');

  // Light traffic through the gateway for the whole story, so the charts have something to show.
  let traffic = true;
  const trafficLoop = (async () => {
    while (traffic) {
      try { await gatewayVersion(); } catch (e) { /* the daemon may be going away */ }
      await delay(40);  // pacing the load generator
    }
  })();
  cleanups.push(async () => {
    traffic = false;
    await trafficLoop;
  });

  // ---- the browser
  const profile = path.join(tmp, 'chromium-profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: {width: 1280, height: 900},
  });
  cleanups.push(() => Promise.race([context.close(), delay(10_000)]));
  const page = context.pages()[0] || await context.newPage();
  failurePage = {page, out};
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const requests = [];  // the admin API paths (and queries) the page asked for, in order
  page.on('request', (r) => {
    const u = new URL(r.url());
    requests.push(u.pathname + u.search);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`browser console: ${m.text()}`);
  });
  mark('chromium started');

  await page.goto(admin + '/');
  await page.getByRole('heading', {level: 1, name: 'Overview'}).waitFor({timeout: 15_000});
  await page.getByRole('link', {name: FUNCTION}).first().waitFor({timeout: 15_000});
  await waitFor('the live indicator', 10_000, async () => (await page.locator('#conn').getAttribute('data-state')) === 'live');
  await page.screenshot({path: path.join(out, 'overview-v1.png'), fullPage: true});
  mark('dashboard overview shows the function, event stream live');

  // ---- v2 starts a deployment; the overview learns of it through the event stream
  const v2 = deploy(seedVersion('v2'));
  const id = (v2.functions || []).map((f) => f.deployment_id).find((d) => d);
  if (!id) throw new Error(`deploying v2 started no deployment: ${JSON.stringify(v2)}`);
  mark(`v2 published, deployment ${id}`);
  const activeLink = page.locator(`[data-deployment="${id}"] a[href="#/deployments/${id}"]`);
  await activeLink.waitFor({timeout: 10_000});
  await activeLink.click();
  await page.getByRole('heading', {level: 1, name: `Deployment ${id}`}).waitFor({timeout: 10_000});
  const split = page.getByTestId('traffic-split');
  const status = page.getByTestId('deployment-status');

  // The split moves from step to step without a reload: two different shares on the replacement.
  const replacementShare = async () => {
    const text = (await split.textContent()) || '';
    const m = /original v1 ([\d.]+)% \/ replacement v2 ([\d.]+)%/.exec(text);
    return m ? {text, share: Number(m[2])} : null;
  };
  const first = await waitFor('a traffic split with traffic on v2', 10_000, async () => {
    const s = await replacementShare();
    return s && s.share > 0 && s.share < 100 ? s : null;
  });
  mark(`traffic split: ${first.text}`);
  const second = await waitFor('the traffic split to move to the next step', 10_000, async () => {
    const s = await replacementShare();
    return s && s.share > first.share && s.share < 100 ? s : null;
  });
  mark(`traffic split moved: ${second.text}`);
  if (!(await status.textContent()).includes('In progress')) throw new Error('the deployment is not shown in progress');
  // The per-version charts fill from the batched metric query (POST /v1/metrics/data): both
  // versions served some of the light traffic by now.
  const requestsChart = page.locator('figure.chart', {has: page.locator('.chart-title', {hasText: 'Requests per second'})});
  const chartSummary = await waitFor('req/s of both versions on the requests chart', 10_000, async () => {
    const text = (await requestsChart.locator('.chart-summary').textContent()) || '';
    return /v1 original: [\d.,]+ req\/s/.test(text) && /v2 [a-z]+: [\d.,]+ req\/s/.test(text) ? text : null;
  });
  mark(`requests chart: ${chartSummary}`);
  // The charts are pushed, not polled: the page's stream watches this deployment's charts, and
  // while three more pushes arrive it reads no alarm and fewer metric windows than pushes (a new
  // read only when the window outgrows its period, every few seconds at --time-scale 60).
  if (!requests.some((u) => u.startsWith('/v1/events?') && new URLSearchParams(u.split('?')[1]).get('charts') === id)) {
    throw new Error(`the page did not watch ${id}'s charts on its event stream: ${requests.filter((u) => u.startsWith('/v1/events')).join(', ')}`);
  }
  const metricsBox = page.locator('.chart-grid').first();
  const pushesNow = async () => Number(await metricsBox.getAttribute('data-pushes')) || 0;
  const pushesBefore = await pushesNow();
  const requestsBefore = requests.length;
  await waitFor('three more chart pushes', 10_000, async () => (await pushesNow()) >= pushesBefore + 3);
  const pushes = (await pushesNow()) - pushesBefore;
  const during = requests.slice(requestsBefore);
  const metricReads = during.filter((u) => u === '/v1/metrics/data').length;
  const alarmReads = during.filter((u) => u.startsWith('/v1/alarms/') || u.startsWith('/v1/metrics/query')).length;
  if (alarmReads !== 0 || metricReads >= pushes) {
    throw new Error(`during ${pushes} pushes the page still asked: ${during.join(', ')}`);
  }
  mark(`charts pushed: ${pushes} pushes, ${metricReads} window re-reads, no polling`);
  await page.screenshot({path: path.join(out, 'deployment-shifting.png'), fullPage: true});

  // ---- Stop and roll back: the confirmation is a real dialog; Escape cancels, Confirm goes
  const rollbackButton = page.getByRole('button', {name: 'Stop and roll back'});
  const dialog = page.locator('dialog#confirm');
  await rollbackButton.click();
  await dialog.waitFor({state: 'visible', timeout: 5_000});
  await page.keyboard.press('Escape');
  await dialog.waitFor({state: 'hidden', timeout: 5_000});
  const afterCancel = await adminJson(`/v1/deployments/${id}`);
  if (afterCancel.deployment.status !== 'InProgress') {
    throw new Error(`after Cancel the deployment is ${afterCancel.deployment.status}, expected InProgress (did it finish before the click?)`);
  }
  // This time with the keyboard only: Enter on the button, Tab from Cancel to Confirm, Enter.
  await rollbackButton.focus();
  await page.keyboard.press('Enter');
  await dialog.waitFor({state: 'visible', timeout: 5_000});
  const focused = () => page.evaluate(() => document.activeElement && document.activeElement.textContent);
  if ((await focused()) !== 'Cancel') throw new Error(`the dialog opened with focus on ${await focused()}, not Cancel`);
  await page.keyboard.press('Tab');
  if ((await focused()) !== 'Confirm') throw new Error(`Tab from Cancel went to ${await focused()}, not Confirm`);
  await page.keyboard.press('Enter');
  mark('stop and roll back confirmed (keyboard)');

  await waitFor('the page to show the deployment Stopped', 10_000, async () => (await status.textContent()).includes('Stopped'));
  await waitFor('the page to show MANUAL_STOP', 5_000, async () =>
    ((await page.getByTestId('error-information').textContent()) || '').includes('MANUAL_STOP'));
  const rollbackLink = page.getByTestId('rollback-link');
  await rollbackLink.waitFor({timeout: 5_000});
  const rollbackId = (await rollbackLink.textContent()).trim();
  await waitFor('the split back on the original', 5_000, async () =>
    ((await split.textContent()) || '').includes('original v1 100% / replacement v2 0%'));
  for (const name of ['Stop', 'Stop and roll back', 'Promote']) {
    if (!(await page.getByRole('button', {name, exact: true}).isDisabled())) throw new Error(`${name} is still enabled`);
  }
  mark(`page shows Stopped, MANUAL_STOP, rollback ${rollbackId}`);

  // The daemon agrees, and the gateway answers from v1 only.
  const stopped = await adminJson(`/v1/deployments/${id}`);
  if (stopped.deployment.status !== 'Stopped' || stopped.deployment.rollbackInfo.rollbackDeploymentId !== rollbackId) {
    throw new Error(`the daemon says ${JSON.stringify(stopped.deployment)}`);
  }
  await waitFor('the gateway to answer from v1', 10_000, async () => (await gatewayVersion()).version === '1');
  for (let i = 0; i < 20; i++) {
    const g = await gatewayVersion();
    if (g.status !== 200 || g.version !== '1') throw new Error(`after the rollback the gateway answered ${JSON.stringify(g)}`);
  }
  mark('gateway answers from v1 (20 of 20)');

  await page.screenshot({path: path.join(out, 'deployment-rolled-back.png'), fullPage: true});
  await page.setViewportSize({width: 375, height: 812});
  await waitFor('the page to fit 375 px', 5_000, () =>
    page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
  await page.screenshot({path: path.join(out, 'deployment-375px.png'), fullPage: true});
  mark('screenshots saved (1280 px while shifting and after rollback, 375 px)');

  // The rollback deployment, one click away.
  await rollbackLink.click();
  await page.getByRole('heading', {level: 1, name: `Deployment ${rollbackId}`}).waitFor({timeout: 10_000});
  await waitFor('the rollback deployment shown Succeeded', 10_000, async () =>
    ((await page.getByTestId('deployment-status').textContent()) || '').includes('Succeeded'));
  await page.getByText('automatic rollback').waitFor({timeout: 5_000});
  await page.screenshot({path: path.join(out, 'rollback-deployment-375px.png'), fullPage: true});
  mark(`rollback deployment ${rollbackId} shown Succeeded`);

  // ---- The daemon SIGKILLed and started again on the same ports: the page reconnects by itself and
  // reads again what it missed, the alarms' series included (their pushes were lost in the gap).
  await page.goto(`${admin}/#/deployments/${id}`);
  await page.getByRole('heading', {level: 1, name: `Deployment ${id}`}).waitFor({timeout: 10_000});
  await waitFor('the page to read the alarms', 10_000, () => requests.some((u) => u.startsWith('/v1/alarms/')));
  await waitFor('the live indicator', 10_000, async () => (await page.locator('#conn').getAttribute('data-state')) === 'live');
  await killDaemon();
  await waitFor('the page to notice the daemon is gone', 15_000, async () =>
    (await page.locator('#conn').getAttribute('data-state')) === 'reconnecting');
  const beforeRestart = requests.length;
  const port = (u) => new URL(u).port;
  await startDaemon(['--port', port(gateway), '--admin-port', port(admin)]);
  mark('daemon SIGKILLed and started again on the same ports');
  await waitFor('the live indicator after the restart', 20_000, async () =>
    (await page.locator('#conn').getAttribute('data-state')) === 'live');
  const reread = await waitFor('the page to read the deployment and its alarms again', 10_000, () => {
    const after = requests.slice(beforeRestart);
    const alarms = after.filter((u) => u.startsWith('/v1/alarms/'));
    return after.includes(`/v1/deployments/${id}`) && alarms.length ? alarms : null;
  });
  if (!((await status.textContent()) || '').includes('Stopped')) throw new Error('after the restart the page does not show the deployment Stopped');
  mark(`page reconnected and read again: ${reread.join(', ')}`);

  if (pageErrors.length) throw new Error(`JavaScript errors in the page: ${pageErrors.join('; ')}`);
  return 0;
}

const overall = setTimeout(() => {
  console.error(`FAILED: the browser test passed its overall deadline of ${OVERALL_DEADLINE_MS / 1000} s`);
  exitProcess(1);
}, OVERALL_DEADLINE_MS);

main().then(async (code) => {
  clearTimeout(overall);
  await cleanup();
  if (code === 0) {
    console.log(`timings: ${timings.map(([w, t]) => `${t.toFixed(1)}s ${w.split(':')[0]}`).join(' | ')}`);
    console.log(`screenshots: ${path.resolve(parseArgs(process.argv.slice(2)).out)}`);
    console.log('1 passed, 0 failed');
  }
  process.exit(code);
}, async (e) => {
  clearTimeout(overall);
  console.error(`FAILED: ${e.stack || e.message}`);
  if (failurePage) {
    await Promise.race([failurePage.page.screenshot({path: path.join(failurePage.out, 'failure.png'), fullPage: true}),
      delay(5_000)]).catch(() => {});
  }
  await cleanup();
  console.log('0 passed, 1 failed');
  process.exit(1);
});
