#!/usr/bin/env node
// Drives the Berth dashboard ("/" of `berth serve --listen-http`) in Debian's Chromium, headless,
// as a person would: enters the API token, creates an environment through the form, watches it
// reach Running, sees the API's validation error for a bad name, reads its logs, rebuilds it
// (generation 2), deletes it and sees its row go. tests/e2e/dashboard_test.cc starts the real
// server and runs this; it also runs by hand against any loopback Berth:
//
//   npm ci --prefix tests/browser
//   node tests/browser/dashboard_test.mjs http://127.0.0.1:8080 TOKEN
//
// Arguments / environment:
//   argv[2] or BERTH_DASHBOARD_URL   base URL (loopback only)
//   argv[3] or BERTH_API_TOKEN       the server's api_token (required: the test checks the prompt)
//   BERTH_DASHBOARD_IMAGE            image for the form (empty: the server's default_image)
//   BERTH_DASHBOARD_NAME             environment name (default "dash-web"; must not exist)
//   BERTH_DASHBOARD_LOG_TEXT         text the container prints, expected in the logs panel
//   BERTH_DASHBOARD_SCREENSHOT       also write a PNG of the page with the environment in it
//   BERTH_DASHBOARD_ROUTER_URL       the router's nginx (loopback): requests are sent through it
//                                    and must show on the requests chart (empty: not checked)
//   BERTH_CHROMIUM                   the browser (default /usr/bin/chromium)
// Exit code 0 only if every step passed; 1 with the failed step and the page's state otherwise.
import { chromium } from 'playwright-core';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const base = (process.argv[2] || process.env.BERTH_DASHBOARD_URL || '').replace(/\/+$/, '');
const token = process.argv[3] || process.env.BERTH_API_TOKEN || '';
const image = process.env.BERTH_DASHBOARD_IMAGE || '';
const name = process.env.BERTH_DASHBOARD_NAME || 'dash-web';
const logText = process.env.BERTH_DASHBOARD_LOG_TEXT || '';
const screenshot = process.env.BERTH_DASHBOARD_SCREENSHOT || '';
const routerUrl = (process.env.BERTH_DASHBOARD_ROUTER_URL || '').replace(/\/+$/, '');
const executablePath = process.env.BERTH_CHROMIUM || '/usr/bin/chromium';
const ns = 'default';
const key = `${ns}/${name}`;
const RUNNING_TIMEOUT = 180_000;

function usage(msg) {
  console.error(`dashboard_test: ${msg}\nusage: node dashboard_test.mjs BASE_URL TOKEN  (or BERTH_DASHBOARD_URL, BERTH_API_TOKEN)`);
  process.exit(2);
}
if (!base) usage('no base URL');
if (!token) usage('no API token: the test checks that the page asks for it');
const loopback = h => h === 'localhost' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
for (const u of [base, routerUrl].filter(Boolean)) {
  let host;
  try { host = new URL(u).hostname; } catch { usage(`not a URL: ${u}`); }
  if (!loopback(host)) usage(`only loopback addresses are allowed, not ${host}`);
}

// One GET through the router for `domain` (node:http: fetch may not set Host).
function throughRouter(domain) {
  return new Promise((resolve, reject) => {
    const u = new URL(routerUrl);
    const req = http.request({ host: u.hostname, port: u.port, path: '/', method: 'GET',
      headers: { Host: domain, Connection: 'close' }, timeout: 10_000 }, res => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${domain}/ through ${routerUrl} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

// How many pixels of a PNG (a screenshot) are close to the colour `hex`, decoded by the browser
// itself (an <img> drawn on a canvas), so no PNG library is needed.
async function colourPixels(png, hex) {
  return page.evaluate(async ([b64, hex]) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const want = [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
    let n = 0;
    for (let i = 0; i < d.length; i += 4)
      if (Math.abs(d[i] - want[0]) + Math.abs(d[i + 1] - want[1]) + Math.abs(d[i + 2] - want[2]) < 60) n++;
    return { n, total: c.width * c.height };
  }, [png.toString('base64'), hex]);
}

// The API, straight (to check what the page did, not to do it).
async function api(method, p) {
  const r = await fetch(base + p, { method, headers: { Authorization: `Bearer ${token}` } });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body };
}

const row = `#rows tr[data-key="${key}"]`;
let page, browser;
const pageErrors = [];
let passed = 0;

async function step(title, fn) {
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    e.step = title;
    throw e;
  }
  passed++;
  console.log(`ok ${passed} - ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
function check(cond, msg) { if (!cond) throw new Error(msg); }
const text = sel => page.locator(sel).first().textContent({ timeout: 5000 });
// Waits until fn(arg) is truthy in the page; on timeout says what was awaited.
async function until(what, fn, arg, timeout = 30_000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 200 });
  } catch (e) {
    throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
  }
}

async function diagnostics() {
  if (!page) return;
  const grab = async sel => {
    try { return (await page.locator(sel).first().innerText({ timeout: 1000 })).trim(); } catch { return '(none)'; }
  };
  console.error('--- page state ---');
  for (const [label, sel] of [['connection', '#conn'], ['token prompt', '#token-card'], ['create message', '#create-msg'],
    ['environments', '#rows'], ['detail', '#d-facts'], ['logs state', '#logs-state']])
    console.error(`${label}: ${await grab(sel)}`);
  const shot = path.join(os.tmpdir(), `berth-dashboard-failure-${process.pid}.png`);
  try { await page.screenshot({ path: shot, fullPage: true }); console.error(`screenshot: ${shot}`); } catch {}
}

async function main() {
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], headless: true });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  page.on('pageerror', e => pageErrors.push(`page error: ${e.message}`));
  page.on('console', m => {
    // The API's own 4xx answers (the token prompt, the bad name) are logged by Chromium as failed
    // resources; anything else at error level — a script error, a CSP refusal — fails the test.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });

  const info = await api('GET', '/v1/info');
  check(info.status === 200, `GET /v1/info with the token answered ${info.status}: ${JSON.stringify(info.body)}`);
  const before = await api('GET', `/v1/environments/${ns}/${name}`);
  check(before.status === 404, `${key} must not exist before the test (GET answered ${before.status})`);

  await step('the page loads without the token and asks for it', async () => {
    const r = await fetch(base + '/v1/environments');
    check(r.status === 401 || r.status === 403, `the API without a token answered ${r.status}, not 401/403`);
    const resp = await page.goto(base + '/', { waitUntil: 'load' });
    check(resp.status() === 200, `GET / answered ${resp.status()}`);
    await page.locator('#token-card').waitFor({ state: 'visible', timeout: 15_000 });
    await until('the connection state "token"', () => document.getElementById('conn').dataset.state === 'token');
  });

  await step('a wrong token is refused with the API\'s message', async () => {
    await page.fill('#token-input', token + '-wrong');
    await page.click('#token-form button[type=submit]');
    await until('the refusal', () => /refused this token: missing or wrong bearer token/.test(
      document.getElementById('token-msg').textContent));
    check(await page.locator('#token-card').isVisible(), 'the token prompt went away');
  });

  await step('the token is accepted and the list loads', async () => {
    await page.fill('#token-input', token);
    await page.click('#token-form button[type=submit]');
    await page.locator('#token-card').waitFor({ state: 'hidden', timeout: 15_000 });
    await until('a connected state', () => ['polling', 'live'].includes(document.getElementById('conn').dataset.state));
    check((await text('#info')).includes('runtime'), `the header shows no server info: "${await text('#info')}"`);
    const stored = await page.evaluate(() => sessionStorage.getItem('berth.token'));
    check(stored === token, 'the token is not kept in sessionStorage');
  });

  const seenPhases = [];
  await step(`create ${key} through the form`, async () => {
    await page.exposeFunction('berthSawPhase', p => { if (seenPhases[seenPhases.length - 1] !== p) seenPhases.push(p); });
    // Record every phase the row shows, as it shows it.
    await page.evaluate(k => {
      const report = () => {
        const tr = document.querySelector(`#rows tr[data-key="${k}"]`);
        if (tr && tr.dataset.phase) window.berthSawPhase(tr.dataset.phase);
      };
      new MutationObserver(report).observe(document.getElementById('rows'),
        { subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase'] });
    }, key);
    await page.fill('#f-name', name);
    if (image) await page.fill('#f-image', image);
    await page.fill('#f-env', 'GREETING=hello\nNOTE=<b>not bold</b>');
    await page.click('#f-submit');
    await until('the create confirmation', () => document.getElementById('create-msg').classList.contains('ok'));
    await page.locator(row).waitFor({ timeout: 10_000 });
  });

  await step(`${key} goes Pending → Running, live`, async () => {
    await until(`${key} to show Running`,
      sel => document.querySelector(sel)?.dataset.phase === 'Running', row, RUNNING_TIMEOUT);
    check(seenPhases[0] === 'Pending', `the first phase shown was ${seenPhases[0]}, not Pending (${seenPhases.join(' → ')})`);
    check(seenPhases.includes('Running'), `phases shown: ${seenPhases.join(' → ')}`);
    console.log(`   phases shown: ${seenPhases.join(' → ')}`);
    await until('the watch of the selected environment to be live',
      () => document.getElementById('conn').dataset.state === 'live');
    check((await text('#d-title')) === key, `the detail panel shows "${await text('#d-title')}"`);
  });

  await step('a lost connection shows, and comes back by itself', async () => {
    await page.context().setOffline(true);
    await until('the offline state', () => document.getElementById('conn').dataset.state === 'offline', undefined, 40_000);
    check(/retrying in/.test(await text('#conn')), `offline state says "${await text('#conn')}"`);
    await page.context().setOffline(false);
    await until('the live state again', () => document.getElementById('conn').dataset.state === 'live', undefined, 40_000);
  });

  await step('domains, ports, host IP, events and env vars are shown (as text)', async () => {
    const v = (await api('GET', `/v1/environments/${ns}/${name}`)).body;
    check(v.status && v.status.phase === 'Running', `the API says ${JSON.stringify(v.status && v.status.phase)}`);
    for (const d of v.spec.domains) {
      const n = await page.locator(`${row} .c-domains a[href="http://${d}/"]`).count();
      check(n === 1, `no link to http://${d}/ in the row`);
    }
    const http = v.status.ports.http;
    check(await page.locator(`${row} .c-endpoints a[href="http://${v.status.host_ip}:${http}/"]`).count() === 1,
      `no link to the http port ${http} on ${v.status.host_ip}`);
    check((await text(`${row} .c-endpoints`)).includes(v.status.host_ip), 'the host IP is not shown');
    const envs = await page.locator('#d-facts [data-role=env]').allTextContents();
    check(envs.includes('NOTE=<b>not bold</b>'), `env vars shown: ${JSON.stringify(envs)}`);
    check(await page.locator('#d-facts b').count() === 0, 'an env var value was inserted as markup');
    check(await page.locator('#d-events tr').count() >= 1, 'no events shown');
    const shown = await page.locator('main').innerText();
    const junk = shown.match(/.{0,30}(null|undefined|NaN|\[object ).{0,30}/);
    check(!junk, `the page shows a missing value: "${junk && junk[0]}"`);
    const last = v.status.events[v.status.events.length - 1];
    if (last)
      await until(`the newest event (${last.reason}) in the detail panel`,
        r => document.getElementById('d-events').textContent.includes(r), last.reason, 10_000);
  });

  await step('usage charts: what it uses and the requests through the router, drawn', async () => {
    const v = (await api('GET', `/v1/environments/${ns}/${name}`)).body;
    let sent = 0;
    if (routerUrl) {
      for (let i = 0; i < 30; i++) {
        // The volume has no index.html: the app's own 404 is an answer like any other.
        const code = await throughRouter(v.spec.domains[0]);
        check(code === 200 || code === 404, `GET through the router answered ${code}`);
        sent++;
      }
    }
    const charts = routerUrl ? ['cpu', 'memory', 'requests'] : ['cpu', 'memory'];
    await until('lines on the charts', ms => ms.every(m =>
      document.querySelector(`#usage figure[data-metric=${m}] polyline`)), charts, 60_000);
    if (routerUrl) {
      // The burst shows as a rise: some point of the requests line above the chart's floor.
      await until('the requests to show on the chart', () => {
        const l = document.querySelector('#usage figure[data-metric=requests] polyline');
        return l && l.getAttribute('points').split(' ').some(xy => Number(xy.split(',')[1]) < 60);
      }, undefined, 30_000);
      const h = (await api('GET', `/v1/environments/${ns}/${name}/usage/history`)).body;
      const peak = Math.max(...h.points.map(p => p.requests_per_minute || 0));
      check(peak > 0, `the history shows no requests after ${sent} were sent: ${JSON.stringify(h.points.slice(-5))}`);
      console.log(`   ${h.points.length} samples; peak ${Math.round(peak)} requests/min`);
    }
    check(/^\d+ samples, every /.test(await text('#u-state')),
      `usage state: "${await text('#u-state')}"`);
    check(/MiB|KiB/.test(await text('#usage figure[data-metric=memory] [data-role=now]')),
      `memory caption: "${await text('#usage figure[data-metric=memory] [data-role=now]')}"`);
    // The screenshot of each chart holds its line's colour: the line is really painted.
    const colours = { cpu: '#2952cc', memory: '#137a4b', requests: '#8e3ccb' };
    for (const m of charts) {
      const png = await page.locator(`#usage figure[data-metric=${m}] svg`).screenshot();
      const { n, total } = await colourPixels(png, colours[m]);
      check(n >= 40 && n < total / 2, `the ${m} chart's screenshot has ${n} of ${total} pixels in ${colours[m]}`);
      console.log(`   ${m} chart: ${n} of ${total} pixels drawn in ${colours[m]}`);
    }
    if (screenshot) await page.locator('#usage').screenshot({ path: screenshot.replace(/\.png$/, '') + '-usage.png' });
  });

  await step('a bad name shows the API\'s validation error and creates nothing', async () => {
    await page.fill('#f-name', 'Bad_Name');
    await page.click('#f-submit');
    await until('an error next to the form',
      () => document.getElementById('create-msg').classList.contains('err') &&
            document.getElementById('create-msg').textContent.includes('Bad_Name'));
    const msg = await text('#create-msg');
    check(/InvalidArgument/.test(msg) && /lower-case/.test(msg), `the message is not the API's: "${msg}"`);
    console.log(`   shown: ${msg}`);
    check(await page.locator('#rows tr[data-key$="/Bad_Name"]').count() === 0, 'a row for Bad_Name appeared');
    const list = await api('GET', '/v1/environments');
    const names = list.body.items.map(i => i.spec.name);
    check(!names.some(n => n.toLowerCase() === 'bad_name'), `the API now has: ${names.join(', ')}`);
    check(await page.locator('#rows tr').count() === names.length, 'the table and the API disagree');
  });

  await step('the logs panel shows the container\'s output', async () => {
    await page.click(`${row} button[data-action=logs]`);
    await until('the logs to load', () => /^loaded/.test(document.getElementById('logs-state').textContent), undefined, 30_000);
    if (logText) {
      const out = await text('#logs-out');
      check(out.includes(logText), `the logs lack "${logText}": ${JSON.stringify(out.slice(0, 300))}`);
    }
    await page.check('#logs-follow');
    await page.click('#logs-load');
    await until('the logs to follow', () => /following/.test(document.getElementById('logs-state').textContent));
    if (logText)
      await until('followed logs', t => document.getElementById('logs-out').textContent.includes(t), logText);
    await page.click('#logs-stop');
    await until('the follow to stop', () => document.getElementById('logs-state').textContent === 'stopped');
    await page.uncheck('#logs-follow');
    await page.click('#logs-load');
    await until('the logs to load again', () => /^loaded/.test(document.getElementById('logs-state').textContent));
  });

  if (screenshot) {
    await step(`screenshot ${screenshot}`, async () => {
      await page.fill('#f-name', '');
      await page.locator('#f-name').blur();
      await page.evaluate(() => { document.getElementById('create-msg').textContent = ''; });
      await page.screenshot({ path: screenshot, fullPage: true });
    });
  }

  await step('extend: the expiry shows, moves and goes', async () => {
    await page.fill('#d-extend-ttl', '2h');
    await page.click('#d-extend button[type=submit]');
    await until('an expiry in the detail', () =>
      document.querySelector('[data-role=expires]')?.textContent !== 'never');
    const v = (await api('GET', `/v1/environments/${ns}/${name}`)).body;
    const left = (Date.parse(v.spec.expires_at) - Date.now()) / 1000;
    check(left > 7000 && left <= 7200, `expires_at ${v.spec.expires_at} is not 2h away`);
    await page.fill('#d-extend-ttl', 'soon');
    await page.click('#d-extend button[type=submit]');
    await until('the bad ttl message', () => /use 90m/.test(document.getElementById('d-msg').textContent));
    await page.fill('#d-extend-ttl', '0');
    await page.click('#d-extend button[type=submit]');
    await until('never again', () => document.querySelector('[data-role=expires]')?.textContent === 'never');
  });

  await step('sleep and wake from the detail panel', async () => {
    await page.click('#d-sleep');
    await until('Sleeping in the row', sel => document.querySelector(sel)?.dataset.phase === 'Sleeping', row, RUNNING_TIMEOUT);
    check(await page.locator('#d-sleep').isDisabled(), 'Sleep is still enabled while asleep');
    await page.click('#d-wake');
    await until('Running again', sel => document.querySelector(sel)?.dataset.phase === 'Running', row, RUNNING_TIMEOUT);
  });

  await step('rebuild: generation 2 appears and runs', async () => {
    await page.click(`${row} button[data-action=rebuild]`);
    await until('generation 2 in the row', sel => document.querySelector(sel)?.dataset.generation === '2', row, 15_000);
    const msg = await text(`${row} [data-role=row-msg]`);
    check(/generation 2/.test(msg), `row message: "${msg}"`);
    await until('generation 2 to be observed and Running', sel => {
      const tr = document.querySelector(sel);
      return tr && tr.dataset.observed === '2' && tr.dataset.phase === 'Running';
    }, row, RUNNING_TIMEOUT);
  });

  await step('delete (confirmed, with purge): the row disappears', async () => {
    await page.click(`${row} button[data-action=delete]`);
    await page.locator(`${row} [data-role=confirm]`).waitFor({ state: 'visible', timeout: 5000 });
    check((await api('GET', `/v1/environments/${ns}/${name}`)).status === 200, 'deleted before the confirmation');
    await page.check(`${row} [data-role=purge]`);
    await page.click(`${row} button[data-action=confirm-delete]`);
    await page.locator(row).waitFor({ state: 'detached', timeout: RUNNING_TIMEOUT });
    const after = await api('GET', `/v1/environments/${ns}/${name}`);
    check(after.status === 404, `the API still has ${key}: ${after.status}`);
    check(await page.locator('#detail').isHidden(), 'the detail panel of the deleted environment is still open');
    if ((await api('GET', '/v1/environments')).body.items.length === 0)
      await until('the empty-list note', () => !document.getElementById('empty').hidden);
  });

  await step('no script errors and no CSP refusals', async () => {
    check(pageErrors.length === 0, pageErrors.join('\n'));
  });
}

const guard = setTimeout(async () => {
  console.error('FAIL: the browser test took longer than 10 minutes');
  await diagnostics();
  process.exit(1);
}, 600_000);

let code = 0;
try {
  await main();
  console.log(`dashboard browser test: all ${passed} steps passed`);
} catch (e) {
  code = 1;
  console.error(`FAIL${e.step ? ` (step ${passed + 1}: ${e.step})` : ''}: ${e.message}`);
  if (pageErrors.length) console.error(pageErrors.join('\n'));
  await diagnostics();
} finally {
  clearTimeout(guard);
  if (browser) await browser.close().catch(() => {});
}
process.exit(code);
