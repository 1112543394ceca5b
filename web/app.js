// cutover's dashboard: one page, hash routes, live over the admin API's SSE stream.
//
//   #/                     overview: functions, aliases and their traffic split, alarms, deployments
//   #/deployments/<id>     one deployment, live: status, lifecycle, traffic, metrics, alarms, events
//   #/alarms/<name>        one alarm: state, history, datapoints against the threshold
//   #/functions/<name>     one function: versions, configuration, aliases, log tail
//
// Every string from the API goes into the DOM as text (textContent / text nodes), never as HTML.
// Every call is a same-origin fetch; writes send JSON with Content-Type: application/json (the
// daemon requires it of cookie-authenticated writes).
//
// ES modules, no bundler: app.js (routing) → view-*.js (one per page) → view.js (the View base,
// the traffic-split bar), charts.js (uPlot), api.js (fetch, the event stream), dom.js (helpers).

import {readHealth, stream} from './api.js';
import {add, byId, el} from './dom.js';
import {AlarmView} from './view-alarm.js';
import {DeploymentView} from './view-deployment.js';
import {FunctionView} from './view-function.js';
import {OverviewView} from './view-overview.js';
import {View} from './view.js';

class NotFoundView extends View {
  mount() {
    document.title = 'Not found · cutover';
    add(this.main, [el('h1', {}, 'Not found'),
      el('p', {}, 'There is no such page. ', el('a', {href: '#/'}, 'Go to the overview'), '.')]);
  }
}

let current = null;
let firstRoute = true;

function route() {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return;  // an in-page anchor, not a route
  let parts;
  try {
    parts = hash.slice(2).split('/').map(decodeURIComponent);
  } catch (e) {
    parts = ['?'];
  }
  const main = byId('main');
  if (current) current.destroy();
  main.replaceChildren();
  const [kind, arg] = parts;
  if (kind === '' && parts.length === 1) current = new OverviewView(main);
  else if (kind === 'deployments' && arg) current = new DeploymentView(main, arg);
  else if (kind === 'alarms' && arg) current = new AlarmView(main, arg);
  else if (kind === 'functions' && arg) current = new FunctionView(main, arg);
  else current = new NotFoundView(main);
  current.mount();
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === hash) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // After a navigation, keyboard and screen-reader users land on the new page's heading.
  if (!firstRoute) {
    const h1 = main.querySelector('h1');
    if (h1) {
      h1.tabIndex = -1;
      h1.focus({preventScroll: false});
    }
    window.scrollTo(0, 0);
  }
  firstRoute = false;
}

function start() {
  // A token in the address (…/?token=…) has done its work once the page loaded (the daemon set
  // its cookie); keep it out of the history and of screenshots.
  const url = new URL(location.href);
  if (url.searchParams.has('token')) {
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  byId('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    byId('main').focus();
  });
  window.addEventListener('hashchange', route);
  readHealth();
  setInterval(readHealth, 30000);
  stream.start();
  route();
}

start();
