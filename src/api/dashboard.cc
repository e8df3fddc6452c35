#include "api/dashboard.h"

#include <openssl/evp.h>

#include <string_view>

#include "util/base64.h"

namespace berth::api {
namespace {

// The page is three pieces: its style, its markup and its script. They are joined in
// DashboardHtml(), which also pins the exact inline style and script by their SHA-256 in a
// Content-Security-Policy, so the page loads nothing from anywhere but this API and runs no
// other script. Every value that comes from the API or a user is inserted as text (textContent,
// Text nodes, attribute values), never as markup.

constexpr std::string_view kStyle = R"CSS(
:root{--fg:#1d2330;--mut:#667085;--bd:#e3e6eb;--bg:#f4f5f7;--card:#fff;--acc:#2952cc;
--ok:#137a4b;--okbg:#e3f4ea;--warn:#9a5b00;--warnbg:#fff1d6;--bad:#c42b1c;--badbg:#fde8e6}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);
background:var(--bg)}
header{display:flex;align-items:center;gap:1rem;padding:.7rem 1.5rem;background:#1b2232;color:#fff}
header h1{font-size:1.15rem;margin:0;letter-spacing:.03em}
#info{color:#b9c1cf;font-size:12px;flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap}
#conn{font-size:12px;padding:.18rem .65rem;border-radius:99px;background:#3a4357;white-space:nowrap}
#conn[data-state=live],#conn[data-state=polling]{background:#137a4b}
#conn[data-state=connecting],#conn[data-state=retrying]{background:#9a5b00}
#conn[data-state=offline],#conn[data-state=token]{background:#c42b1c}
header button{background:transparent;color:#cfd6e2;border-color:#4a5468;font-size:12px}
header button:hover{background:#2b3447}
main{padding:1rem 1.5rem;max-width:1500px;margin:0 auto}
.card{background:var(--card);border:1px solid var(--bd);border-radius:8px;margin-bottom:1rem;
box-shadow:0 1px 2px #1018280d}
.card>h2{font-size:.95rem;margin:0;padding:.55rem .9rem;border-bottom:1px solid var(--bd);
display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}
.card>h2 .grow{flex:1}
.card>h2 input{font-size:13px;font-weight:400;padding:.25rem .5rem}
.pad{padding:.8rem .9rem}
form.line{display:flex;flex-wrap:wrap;gap:.7rem;align-items:flex-end}
label{display:flex;flex-direction:column;font-size:12px;color:var(--mut);gap:.2rem}
label.inline{flex-direction:row;align-items:center;gap:.3rem;color:var(--fg)}
input[type=text],input[type=password],input[type=number],input[type=search],textarea{
font:inherit;padding:.35rem .5rem;border:1px solid #cdd2da;border-radius:5px;background:#fff;
color:var(--fg);min-width:11rem}
input[type=number]{min-width:5rem;width:5.5rem}
textarea{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;height:2.25rem;
min-width:15rem;resize:vertical}
input:focus,textarea:focus,button:focus-visible{outline:2px solid #9db4f5;outline-offset:0}
button{font:inherit;padding:.33rem .8rem;border:1px solid #cdd2da;border-radius:5px;
background:#fff;color:var(--fg);cursor:pointer;white-space:nowrap}
button:hover{background:#f0f2f5}
button.primary{background:var(--acc);border-color:var(--acc);color:#fff}
button.primary:hover{background:#2146b5}
button.danger{color:var(--bad);border-color:#ebb8b2}
button.danger.solid{background:var(--bad);border-color:var(--bad);color:#fff}
button.small{padding:.15rem .55rem;font-size:12px}
button:disabled{opacity:.5;cursor:default}
.msg{font-size:13px;margin-top:.5rem;min-height:1.2em}
.msg:empty{display:none}
.err{color:var(--bad)} .ok{color:var(--ok)}
.muted{color:var(--mut)} .small{font-size:12px}
code,.mono{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
table{border-collapse:collapse;width:100%}
th,td{padding:.5rem .7rem;text-align:left;border-bottom:1px solid var(--bd);vertical-align:top}
th{font-size:12px;color:var(--mut);font-weight:600;background:#fafbfc}
tbody tr:last-child td{border-bottom:0}
#rows tr{cursor:pointer}
#rows tr:hover td{background:#f8f9fb}
#rows tr.sel td{background:#eef3ff}
.envname{font-weight:600;background:none;border:0;padding:0;color:var(--acc);font-size:14px}
.envname:hover{background:none;text-decoration:underline}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:.05rem .5rem;
border-radius:99px;background:#eceef2;color:#4a5160}
.badge.Running{background:var(--okbg);color:var(--ok)}
.badge.Pending{background:var(--warnbg);color:var(--warn)}
.badge.Failed{background:var(--badbg);color:var(--bad)}
.badge.Deleting{background:#eceef2;color:#555}
.badge.Sleeping{background:#e8eefb;color:#3a5a9b}
.badge.busy::before{content:"";display:inline-block;width:.55em;height:.55em;margin-right:.35em;
border:2px solid currentColor;border-right-color:transparent;border-radius:50%;
animation:spin .8s linear infinite;vertical-align:-.05em}
@keyframes spin{to{transform:rotate(360deg)}}
.tag{display:inline-block;font-size:11px;padding:0 .4rem;margin-left:.3rem;border-radius:4px;
background:#e8eefc;color:#2952cc}
.actions{display:flex;gap:.35rem;flex-wrap:wrap}
.confirm{margin-top:.45rem;padding:.5rem;border:1px solid #ebb8b2;border-radius:6px;
background:#fff8f7;display:flex;flex-direction:column;gap:.4rem}
.confirm[hidden]{display:none}
a{color:var(--acc);text-decoration:none} a:hover{text-decoration:underline}
.port{white-space:nowrap}
#empty td{color:var(--mut);text-align:center;padding:1.5rem;cursor:default}
#empty td:hover{background:none}
.grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1.2fr);gap:1rem}
@media (max-width:900px){.grid{grid-template-columns:minmax(0,1fr)}}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.3rem 1rem;margin:0}
dl.facts dt{color:var(--mut);font-size:12px;padding-top:.1rem}
dl.facts dd{margin:0;word-break:break-word}
h3{font-size:.85rem;margin:1rem 0 .4rem;color:#39404d}
h3:first-child{margin-top:0}
#events{max-height:18rem;overflow:auto;border:1px solid var(--bd);border-radius:6px}
#events td,#events th{padding:.3rem .5rem;font-size:12px}
#events tr.Warning td{color:var(--bad)}
#logs-out{margin:.6rem 0 0;background:#12161f;color:#dfe5ee;border-radius:6px;padding:.6rem .75rem;
min-height:10rem;max-height:30rem;overflow:auto;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace;
white-space:pre-wrap;word-break:break-all}
#token-card{border-color:#f0c36d;background:#fffbf0}
.charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:.6rem;margin-bottom:.4rem}
figure.chart{margin:0;border:1px solid var(--bd);border-radius:6px;padding:.35rem .5rem .3rem;
background:#fff}
figure.chart figcaption{display:flex;justify-content:space-between;gap:.5rem;font-size:12px;
color:var(--mut)}
figure.chart figcaption b{color:var(--fg);font-weight:600;white-space:nowrap}
figure.chart svg{display:block;width:100%;height:64px;margin-top:.2rem}
figure.chart .none{font-size:12px;color:var(--mut);height:64px;display:flex;align-items:center;
justify-content:center}
[hidden]{display:none!important}
)CSS";

constexpr std::string_view kBody = R"HTML(
<header>
 <h1>Berth</h1>
 <div id="info">environments</div>
 <span id="conn" data-state="connecting" role="status" aria-live="polite">connecting…</span>
 <button type="button" id="forget-token" class="small" hidden>Forget token</button>
</header>
<main>
 <section class="card" id="token-card" hidden>
  <h2>API token required</h2>
  <div class="pad">
   <form id="token-form" class="line" autocomplete="off">
    <label>Bearer token (the server's <code>api_token</code>)
     <input type="password" id="token-input" required autocomplete="off"></label>
    <button type="submit" class="primary">Use token</button>
   </form>
   <div class="msg err" id="token-msg" role="alert"></div>
   <div class="muted small">Kept for this browser tab only (sessionStorage).</div>
  </div>
 </section>

 <section class="card" id="create-card">
  <h2>New environment</h2>
  <div class="pad">
   <form id="create-form" class="line" autocomplete="off">
    <label>Name <input type="text" id="f-name" required spellcheck="false" placeholder="feature-42"></label>
    <label>Image <input type="text" id="f-image" spellcheck="false" placeholder="registry/app:tag"></label>
    <label>Namespace <input type="text" id="f-ns" spellcheck="false" placeholder="default"></label>
    <label>Env vars (KEY=VALUE per line)
     <textarea id="f-env" spellcheck="false" placeholder="DEBUG=1"></textarea></label>
    <button type="submit" class="primary" id="f-submit">Create</button>
   </form>
   <div class="msg" id="create-msg" role="alert"></div>
  </div>
 </section>

 <section class="card">
  <h2><span>Environments</span><span class="muted small grow" id="summary"></span>
   <input type="search" id="filter" placeholder="filter" aria-label="filter environments"></h2>
  <table>
   <thead><tr><th>Environment</th><th>Phase</th><th>Endpoints</th><th>Domains</th><th>Gen</th>
    <th>Actions</th></tr></thead>
   <tbody id="rows"></tbody>
   <tbody><tr id="empty" hidden><td colspan="6">No environments yet. Create one above, or
    <code>berth create NAME --image IMAGE</code></td></tr></tbody>
  </table>
 </section>

 <section class="card" id="detail" hidden>
  <h2><span id="d-title"></span><span id="d-phase"></span>
   <span class="muted small grow" id="d-watch"></span>
   <button type="button" class="small" id="d-close">Close</button></h2>
  <div class="pad grid">
   <div>
    <h3>Details</h3>
    <dl class="facts" id="d-facts"></dl>
    <h3>Rebuild</h3>
    <form id="d-rebuild" class="line" autocomplete="off">
     <label>Image (empty = same image, pulled again)
      <input type="text" id="d-rebuild-image" spellcheck="false"></label>
     <button type="submit">Rebuild</button>
    </form>
    <h3>Release</h3>
    <div class="line">
     <span id="d-release" class="mono small grow">—</span>
     <button type="button" id="d-rollback">Roll back</button>
    </div>
    <h3>Sleep</h3>
    <div class="line">
     <button type="button" id="d-sleep">Sleep</button>
     <button type="button" id="d-wake">Wake</button>
     <span class="muted small">asleep, it keeps its ports, volume and domains; a request wakes it</span>
    </div>
    <h3>Expiry</h3>
    <form id="d-extend" class="line" autocomplete="off">
     <label>Expire after, from now (90m, 8h, 3d; 0 = never)
      <input type="text" id="d-extend-ttl" spellcheck="false" placeholder="8h" required></label>
     <button type="submit">Extend</button>
    </form>
    <div class="msg" id="d-msg" role="alert"></div>
    <h3>Events</h3>
    <div id="events"><table><thead><tr><th>Time</th><th>Type</th><th>Reason</th><th>Message</th>
     </tr></thead><tbody id="d-events"></tbody></table></div>
   </div>
   <div>
    <div id="usage">
     <h3>Usage <span class="muted small" id="u-state">not sampled yet</span></h3>
     <div class="charts" id="u-charts"></div>
    </div>
    <div id="logs">
    <h3>Logs</h3>
    <form id="logs-form" class="line" autocomplete="off">
     <label>Tail lines <input type="number" id="logs-tail" value="200" min="0"></label>
     <label class="inline"><input type="checkbox" id="logs-follow"> follow</label>
     <label class="inline"><input type="checkbox" id="logs-ts"> timestamps</label>
     <button type="submit" id="logs-load">Load</button>
     <button type="button" id="logs-stop" disabled>Stop</button>
    </form>
    <div class="msg muted" id="logs-state">not loaded</div>
    <pre id="logs-out" tabindex="0"></pre>
    </div>
   </div>
  </div>
 </section>
</main>
)HTML";

constexpr std::string_view kScript = R"JS(
'use strict';
const $ = id => document.getElementById(id);
// Builds an element; strings among the children become Text nodes, never markup.
function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'title' || k === 'role') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of kids) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}
// replaceChildren without the missing ones (it would print them as "null").
function put(node, ...kids) {
  node.replaceChildren(...kids.filter(c => c !== null && c !== undefined && c !== false));
}

const TOKEN_KEY = 'berth.token';
const S = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  needToken: false, tokenMsg: '',
  envs: new Map(),   // key "ns/name" -> View
  rows: new Map(),   // key -> row elements
  ui: new Map(),     // key -> {msg, cls}
  selected: null,
  info: null,
  poll: {timer: null, fails: 0, error: '', next: 0, last: 0, seq: 0},
  mutations: 0,
  watch: null,
  logs: null,
  usage: {key: null, timer: null, seq: 0},
};

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}
async function errorOf(r) {
  let text = '';
  try { text = await r.text(); } catch (e) {}
  try {
    const j = JSON.parse(text);
    if (j && j.error) return new ApiError(r.status, j.error.code || '', j.error.message || text);
  } catch (e) {}
  return new ApiError(r.status, 'HTTP' + r.status, text.trim() || ('HTTP ' + r.status + ' ' + r.statusText));
}
// One call to the API: adds the token, turns error bodies into ApiError with the API's message,
// and asks for a token on 401/403. A call that has no answer (for a stream: no headers) within
// 20 s is abandoned, so a stalled connection cannot stop the polling.
const CALL_TIMEOUT = 20000;
async function api(method, path, body, opts = {}) {
  // X-Berth-Client: a header a cross-origin form cannot send; the API takes writes over TCP
  // without a token only with it (--insecure-no-auth).
  const headers = {'X-Berth-Client': 'dashboard'};
  if (S.token) headers['Authorization'] = 'Bearer ' + S.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const ctrl = new AbortController();
  let timedOut = false;
  const limit = opts.timeout || CALL_TIMEOUT;  // a rollback waits for the workload
  const timer = setTimeout(() => { timedOut = true; ctrl.abort(); }, limit);
  if (opts.signal) {
    if (opts.signal.aborted) ctrl.abort();
    else opts.signal.addEventListener('abort', () => ctrl.abort(), {once: true});
  }
  try {
    let r;
    try {
      r = await fetch(path, {method, headers, cache: 'no-store', signal: ctrl.signal,
                             body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (e) {
      if (e.name === 'AbortError' && !timedOut) throw e;
      throw new ApiError(0, 'Unreachable', timedOut ? 'the API did not answer within ' + limit / 1000 + ' s'
                                                    : 'cannot reach the API (' + e.message + ')');
    }
    if (!r.ok) {
      const err = await errorOf(r);
      if (r.status === 401 || r.status === 403) askToken(err.message);
      throw err;
    }
    if (opts.raw) { clearTimeout(timer); return r; }
    try {
      return await r.json();
    } catch (e) {
      if (e.name === 'AbortError' && !timedOut) throw e;
      throw new ApiError(0, 'Unreachable', timedOut ? 'the API did not answer within ' + CALL_TIMEOUT / 1000 + ' s'
                                                    : 'bad answer from the API (' + e.message + ')');
    }
  } finally {
    clearTimeout(timer);
  }
}
const envPath = key => {
  const i = key.indexOf('/');
  return '/v1/environments/' + encodeURIComponent(key.slice(0, i)) + '/' + encodeURIComponent(key.slice(i + 1));
};
const keyOf = v => v.spec.namespace + '/' + v.spec.name;

// ---- token ----
function askToken(message) {
  const first = !S.needToken;
  S.needToken = true;
  S.tokenMsg = S.token ? 'The API refused this token: ' + message : '';
  $('token-card').hidden = false;
  $('token-msg').textContent = S.tokenMsg;
  if (first) $('token-input').focus();
  stopWatch();
  clearTimeout(S.poll.timer);
  setConn();
}
$('token-form').addEventListener('submit', ev => {
  ev.preventDefault();
  S.token = $('token-input').value.trim();
  if (!S.token) return;
  sessionStorage.setItem(TOKEN_KEY, S.token);
  $('token-input').value = '';
  S.needToken = false;
  $('token-card').hidden = true;
  $('token-msg').textContent = '';
  $('forget-token').hidden = false;
  start();
});
$('forget-token').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  S.token = '';
  $('forget-token').hidden = true;
  refreshList();
});

// ---- connection state ----
function secs(ms) { return Math.max(0, Math.ceil(ms / 1000)) + ' s'; }
function setConn() {
  const c = $('conn');
  let state, text, title = '';
  const w = S.watch;
  if (S.needToken) { state = 'token'; text = 'token required'; }
  else if (S.poll.fails) {
    state = 'offline'; title = S.poll.error;
    text = 'offline · retrying in ' + secs(S.poll.next - Date.now());
  } else if (!S.poll.last) { state = 'connecting'; text = 'connecting…'; }
  else if (w && w.state === 'live') { state = 'live'; text = 'live · watching ' + w.key; }
  else if (w && w.state === 'retrying') {
    state = 'retrying'; title = w.error;
    text = 'watch lost · reconnecting in ' + secs(w.retryAt - Date.now());
  } else if (w && w.state === 'connecting') { state = 'connecting'; text = 'connecting watch…'; }
  else { state = 'polling'; text = 'connected · list every ' + Math.round(pollInterval() / 1000) + ' s'; }
  if (c.dataset.state !== state) c.dataset.state = state;
  if (c.textContent !== text) c.textContent = text;
  c.title = title || (S.poll.last ? 'list updated ' + new Date(S.poll.last).toLocaleTimeString() : '');
  if (S.selected) {
    const t = !w ? '' : w.state === 'live' ? 'watching for changes' :
              w.state === 'retrying' ? 'watch: ' + (w.error || 'reconnecting') : w.state === 'ended' ? '' : 'connecting…';
    if ($('d-watch').textContent !== t) $('d-watch').textContent = t;
  }
}
setInterval(setConn, 1000);

// ---- phases ----
function phaseOf(v) {
  if (v.spec.deleting) return 'Deleting';
  return v.status && v.status.phase ? v.status.phase : 'Pending';
}
function progressOf(v) {
  const s = v.status;
  if (v.spec.deleting) return v.spec.purge ? 'deleting, with its /apps data' : 'deleting';
  if (!s) return 'waiting for the controller';
  if (v.spec.sleeping && s.phase !== 'Sleeping') return 'going to sleep';
  if (!v.spec.sleeping && s.phase === 'Sleeping') return 'waking up';
  if ((s.observed_generation || 0) < v.spec.generation)
    return s.observed_generation ? 'rolling out generation ' + v.spec.generation : 'starting';
  return '';
}
const busy = v => phaseOf(v) === 'Pending' || phaseOf(v) === 'Deleting' || progressOf(v) !== '';
function badge(v) {
  const p = phaseOf(v);
  return el('span', {class: 'badge ' + p + (busy(v) && p !== 'Failed' ? ' busy' : ''), text: p});
}
function hostFor(ip) { return ip && ip.includes(':') ? '[' + ip + ']' : ip; }
function portLinks(v) {
  const s = v.status || {}, out = [];
  const cport = {};
  for (const p of v.spec.ports || []) cport[p.name] = p.container_port;
  // In the spec's order (ssh, http, https by default), then any others.
  const names = (v.spec.ports || []).map(p => p.name).filter(n => n in (s.ports || {}));
  for (const n of Object.keys(s.ports || {}).sort()) if (!names.includes(n)) names.push(n);
  for (const name of names) {
    const port = s.ports[name];
    const label = el('span', {class: 'muted', text: name + ' '});
    const target = cport[name] ? ' → ' + cport[name] : '';
    let val;
    if (s.host_ip && (name === 'http' || name === 'https'))
      val = el('a', {href: name + '://' + hostFor(s.host_ip) + ':' + port + '/', target: '_blank',
                     rel: 'noopener noreferrer', class: 'mono', text: String(port)});
    else val = el('span', {class: 'mono', text: String(port)});
    out.push(el('div', {class: 'port'}, label, val, el('span', {class: 'muted small', text: target})));
  }
  return out;
}
function domainLinks(v) {
  return (v.spec.domains || []).map(d => el('div', {},
    el('a', {href: 'http://' + d + '/', target: '_blank', rel: 'noopener noreferrer', text: d})));
}

// ---- table ----
function matchesFilter(key) {
  const f = $('filter').value.trim().toLowerCase();
  if (!f) return true;
  const v = S.envs.get(key);
  return key.toLowerCase().includes(f) || (v && v.spec.image.toLowerCase().includes(f));
}
function makeRow(key) {
  const r = {};
  r.name = el('button', {type: 'button', class: 'envname', title: 'details'});
  r.ns = el('span', {class: 'muted small'});
  r.image = el('div', {class: 'muted small mono'});
  r.phase = el('td', {class: 'c-phase'});
  r.endpoints = el('td', {class: 'c-endpoints'});
  r.domains = el('td', {class: 'c-domains'});
  r.gen = el('td', {class: 'c-gen'});
  r.logs = el('button', {type: 'button', class: 'small', text: 'Logs', 'data-action': 'logs'});
  r.rebuild = el('button', {type: 'button', class: 'small', text: 'Rebuild', 'data-action': 'rebuild'});
  r.del = el('button', {type: 'button', class: 'small danger', text: 'Delete', 'data-action': 'delete'});
  r.purge = el('input', {type: 'checkbox', 'data-role': 'purge'});
  r.confirmBtn = el('button', {type: 'button', class: 'small danger solid', text: 'Delete', 'data-action': 'confirm-delete'});
  r.cancelBtn = el('button', {type: 'button', class: 'small', text: 'Cancel', 'data-action': 'cancel-delete'});
  r.confirm = el('div', {class: 'confirm', hidden: true, 'data-role': 'confirm'},
    el('div', {text: 'Delete ' + key + '? Its container and route go away.'}),
    el('label', {class: 'inline small'}, r.purge, 'also delete its /apps data (purge)'),
    el('div', {class: 'actions'}, r.confirmBtn, r.cancelBtn));
  r.msg = el('div', {class: 'msg', 'data-role': 'row-msg', role: 'alert'});
  r.tr = el('tr', {'data-key': key},
    el('td', {class: 'c-name'}, r.name, ' ', r.ns, r.image),
    r.phase, r.endpoints, r.domains, r.gen,
    el('td', {class: 'c-actions'}, el('div', {class: 'actions'}, r.logs, r.rebuild, r.del), r.confirm, r.msg));
  r.tr.addEventListener('click', ev => {
    if (ev.target.closest('a,button,input,label,.confirm')) return;
    select(key);
  });
  r.name.addEventListener('click', () => select(key));
  r.logs.addEventListener('click', () => { select(key); loadLogs(); $('logs').scrollIntoView({block: 'nearest'}); });
  r.rebuild.addEventListener('click', () => rebuild(key, ''));
  r.del.addEventListener('click', () => { r.confirm.hidden = false; r.confirmBtn.focus(); });
  r.cancelBtn.addEventListener('click', () => { r.confirm.hidden = true; r.purge.checked = false; });
  r.confirmBtn.addEventListener('click', () => del(key, r.purge.checked));
  // Keep rows ordered by namespace/name.
  let before = null;
  for (const [k, o] of S.rows) if (k > key && (!before || k < before[0])) before = [k, o];
  $('rows').insertBefore(r.tr, before ? before[1].tr : null);
  return r;
}
function renderRow(key) {
  const v = S.envs.get(key);
  let r = S.rows.get(key);
  if (!r) { r = makeRow(key); S.rows.set(key, r); }
  r.tr.hidden = !matchesFilter(key);
  r.tr.classList.toggle('sel', key === S.selected);
  const ui = S.ui.get(key) || {msg: '', cls: ''};
  r.msg.textContent = ui.msg;
  r.msg.className = 'msg ' + ui.cls;
  const sig = JSON.stringify([v.spec, v.status]);
  if (r.sig === sig) return;
  r.sig = sig;
  const s = v.status || {};
  r.tr.dataset.phase = phaseOf(v);
  r.tr.dataset.generation = String(v.spec.generation);
  r.tr.dataset.observed = String(s.observed_generation || 0);
  r.name.textContent = v.spec.name;
  r.ns.textContent = v.spec.namespace;
  r.image.textContent = v.spec.image;
  const note = progressOf(v);
  put(r.phase, badge(v), s.routed ? el('span', {class: 'tag', text: 'routed', title: 'reachable through the router'}) : null,
    s.reason && s.reason !== phaseOf(v) ? el('div', {class: 'muted small', text: s.reason}) : null,
    note ? el('div', {class: 'muted small', text: note}) : null,
    s.last_error ? el('div', {class: 'err small', 'data-role': 'last-error', text: s.last_error}) : null);
  put(r.endpoints, s.host_ip ? el('div', {class: 'mono', text: s.host_ip}) : el('span', {class: 'muted', text: '—'}), ...portLinks(v));
  const d = domainLinks(v);
  put(r.domains, ...(d.length ? d : [el('span', {class: 'muted', text: '—'})]));
  const obs = s.observed_generation || 0;
  put(r.gen, String(v.spec.generation),
    v.status && obs !== v.spec.generation ? el('div', {class: 'muted small', text: 'observed ' + obs}) : null);
  r.rebuild.disabled = r.del.disabled = r.confirmBtn.disabled = !!v.spec.deleting;
  if (v.spec.deleting) r.confirm.hidden = true;
}
function removeRow(key) {
  const r = S.rows.get(key);
  if (r) r.tr.remove();
  S.rows.delete(key);
  S.envs.delete(key);
  S.ui.delete(key);
}
function renderSummary() {
  const n = S.envs.size, by = {};
  for (const v of S.envs.values()) by[phaseOf(v)] = (by[phaseOf(v)] || 0) + 1;
  const parts = Object.entries(by).sort().map(([p, c]) => c + ' ' + p.toLowerCase());
  $('summary').textContent = n + (n === 1 ? ' environment' : ' environments') + (parts.length ? ' · ' + parts.join(', ') : '');
  $('empty').hidden = n > 0;
}
// Takes a View from any source; an older revision never replaces a newer one.
// (revision is the spec's; the status carries its own updated_at.)
function older(v, cur) {
  if ((v.revision || 0) !== (cur.revision || 0)) return (v.revision || 0) < (cur.revision || 0);
  if (!v.status) return !!cur.status;
  return !!cur.status && (v.status.updated_at || '') < (cur.status.updated_at || '');
}
function upsert(v) {
  const key = keyOf(v), cur = S.envs.get(key);
  if (cur && older(v, cur)) return;
  S.envs.set(key, v);
  renderRow(key);
  renderSummary();
  if (key === S.selected) renderDetail();
}
function gone(key) {
  if (!S.envs.has(key)) return;
  removeRow(key);
  renderSummary();
  if (key === S.selected) {
    $('d-msg').className = 'msg muted';
    $('d-msg').textContent = key + ' was deleted';
    closeDetail();
  }
}
function setRowMsg(key, msg, cls) {
  S.ui.set(key, {msg, cls: cls || ''});
  if (S.envs.has(key)) renderRow(key);
}
$('filter').addEventListener('input', () => { for (const k of S.rows.keys()) renderRow(k); });

// ---- the list: polled (the API's watch is per environment) ----
function pollInterval() {
  if (document.hidden) return 15000;
  for (const v of S.envs.values()) if (busy(v) && keyOf(v) !== S.selected) return 2000;
  return 5000;
}
function schedulePoll() {
  clearTimeout(S.poll.timer);
  if (S.needToken) return;
  const ms = S.poll.fails ? Math.min(30000, 1000 * 2 ** Math.min(S.poll.fails - 1, 5)) : pollInterval();
  S.poll.next = Date.now() + ms;
  S.poll.timer = setTimeout(refreshList, ms);
}
async function refreshList() {
  clearTimeout(S.poll.timer);
  if (S.needToken) return;
  const seq = ++S.poll.seq, muts = S.mutations;
  try {
    const j = await api('GET', '/v1/environments');
    if (seq !== S.poll.seq) return;
    if (muts !== S.mutations) { refreshList(); return; }  // raced with our own change: ask again
    S.poll.fails = 0;
    S.poll.last = Date.now();
    const seen = new Set();
    for (const v of j.items || []) { seen.add(keyOf(v)); upsert(v); }
    for (const k of [...S.envs.keys()]) if (!seen.has(k)) gone(k);
    renderSummary();
    if (!S.info) loadInfo();
  } catch (e) {
    if (seq !== S.poll.seq || S.needToken) return;
    S.poll.fails++;
    S.poll.error = e.message;
  }
  schedulePoll();
  setConn();
}
document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshList(); });
async function loadInfo() {
  try {
    const i = await api('GET', '/v1/info');
    S.info = i;
    const bits = ['Berth ' + i.version, 'runtime ' + i.runtime];
    if (i.host_ip) bits.push('host ' + i.host_ip);
    if ((i.base_domains || []).length) bits.push('*.' + i.base_domains.join(', *.'));
    $('info').textContent = bits.join(' · ');
    if (i.default_image) $('f-image').placeholder = i.default_image + ' (default)';
    if (i.default_namespace) $('f-ns').placeholder = i.default_namespace;
  } catch (e) {}
}

// ---- watch of the selected environment (NDJSON) ----
function stopWatch() {
  const w = S.watch;
  if (!w) return;
  w.stopped = true;
  clearTimeout(w.timer);
  w.ctrl.abort();
  S.watch = null;
}
function startWatch(key) {
  stopWatch();
  S.watch = {key, state: 'connecting', fails: 0, timer: null, error: '', ctrl: new AbortController()};
  runWatch(S.watch);
}
function retryWatch(w, error) {
  w.fails++;
  const ms = Math.min(30000, 1000 * 2 ** Math.min(w.fails - 1, 5));
  w.state = 'retrying';
  w.error = error;
  w.retryAt = Date.now() + ms;
  w.timer = setTimeout(() => runWatch(w), ms);
  setConn();
}
async function runWatch(w) {
  if (w.stopped || S.needToken) return;
  w.state = 'connecting';
  w.ctrl = new AbortController();
  setConn();
  let failure = null;
  const began = Date.now();
  try {
    const r = await api('GET', envPath(w.key) + '/watch?timeout=300', undefined, {raw: true, signal: w.ctrl.signal});
    w.state = 'live';
    setConn();
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += dec.decode(value, {stream: true});
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        const m = JSON.parse(line);
        if (m.type === 'update' && m.environment) { w.fails = 0; upsert(m.environment); }
        else if (m.type === 'deleted') { w.state = 'ended'; gone(w.key); return; }
        else if (m.type === 'error' && m.error && m.error.code !== 'Timeout') failure = m.error.message;
      }
    }
  } catch (e) {
    if (w.stopped || e.name === 'AbortError') return;
    if (e.status === 404) { w.state = 'ended'; gone(w.key); return; }
    if (e.status === 401 || e.status === 403) return;
    failure = e.message;
  }
  if (w.stopped) return;
  // The server ends every watch after its timeout: reconnect at once. Anything else backs off.
  if (!failure && Date.now() - began < 5000) failure = 'the watch stream ended early';
  if (failure) retryWatch(w, failure);
  else { w.state = 'connecting'; w.timer = setTimeout(() => runWatch(w), 100); }
}

// ---- usage charts (GET .../usage/history: the server keeps the last hour in memory) ----
const SVGNS = 'http://www.w3.org/2000/svg';
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}
function fmtBytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i && n < 10 ? n.toFixed(1) : String(Math.round(n))) + ' ' + u[i];
}
function fmtNum(n) { return n >= 10 ? String(Math.round(n)) : n.toFixed(n < 0.1 && n > 0 ? 3 : 1); }
const CHARTS = [
  {metric: 'cpu', title: 'CPU (cores)', series: [['cpu_cores', '#2952cc']], fmt: fmtNum},
  {metric: 'memory', title: 'Memory', series: [['memory_bytes', '#137a4b']], fmt: fmtBytes,
   note: p => typeof p.memory_limit_bytes === 'number' ? 'of ' + fmtBytes(p.memory_limit_bytes) : ''},
  {metric: 'network', title: 'Network in / out',
   series: [['network_receive_bytes_per_second', '#2952cc'], ['network_transmit_bytes_per_second', '#d9730d']],
   fmt: v => fmtBytes(v) + '/s'},
  {metric: 'requests', title: 'Requests / min (router)', series: [['requests_per_minute', '#8e3ccb']], fmt: fmtNum},
];
const CW = 300, CH = 64;
const isNum = v => typeof v === 'number' && isFinite(v);
// One chart: each series a polyline over the kept points (broken where a point has no value),
// scaled from 0 to the largest value shown; the caption gives the newest values.
function chart(c, pts) {
  let max = 0, any = false;
  for (const p of pts) for (const [f] of c.series) if (isNum(p[f])) { any = true; max = Math.max(max, p[f]); }
  const newest = c.series.map(([f]) => {
    for (let i = pts.length - 1; i >= 0; i--) if (isNum(pts[i][f])) return pts[i][f];
    return null;
  }).filter(v => v !== null);
  const note = c.note && pts.length ? c.note(pts[pts.length - 1]) : '';
  const fig = el('figure', {class: 'chart', 'data-metric': c.metric},
    el('figcaption', {}, el('span', {text: c.title}),
       el('b', {'data-role': 'now', text: newest.length ? newest.map(c.fmt).join(' / ') + (note ? ' ' + note : '') : '—'})));
  if (!c.series.some(([f]) => pts.filter(p => isNum(p[f])).length >= 2)) {
    fig.append(el('div', {class: 'none', text: any ? 'collecting…' : 'no data'}));
    return fig;
  }
  const t0 = Date.parse(pts[0].at), t1 = Date.parse(pts[pts.length - 1].at);
  const top = max > 0 ? max * 1.15 : 1;
  const x = p => t1 > t0 ? (Date.parse(p.at) - t0) / (t1 - t0) * (CW - 2) + 1 : CW / 2;
  const y = v => (CH - 3) - v / top * (CH - 6);
  const svg = svgEl('svg', {viewBox: `0 0 ${CW} ${CH}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': c.title});
  svg.append(svgEl('line', {x1: 0, y1: CH - 0.5, x2: CW, y2: CH - 0.5, stroke: '#d0d5dd', 'stroke-width': 1,
                            'vector-effect': 'non-scaling-stroke'}));
  for (const [f, color] of c.series) {
    let run = [];
    const flush = () => {
      if (run.length >= 2)
        svg.append(svgEl('polyline', {points: run.join(' '), fill: 'none', stroke: color, 'stroke-width': 2,
                                      'stroke-linejoin': 'round', 'vector-effect': 'non-scaling-stroke', 'data-series': f}));
      run = [];
    };
    for (const p of pts) {
      if (isNum(p[f])) run.push(x(p).toFixed(1) + ',' + y(p[f]).toFixed(1));
      else flush();
    }
    flush();
  }
  fig.append(svg);
  return fig;
}
function renderUsage(h) {
  const pts = h.points || [];
  const span = pts.length >= 2 ? (Date.parse(pts[pts.length - 1].at) - Date.parse(pts[0].at)) / 1000 : 0;
  $('u-state').textContent = pts.length
    ? pts.length + ' samples, every ' + h.interval_seconds + ' s' +
      (span >= 120 ? ', last ' + Math.round(span / 60) + ' min' : span > 0 ? ', last ' + Math.round(span) + ' s' : '')
    : 'not sampled yet';
  put($('u-charts'), ...CHARTS.map(c => chart(c, pts)));
}
function stopUsage() {
  if (S.usage.timer) clearTimeout(S.usage.timer);
  S.usage = {key: null, timer: null, seq: S.usage.seq + 1};
}
async function loadUsage(key) {
  const seq = S.usage.seq;
  let delay = 5000;
  try {
    const h = await api('GET', envPath(key) + '/usage/history');
    if (seq !== S.usage.seq) return;
    renderUsage(h);
    delay = Math.min(30000, Math.max(1000, (h.interval_seconds || 5) * 1000));
  } catch (e) {
    if (seq !== S.usage.seq) return;
    $('u-state').textContent = 'usage unavailable: ' + e.message;
    put($('u-charts'));
    delay = 15000;
  }
  S.usage.timer = setTimeout(() => loadUsage(key), delay);
}
function startUsage(key) {
  stopUsage();
  S.usage.key = key;
  $('u-state').textContent = 'loading…';
  put($('u-charts'));
  loadUsage(key);
}

// ---- detail panel ----
function fact(dl, name, ...value) {
  dl.append(el('dt', {text: name}), el('dd', {}, ...value));
}
function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}
function renderDetail() {
  const key = S.selected, v = S.envs.get(key);
  if (!v) return;
  const s = v.status || {};
  $('d-title').textContent = key;
  $('d-phase').replaceChildren(badge(v));
  const dl = $('d-facts');
  dl.replaceChildren();
  fact(dl, 'Image', el('span', {class: 'mono', text: v.spec.image}));
  const note = progressOf(v);
  fact(dl, 'Phase', phaseOf(v) + (s.reason && s.reason !== phaseOf(v) ? ' (' + s.reason + ')' : ''),
       note ? el('div', {class: 'muted small', text: note}) : null);
  if (s.last_error) fact(dl, 'Last error', el('span', {class: 'err', 'data-role': 'last-error', text: s.last_error}));
  fact(dl, 'Generation', String(v.spec.generation) + (v.status ? ' (observed ' + (s.observed_generation || 0) + ')' : ''));
  fact(dl, 'Host IP', el('span', {class: 'mono', text: s.host_ip || '—'}));
  const ports = portLinks(v);
  fact(dl, 'Ports', ...(ports.length ? ports : ['—']));
  const doms = domainLinks(v);
  fact(dl, 'Domains', ...(doms.length ? doms : ['—']));
  fact(dl, 'Routed', s.routed ? 'yes' : 'no');
  fact(dl, 'Volume', v.spec.volume_mount ? el('span', {class: 'mono', text: v.spec.volume_mount}) : 'none');
  const envs = Object.entries(v.spec.env || {});
  fact(dl, 'Env vars', ...(envs.length ? envs.map(([k, val]) => el('div', {class: 'mono', 'data-role': 'env', text: k + '=' + val})) : ['—']));
  const labels = Object.entries(v.spec.labels || {});
  if (labels.length) fact(dl, 'Labels', ...labels.map(([k, val]) => el('div', {class: 'mono', text: k + '=' + val})));
  fact(dl, 'Created', fmtTime(v.spec.created_at) || '—');
  fact(dl, 'Expires', el('span', {'data-role': 'expires', text: v.spec.expires_at
      ? fmtTime(v.spec.expires_at) + (v.spec.purge_on_expiry ? ' (volume purged then)' : ' (volume kept)')
      : 'never'}));
  if (s.updated_at) fact(dl, 'Updated', fmtTime(s.updated_at));
  if (s.workload_id) fact(dl, 'Workload', el('span', {class: 'mono small', text: s.workload_id}));
  const evs = s.events || [];
  $('d-events').replaceChildren(...(evs.length ? evs.map(e => el('tr', {class: e.type},
      el('td', {class: 'small', text: fmtTime(e.time)}), el('td', {text: e.type}),
      el('td', {text: e.reason}),
      el('td', {text: e.message + (e.count > 1 ? ' (x' + e.count + ')' : '')})))
    : [el('tr', {}, el('td', {colSpan: 4, class: 'muted', text: 'no events yet'}))]));
  const box = $('events');
  box.scrollTop = box.scrollHeight;
  $('d-rebuild').querySelector('button').disabled = !!v.spec.deleting;
  $('d-extend').querySelector('button').disabled = !!v.spec.deleting;
  $('d-sleep').disabled = !!v.spec.deleting || !!v.spec.sleeping;
  $('d-wake').disabled = !!v.spec.deleting || !v.spec.sleeping;
}
function select(key) {
  if (!S.envs.has(key)) return;
  const changed = S.selected !== key;
  const prev = S.selected;
  S.selected = key;
  if (prev && S.rows.has(prev)) renderRow(prev);
  renderRow(key);
  $('detail').hidden = false;
  if (changed) {
    stopLogs();
    $('logs-out').textContent = '';
    $('logs-state').textContent = 'not loaded';
    $('d-msg').textContent = '';
    $('d-rebuild-image').value = '';
    history.replaceState(null, '', '#' + key);
    startWatch(key);
    startUsage(key);
    loadReleases(key);
  }
  renderDetail();
  setConn();
}
function closeDetail() {
  const prev = S.selected;
  S.selected = null;
  stopWatch();
  stopUsage();
  stopLogs();
  $('detail').hidden = true;
  if (prev && S.rows.has(prev)) renderRow(prev);
  history.replaceState(null, '', location.pathname + location.search);
  schedulePoll();
  setConn();
}
$('d-close').addEventListener('click', closeDetail);
$('d-rebuild').addEventListener('submit', ev => {
  ev.preventDefault();
  if (S.selected) rebuild(S.selected, $('d-rebuild-image').value.trim());
});
async function setSleeping(asleep) {
  const key = S.selected, m = $('d-msg');
  if (!key) return;
  try {
    const v = await api('POST', envPath(key) + (asleep ? '/sleep' : '/wake'), {});
    S.mutations++;
    upsert(v);
    m.className = 'msg ok';
    m.textContent = asleep ? 'going to sleep' : 'waking up';
    renderDetail();
  } catch (e) {
    m.className = 'msg err';
    m.textContent = (asleep ? 'sleep' : 'wake') + ' failed: ' + e.message;
  }
}
// The current release (docs/releases.md) and a rollback to the one before it.
async function loadReleases(key) {
  const out = $('d-release'), btn = $('d-rollback');
  btn.disabled = true;
  try {
    const l = await api('GET', envPath(key) + '/releases');
    if (key !== S.selected) return;
    const cur = (l.items || []).find(r => r.current);
    out.textContent = cur ? cur.id + ' (' + cur.mode + ' ' +
        (cur.mode === 'image' ? cur.image : cur.digest.slice(0, 19)) + ')' +
        (cur.message ? ' ' + cur.message : '') : 'no release yet';
    btn.disabled = !cur || l.deploying !== '' ||
        !(l.items || []).some(r => r.phase === 'Running' && r.seq < cur.seq);
  } catch (e) {
    if (key === S.selected) out.textContent = '— (' + e.message + ')';
  }
}
$('d-rollback').addEventListener('click', async () => {
  const key = S.selected, m = $('d-msg');
  if (!key) return;
  $('d-rollback').disabled = true;
  m.className = 'msg muted';
  m.textContent = 'rolling back…';
  try {
    const l = await api('POST', envPath(key) + '/rollback', {}, {timeout: 180000});
    S.mutations++;
    m.className = 'msg ok';
    m.textContent = 'rolled back to ' + l.current;
  } catch (e) {
    m.className = 'msg err';
    m.textContent = 'rollback failed: ' + e.message;
  }
  if (key === S.selected) loadReleases(key);
});
$('d-sleep').addEventListener('click', () => setSleeping(true));
$('d-wake').addEventListener('click', () => setSleeping(false));
// "90m", "8h", "1h30m", "3d" or seconds, as the CLI takes them; the server checks the bounds.
function parseTtl(text) {
  if (/^[0-9]+$/.test(text)) return Number(text);
  if (!/^([0-9]+[smhdw])+$/.test(text)) return NaN;
  const unit = {s: 1, m: 60, h: 3600, d: 86400, w: 604800};
  let total = 0;
  for (const [, n, u] of text.matchAll(/([0-9]+)([smhdw])/g)) total += Number(n) * unit[u];
  return total;
}
$('d-extend').addEventListener('submit', async ev => {
  ev.preventDefault();
  const key = S.selected, text = $('d-extend-ttl').value.trim(), m = $('d-msg');
  if (!key) return;
  const ttl = parseTtl(text);
  if (isNaN(ttl)) { m.className = 'msg err'; m.textContent = 'ttl "' + text + '": use 90m, 8h, 3d or seconds'; return; }
  try {
    const v = await api('POST', envPath(key) + '/extend', {ttl_seconds: ttl});
    S.mutations++;
    upsert(v);
    m.className = 'msg ok';
    m.textContent = v.spec.expires_at ? 'expires at ' + fmtTime(v.spec.expires_at) : 'never expires';
    renderDetail();
  } catch (e) {
    m.className = 'msg err';
    m.textContent = 'extend failed: ' + e.message;
  }
});

// ---- logs ----
function stopLogs() {
  if (S.logs) { S.logs.ctrl.abort(); S.logs = null; }
  $('logs-stop').disabled = true;
}
function appendLogs(text) {
  if (!text) return;
  const o = $('logs-out');
  const atBottom = o.scrollHeight - o.scrollTop - o.clientHeight < 30;
  o.append(text);
  if (o.textContent.length > 400000) o.textContent = o.textContent.slice(-300000);
  if (atBottom) o.scrollTop = o.scrollHeight;
}
async function loadLogs() {
  stopLogs();
  const key = S.selected;
  if (!key) return;
  const q = new URLSearchParams();
  const tail = parseInt($('logs-tail').value, 10);
  if (!isNaN(tail) && tail >= 0) q.set('tail', String(tail));
  const follow = $('logs-follow').checked;
  if (follow) q.set('follow', 'true');
  if ($('logs-ts').checked) q.set('timestamps', 'true');
  const L = {key, ctrl: new AbortController(), bytes: 0};
  S.logs = L;
  $('logs-stop').disabled = false;
  $('logs-out').textContent = '';
  const st = $('logs-state');
  st.className = 'msg muted';
  st.textContent = 'loading…';
  try {
    const r = await api('GET', envPath(key) + '/logs?' + q, undefined, {raw: true, signal: L.ctrl.signal});
    if (follow) st.textContent = 'following (live)';
    const reader = r.body.getReader(), dec = new TextDecoder();
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      L.bytes += value.length;
      appendLogs(dec.decode(value, {stream: true}));
    }
    appendLogs(dec.decode());
    if (S.logs !== L) return;
    st.textContent = (follow ? 'stream ended · ' : 'loaded · ') +
      (L.bytes ? L.bytes + ' bytes' : 'no output yet') + ' · ' + new Date().toLocaleTimeString();
  } catch (e) {
    if (S.logs !== L) return;
    if (e.name === 'AbortError') { st.textContent = 'stopped'; return; }
    st.className = 'msg err';
    st.textContent = 'logs: ' + e.message;
  }
  if (S.logs === L) { S.logs = null; $('logs-stop').disabled = true; }
}
$('logs-form').addEventListener('submit', ev => { ev.preventDefault(); loadLogs(); });
$('logs-stop').addEventListener('click', () => { stopLogs(); $('logs-state').textContent = 'stopped'; });
$('logs-follow').addEventListener('change', () => { if (S.selected && S.logs) loadLogs(); });

// ---- actions ----
function parseEnv(text) {
  const env = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error('env vars, line ' + (i + 1) + ': expected KEY=VALUE, got "' + line + '"');
    env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  });
  return env;
}
function formMsg(text, cls) {
  const m = $('create-msg');
  m.className = 'msg ' + (cls || 'muted');
  m.textContent = text;
}
$('create-form').addEventListener('submit', async ev => {
  ev.preventDefault();
  const name = $('f-name').value.trim(), image = $('f-image').value.trim(), ns = $('f-ns').value.trim();
  let env;
  try { env = parseEnv($('f-env').value); } catch (e) { formMsg(e.message, 'err'); return; }
  const body = {name};
  if (ns) body.namespace = ns;
  if (image) body.image = image;
  if (Object.keys(env).length) body.env = env;
  const btn = $('f-submit');
  btn.disabled = true;
  formMsg('creating ' + name + '…');
  try {
    const v = await api('POST', '/v1/environments', body);
    S.mutations++;
    upsert(v);
    const key = keyOf(v);
    formMsg('created ' + key + ' · it shows Running once its container is up', 'ok');
    $('f-name').value = '';
    $('f-env').value = '';
    select(key);
  } catch (e) {
    formMsg((e.code ? e.code + ': ' : '') + e.message, 'err');
  } finally {
    btn.disabled = false;
  }
});
async function rebuild(key, image) {
  const r = S.rows.get(key);
  if (r) r.rebuild.disabled = true;
  setRowMsg(key, 'rebuilding…', 'muted');
  try {
    const v = await api('POST', envPath(key) + '/rebuild', image ? {image} : undefined);
    S.mutations++;
    setRowMsg(key, 'rebuild requested: generation ' + v.spec.generation, 'ok');
    upsert(v);
    if (key === S.selected) { $('d-msg').className = 'msg ok'; $('d-msg').textContent = 'rebuild requested: generation ' + v.spec.generation; }
    else select(key);
  } catch (e) {
    setRowMsg(key, 'rebuild failed: ' + e.message, 'err');
    if (key === S.selected) { $('d-msg').className = 'msg err'; $('d-msg').textContent = 'rebuild failed: ' + e.message; }
  } finally {
    const v = S.envs.get(key);
    if (r && v) r.rebuild.disabled = !!v.spec.deleting;
  }
  schedulePoll();
}
async function del(key, purge) {
  const r = S.rows.get(key);
  if (r) r.confirmBtn.disabled = true;
  try {
    const v = await api('DELETE', envPath(key) + (purge ? '?purge=true' : ''));
    S.mutations++;
    if (r) { r.confirm.hidden = true; r.purge.checked = false; }
    setRowMsg(key, 'deleting' + (purge ? ' (with data)' : '') + '…', 'muted');
    upsert(v);
  } catch (e) {
    if (e.status === 404) { gone(key); return; }
    setRowMsg(key, 'delete failed: ' + e.message, 'err');
    if (r) r.confirmBtn.disabled = false;
  }
  schedulePoll();
}

// ---- start ----
function start() {
  $('forget-token').hidden = !S.token;
  loadInfo();
  refreshList().then(() => {
    const want = decodeURIComponent(location.hash.slice(1));
    if (S.selected) startWatch(S.selected);
    else if (want && S.envs.has(want)) select(want);
  });
}
start();
)JS";

std::string CspSource(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), md, &n, EVP_sha256(), nullptr);
  return "'sha256-" + util::Base64Encode(std::string_view(reinterpret_cast<const char*>(md), n)) +
         "'";
}

}  // namespace

const std::string& DashboardHtml() {
  static const std::string html = [] {
    const std::string csp = "default-src 'none'; script-src " + CspSource(kScript) +
                            "; style-src " + CspSource(kStyle) +
                            "; connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                            "form-action 'none'";
    std::string h;
    h += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
    h += "<meta http-equiv=\"Content-Security-Policy\" content=\"" + csp + "\">\n";
    h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    h += "<meta name=\"referrer\" content=\"no-referrer\">\n<link rel=\"icon\" href=\"data:,\">\n";
    h += "<title>Berth</title>\n";
    h += "<style>";
    h += kStyle;
    h += "</style></head><body>";
    h += kBody;
    h += "<script>";
    h += kScript;
    h += "</script></body></html>\n";
    return h;
  }();
  return html;
}

}  // namespace berth::api
