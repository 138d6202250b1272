// A team's page (/team/{team}), for its coaches, leads and admins: the kudos wall of the week's best
// praised moments (each playable from its moment; a lead features one, shown first), the team's trends
// with the recurring opportunity and the steady strength named, and each agent's findings with a link to
// their page. Everything comes from /api/teams/{team}; the server decides who may see and do what (a
// refusal is shown with its message). "Print the wall" prints the wall alone, for the newsletter.

import { api } from './api.js';
import { h, icon, setText } from './dom.js';
import { clock, formatDate } from './format.js';
import { trendsSection } from './trends.js';

const $ = (id) => document.getElementById(id);
const team = decodeURIComponent(location.pathname.replace(/^\/team\//, '').replace(/\/$/, ''));
const player = { button: null }; // the play button whose moment is playing
let page = null;

function problem(message) {
  const box = $('problem');
  box.hidden = false;
  setText(box, message);
}

async function load() {
  try {
    page = await api('GET', `/api/teams/${encodeURIComponent(team)}`);
  } catch (err) {
    problem(err.message);
    $('page').setAttribute('aria-busy', 'false');
    return;
  }
  render();
  $('page').setAttribute('aria-busy', 'false');
  $('page').dataset.loaded = 'true';
}

function render() {
  document.title = `Team ${page.team} · callcoach`;
  setText($('team-name'), `Team ${page.team}`);
  const n = page.agents.length;
  setText($('team-meta'), `${n} agent${n === 1 ? '' : 's'} · ${page.trends.calls} call${page.trends.calls === 1 ? '' : 's'} in the last ${page.trends.weeks.length} weeks`);
  setText($('wall-when'), `The last seven days, to ${new Date().toLocaleDateString(undefined, { day: 'numeric', month: 'long', year: 'numeric' })}`);
  csvLink();
  renderWall();
  $('team-trends').replaceChildren(trendsSection(page.trends, "The team's"));
  renderAgents();
}

/** For the team's lead (and admins): every moment of the team's calls as one CSV, for its spreadsheet. */
function csvLink() {
  if (!page.viewer.may_feature || $('moments-csv')) return;
  $('team-meta').after(h('p', { class: 'small' }, h('a', { id: 'moments-csv', 'data-testid': 'moments-csv', download: true,
    href: `/api/teams/${encodeURIComponent(team)}/moments.csv`, text: "Download every moment of the team's calls (CSV)" })));
}

function renderWall() {
  $('wall-empty').hidden = page.kudos.length > 0;
  $('wall').replaceChildren(...page.kudos.map(kudo));
}

function kudo(k) {
  const item = h('li', { class: `kudo${k.featured ? ' featured' : ''}`, 'data-call-id': k.call_id, 'data-moment-id': k.moment_id,
    'data-featured': String(k.featured), 'data-testid': 'kudo' });
  item.append(h('div', { class: 'kudo-top' },
    k.featured ? h('span', { class: 'chip featured-chip', 'data-testid': 'featured-mark' }, icon('star'), 'Featured') : null,
    h('span', { class: 'chip praise', text: k.label }),
    h('span', { class: 'kudo-agent', text: k.agent_name || k.agent || 'Unassigned call' })));
  if (k.quote) item.append(h('blockquote', { class: 'kudo-quote', text: `\u201c${k.quote}\u201d` }));
  if (k.note) item.append(h('p', { class: 'kudo-note', text: `${k.note} \u2014 ${k.by}` }));
  item.append(h('p', { class: 'kudo-meta muted small', text: `${k.title || k.call_id} · ${formatDate(k.started_at)}` }));
  const actions = h('div', { class: 'kudo-actions' },
    k.playable ? playButton(k) : h('span', { class: 'muted small', text: clock(k.start_s) }));
  if (page.viewer.may_feature && !k.featured) {
    actions.append(h('button', { class: 'btn feature', type: 'button', 'data-testid': 'feature', text: 'Feature',
      onclick: (e) => feature(e.currentTarget, k) }));
  }
  item.append(actions);
  return item;
}

async function feature(button, k) {
  button.disabled = true;
  try {
    await api('POST', `/api/teams/${encodeURIComponent(team)}/featured`, { call_id: k.call_id, moment_id: k.moment_id });
    await load();
  } catch (err) {
    button.disabled = false;
    problem(err.message);
  }
}

/** A moment's play button: its call's recording from that moment; pressed again, it pauses. */
function playButton(k) {
  return h('button', { class: 'btn time-btn play-from', type: 'button', 'data-seek-s': k.start_s, 'aria-pressed': 'false',
    'data-testid': 'play', 'aria-label': `Play ${k.agent_name}'s moment from ${clock(k.start_s)}`,
    onclick: (e) => playFrom(e.currentTarget, k) }, icon('play'), clock(k.start_s));
}

async function playFrom(button, k) {
  const audio = $('audio');
  if (player.button === button && !audio.paused) {
    audio.pause();
    return;
  }
  const src = `/recordings/${encodeURIComponent(k.call_id)}`;
  if (audio.getAttribute('src') !== src) {
    audio.pause();
    audio.setAttribute('src', src);
    audio.dataset.callId = k.call_id;
  }
  try {
    if (audio.readyState < 1) {
      audio.load();
      await new Promise((resolve, reject) => {
        audio.addEventListener('loadedmetadata', resolve, { once: true });
        audio.addEventListener('error', reject, { once: true });
      });
    }
    audio.currentTime = k.start_s;
    pressed(button); // before play() settles: the audio is already playing when it does
    await audio.play();
  } catch {
    pressed(null);
    const note = $('audio-note');
    note.hidden = false;
    setText(note, 'That recording cannot be played (none was kept, or it is not available to you).');
  }
}

function pressed(button) {
  if (player.button) player.button.setAttribute('aria-pressed', 'false');
  player.button = button;
  if (button) button.setAttribute('aria-pressed', 'true');
}

function renderAgents() {
  $('agents-empty').hidden = page.agents.length > 0;
  $('agents').replaceChildren(...page.agents.map((a) => h('li', { class: 'agent-row', 'data-agent': a.user },
    h('a', { class: 'agent-link', href: `/agent/${encodeURIComponent(a.user)}`, 'data-testid': 'agent-link', text: a.name }),
    h('span', { class: 'muted small', text: `${a.calls} call${a.calls === 1 ? '' : 's'}` }),
    h('span', { class: `finding recurring small${a.recurring.kind ? '' : ' none'}`, text: a.recurring.kind ? a.recurring.said : 'No recurring opportunity' }),
    h('span', { class: `finding steady small${a.steady.kind ? '' : ' none'}`, text: a.steady.kind ? a.steady.said : 'No steady strength yet' }))));
}

async function whoami() {
  try {
    const me = await api('GET', '/api/me');
    setText($('whoami'), `${me.name} · ${me.role}`);
  } catch {
    // the page's own request says what went wrong
  }
}

$('audio').addEventListener('pause', () => pressed(null));
$('audio').addEventListener('ended', () => pressed(null));
$('print').addEventListener('click', () => window.print());
$('logout').addEventListener('click', async () => {
  await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' });
  location.assign('/login');
});
whoami();
load();
