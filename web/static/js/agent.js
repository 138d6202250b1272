// The agent's coaching page (/agent/{username}), for the agent and for their coaches. The agent is asked
// for their own view of each call shared with them before they may open the coach's sheet, and accepts
// the commitments made with them; a coach shares calls, reads the agent's view and records commitments; a
// lead also makes calls an agent's. Each accepted commitment shows how its kind of moment went on the
// agent's later calls, as a small bar chart. Everything comes from /api/agents/{username}; the server
// decides who may see and do what (a refusal is shown with its message). The page is asked again now and
// then and when it comes back into view (a call that ended since moves the charts), unless someone is
// typing into it.

import { api } from './api.js';
import { h, setText } from './dom.js';
import { clock, displayTitle, formatDate } from './format.js';
import { trendsSection } from './trends.js';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const username = decodeURIComponent(location.pathname.replace(/^\/agent\//, '').replace(/\/$/, ''));
let page = null;

async function load() {
  try {
    page = await api('GET', `/api/agents/${encodeURIComponent(username)}`);
  } catch (err) {
    const problem = $('problem');
    problem.hidden = false;
    setText(problem, err.message);
    $('page').setAttribute('aria-busy', 'false');
    return;
  }
  render();
  $('page').setAttribute('aria-busy', 'false');
  $('page').dataset.loaded = 'true';
}

const isAgent = () => page.viewer.role === 'agent';
const isLead = () => page.viewer.role === 'lead' || page.viewer.role === 'admin';
const kindLabel = (kind) => page.kinds.find((k) => k.kind === kind)?.label || kind;
const today = () => new Date().toISOString().slice(0, 10);

function render() {
  const agent = page.agent;
  document.title = `${agent.name} · coaching · callcoach`;
  setText($('agent-name'), isAgent() ? 'My coaching' : `Coaching ${agent.name}`);
  const who = agent.name === agent.user ? agent.user : `${agent.name} (${agent.user})`;
  setText($('agent-meta'), `${isAgent() ? '' : 'Agent '}${who} · team ${agent.teams.join(', ')}`);
  renderNotices();
  renderTrends();
  renderCalls();
  renderCommitments();
  if (isLead()) setupAssign();
  if (isAgent()) renderWall();
}

/** Moments per kind per week and the two findings; for coaches, links to the agent's teams' pages. */
function renderTrends() {
  if (!page.trends) return;
  $('trends-block').hidden = false;
  const whose = isAgent() ? 'Your' : `${page.agent.name}'s`;
  $('agent-trends').replaceChildren(trendsSection(page.trends, whose));
  $('team-links').replaceChildren(...(isAgent() ? [] : page.agent.teams.map((t) =>
    h('a', { class: 'btn quiet', href: `/team/${encodeURIComponent(t)}`, 'data-testid': 'team-link', text: `Team ${t}` }))));
}

/** An agent sees their team's kudos wall: praise only, as the team meeting does. */
async function renderWall() {
  const walls = await Promise.all(page.agent.teams.map((t) =>
    api('GET', `/api/teams/${encodeURIComponent(t)}/kudos`).catch(() => ({ kudos: [] }))));
  const kudos = walls.flatMap((w) => w.kudos);
  $('wall-block').hidden = kudos.length === 0;
  $('wall').replaceChildren(...kudos.map((k) => h('li', { class: `kudo${k.featured ? ' featured' : ''}`, 'data-testid': 'kudo' },
    h('div', { class: 'kudo-top' },
      k.featured ? h('span', { class: 'chip featured-chip', text: 'Featured' }) : null,
      h('span', { class: 'chip praise', text: k.label }),
      h('span', { class: 'kudo-agent', text: k.agent === page.agent.user ? 'You' : k.agent_name })),
    k.quote ? h('blockquote', { class: 'kudo-quote', text: `\u201c${k.quote}\u201d` }) : null,
    k.note ? h('p', { class: 'kudo-note', text: `${k.note} \u2014 ${k.by}` }) : null,
    h('span', { class: 'muted small', text: `at ${clock(k.start_s)} · ${formatDate(k.started_at)}` }))));
}

function renderNotices() {
  const box = $('follow-up-notices');
  box.hidden = page.notices.length === 0 || isAgent();
  box.replaceChildren(...page.notices.map((n) =>
    h('p', { class: `notice ${n.status}`, 'data-status': n.status, text: n.message })));
}

function renderCalls() {
  const calls = [...page.calls].reverse(); // newest first
  $('calls-empty').hidden = calls.length > 0;
  $('calls').replaceChildren(...calls.map(callItem));
}

function callItem(call) {
  const assessed = call.self_assessment;
  const item = h('li', {
    class: 'call', 'data-call-id': call.call_id, 'data-shared': String(call.shared),
    'data-assessed': String(Boolean(assessed)),
  });
  const actions = h('div', { class: 'call-actions' });
  item.append(h('div', { class: 'call-top' },
    h('span', { class: 'call-title', text: displayTitle(call) }),
    h('span', { class: 'muted small', text: formatDate(call.started_at) }),
    h('span', { class: `chip coach`, text: `${call.coach_alerts} coach` }),
    h('span', { class: `chip praise`, text: `${call.praise_alerts} praise` }),
    call.shared ? h('span', { class: 'chip', text: 'Shared' }) : null,
    actions));
  if (call.may_see_sheet && (call.shared || !isAgent())) {
    actions.append(h('a', { class: 'btn', href: `/sheet/${encodeURIComponent(call.call_id)}`, 'data-testid': 'open-sheet', text: isAgent() ? "Open your coach's sheet" : 'Open the sheet' }));
  }
  if (isAgent()) {
    if (call.shared && !assessed) item.append(assessForm(call));
    else if (!call.shared) item.append(h('p', { class: 'muted small', text: 'Not shared with you yet.' }));
  } else if (!call.shared) {
    actions.append(h('button', { class: 'btn primary', type: 'button', 'data-testid': 'share', text: `Share with ${page.agent.name}`,
      onclick: (e) => act(e.currentTarget, () => api('POST', `/api/calls/${encodeURIComponent(call.call_id)}/share`)) }));
  }
  if (assessed) item.append(ownView(assessed));
  else if (call.shared && !isAgent()) item.append(h('p', { class: 'muted small', text: `Waiting for ${page.agent.name}'s own view of the call.` }));
  if (call.shared && !isAgent()) item.append(commitForm(call));
  return item;
}

function ownView(assessment) {
  const whose = isAgent() ? 'Your view' : `${page.agent.name}'s view`;
  return h('dl', { class: 'own-view', 'data-testid': 'own-view', 'aria-label': whose },
    h('dt', { text: 'Went well' }), h('dd', { text: assessment.went_well }),
    h('dt', { text: 'Would do differently' }), h('dd', { text: assessment.do_differently }));
}

function assessForm(call) {
  const id = call.call_id;
  const wentWell = h('textarea', { id: `went-well-${id}`, name: 'went_well', 'data-testid': 'went-well', required: true, maxlength: 2000, rows: 2 });
  const differently = h('textarea', { id: `differently-${id}`, name: 'do_differently', 'data-testid': 'do-differently', required: true, maxlength: 2000, rows: 2 });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'assess', 'data-testid': 'self-assessment-form' },
    h('p', { text: 'Before you see your coach\'s notes: how do you think this call went?' }),
    h('label', { for: wentWell.id, text: 'What went well?' }), wentWell,
    h('label', { for: differently.id, text: 'What would you do differently?' }), differently,
    error,
    h('div', { class: 'form-actions' }, h('button', { class: 'btn primary', type: 'submit', text: 'Send my view' })));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit(form, error, () => api('POST', `/api/calls/${encodeURIComponent(id)}/self-assessment`,
      { went_well: wentWell.value, do_differently: differently.value }));
  });
  return form;
}

function commitForm(call) {
  const id = call.call_id;
  // The kinds with a praise twin first: those are the behaviours a commitment is most often about.
  const coachKinds = page.kinds.filter((k) => k.polarity === 'coach')
    .sort((a, b) => Number(Boolean(page.twins[b.kind])) - Number(Boolean(page.twins[a.kind])));
  const behaviour = h('input', { type: 'text', id: `behaviour-${id}`, 'data-testid': 'commit-behaviour', required: true, maxlength: 2000,
    placeholder: 'e.g. acknowledge bad news before business' });
  const kind = h('select', { id: `kind-${id}`, 'data-testid': 'commit-kind' },
    ...coachKinds.map((k) => h('option', { value: k.kind, text: twinText(k.kind) })));
  const due = h('input', { type: 'date', id: `due-${id}`, 'data-testid': 'commit-date', required: true, value: today() });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'commit', 'data-testid': 'commit-form' },
    h('div', { class: 'commit-row' },
      h('div', {}, h('label', { for: behaviour.id, text: 'Commitment' }), behaviour),
      h('div', {}, h('label', { for: kind.id, text: 'Moment it is about' }), kind),
      h('div', {}, h('label', { for: due.id, text: 'From' }), due),
      h('button', { class: 'btn primary', type: 'submit', text: 'Record commitment' })),
    error);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit(form, error, () => api('POST', `/api/calls/${encodeURIComponent(id)}/commitments`,
      { behaviour: behaviour.value, kind: kind.value, due_date: due.value }));
  });
  return form;
}

/** "Cold reply ↔ Empathy": a coach kind with the praise kind of getting it right, when it has one. */
function twinText(kind, twin = page.twins[kind]) {
  return twin ? `${kindLabel(kind)} ↔ ${kindLabel(twin)}` : kindLabel(kind);
}

function renderCommitments() {
  $('commitments-empty').hidden = page.commitments.length > 0;
  $('commitments').replaceChildren(...[...page.commitments].reverse().map(commitmentItem));
}

function commitmentItem(c) {
  const up = c.follow_up;
  const item = h('li', { class: 'commitment', 'data-commitment-id': c.id, 'data-status': up ? up.status : 'proposed' },
    h('div', {},
      h('h3', { text: c.behaviour }),
      h('p', { class: 'kinds muted', text: `${c.twin ? `${c.label} ↔ ${c.twin_label}` : c.label} · from ${c.due_date} · recorded by ${c.coach}` })),
    h('div', { class: 'status' }, statusChip(c)));
  if (!c.accepted_at && isAgent()) {
    item.lastElementChild.append(' ', h('button', { class: 'btn primary accept', type: 'button', 'data-testid': 'accept', text: 'Accept',
      onclick: (e) => act(e.currentTarget, () => api('POST', `/api/commitments/${encodeURIComponent(c.id)}/accept`)) }));
  }
  if (up) item.append(followUp(c, up));
  return item;
}

function statusChip(c) {
  const up = c.follow_up;
  if (!up) return h('span', { class: 'chip', text: isAgent() ? 'Not accepted yet' : `Waiting for ${page.agent.name} to accept` });
  const n = up.calls.length;
  const text = {
    following: `Following: ${n} of ${up.needed} calls`,
    held: `Held on ${up.needed} call${up.needed === 1 ? '' : 's'}`,
    slipped: 'Slipped',
  }[up.status];
  return h('span', { class: `chip ${up.status}`, 'data-testid': 'follow-up-status', text });
}

function followUp(c, up) {
  const box = h('div', { class: 'follow-up' });
  if (!up.calls.length) {
    box.append(h('p', { class: 'muted small', text: `No later calls yet: the next ${up.needed} show whether it holds.` }));
    return box;
  }
  box.append(chart(c, up),
    h('div', { class: 'legend' },
      h('span', {}, h('span', { class: 'swatch coach' }), `${kindLabel(c.kind)} (coach)`),
      up.twin ? h('span', {}, h('span', { class: 'swatch praise' }), `${kindLabel(up.twin)} (praise)`) : null));
  return box;
}

function svg(tag, attrs = {}, text = '') {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text) node.textContent = text;
  return node;
}

/** Coach vs praise moments of the kind on each later call: two bars per call, oldest on the left. */
function chart(c, up) {
  const barW = 14, gap = 4, group = 2 * barW + gap + 26, top = 14, plotH = 80, left = 22;
  const width = Math.max(240, left + up.calls.length * group + 10);
  const max = Math.max(1, ...up.calls.flatMap((k) => [k.coach, k.praise]));
  const y = (n) => top + plotH - (n / max) * plotH;
  const height = top + plotH + 22;
  const root = svg('svg', { class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'data-testid': 'follow-up-chart',
    'data-calls': up.calls.length, 'aria-label': `${kindLabel(c.kind)} on ${up.calls.length} later calls` });
  root.append(svg('line', { class: 'axis', x1: left, y1: top + plotH, x2: width - 4, y2: top + plotH }),
    svg('text', { x: 2, y: top + 4 }, String(max)), svg('text', { x: 2, y: top + plotH }, '0'));
  up.calls.forEach((k, i) => {
    const x = left + 8 + i * group;
    const g = svg('g', { 'data-call-id': k.call_id, 'data-coach': k.coach, 'data-praise': k.praise });
    g.append(svg('title', {}, `${k.title || k.call_id}: ${k.coach} coach, ${k.praise} praise`));
    g.append(svg('rect', { class: 'bar-coach', x, y: y(k.coach), width: barW, height: Math.max(k.coach ? 2 : 1, top + plotH - y(k.coach)) }));
    g.append(svg('rect', { class: 'bar-praise', x: x + barW + gap, y: y(k.praise), width: barW, height: Math.max(k.praise ? 2 : 1, top + plotH - y(k.praise)) }));
    const when = new Date(k.started_at);
    const label = Number.isNaN(when.getTime()) ? k.call_id : when.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
    g.append(svg('text', { x, y: top + plotH + 14 }, label));
    root.append(g);
  });
  return root;
}

async function setupAssign() {
  const form = $('assign');
  let calls = [];
  try {
    calls = (await api('GET', '/api/calls')).calls.filter((c) => c.agent !== page.agent.user && !c.live);
  } catch {
    return;
  }
  form.hidden = calls.length === 0;
  $('assign-call').replaceChildren(...calls.map((c) =>
    h('option', { value: c.call_id, text: `${displayTitle(c)}${c.agent ? ` (now ${c.agent})` : ''}` })));
  form.onsubmit = (event) => {
    event.preventDefault();
    act(form.querySelector('button'), () => api('POST', `/api/calls/${encodeURIComponent($('assign-call').value)}/agent`, { agent: page.agent.user }));
  };
}

/** Do it, then show the page as the server now has it; a refusal is shown with its message. */
async function act(button, request) {
  button.disabled = true;
  try {
    await request();
    await load();
  } catch (err) {
    button.disabled = false;
    const problem = $('problem');
    problem.hidden = false;
    setText(problem, err.message);
  }
}

async function submit(form, error, request) {
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await request();
    await load();
  } catch (err) {
    button.disabled = false;
    error.hidden = false;
    setText(error, err.message);
  }
}

async function whoami() {
  try {
    const me = await api('GET', '/api/me');
    setText($('whoami'), `${me.name} · ${me.role}`);
  } catch {
    // the page's own request says what went wrong
  }
}

$('print').addEventListener('click', () => window.print());
$('logout').addEventListener('click', async () => {
  await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' });
  location.assign('/login');
});
const REFRESH_MS = 30000;

/** Whether a form holds text not sent yet (a refresh would redraw it away). */
function typing() {
  const active = document.activeElement;
  if (active && active.closest('form')) return true;
  return [...document.querySelectorAll('form textarea, form input[type="text"]')].some((f) => f.value.trim());
}

function refresh() {
  if (page && document.visibilityState === 'visible' && !typing()) load();
}

document.addEventListener('visibilitychange', refresh);
setInterval(refresh, REFRESH_MS);
whoami();
load();
