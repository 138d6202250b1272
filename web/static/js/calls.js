// The call list in the sidebar: live calls first, each with its status and alert counts, a live call's
// elapsed time ticking. Choosing a call is main.js's to wire (open-call.js opens it). Above it, the links
// to the agents' coaching pages (an agent: their own), and a notice for each commitment whose behaviour
// has held or slipped. A recording being analysed shows how far (its `analysed_s`); leads and admins get the
// upload box above the list (upload.js).

import { $, h, icon, setText } from './dom.js';
import { clock, displayTitle, formatDate, SOURCE_LABELS } from './format.js';
import { notify } from './notices.js';
import { state } from './state.js';
import { setupUpload } from './upload.js';

let onSelect = () => {};

/** `select(callId)` runs when the coach picks a call; live calls' elapsed times tick from now on. */
export function setupCallList({ select }) {
  onSelect = select;
  setInterval(tickLiveList, 250); // in step with the player's clock (whole seconds, but not a second late)
  showCoaching();
  setupUpload();
}

/** Links to the coaching pages of the agents this user coaches, and the follow-up news about them. */
async function showCoaching() {
  const get = async (path) => {
    const resp = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
    return resp.ok ? resp.json() : null;
  };
  try {
    const [me, agents, followUps] = await Promise.all([get('/api/me'), get('/api/agents'), get('/api/follow-ups')]);
    const agent = me?.role === 'agent';
    renderAgentLinks(agents ? agents.agents : [], agent, agent || !me ? [] : me.teams);
    for (const n of followUps && !agent ? followUps.notices : []) {
      notify(n.status === 'held' ? 'info' : 'error', n.status === 'held' ? 'A commitment held' : 'A commitment slipped', n.message, { timeout: 0 });
    }
  } catch {
    // no links this time: the call list works without them
  }
}

function renderAgentLinks(agents, mine, teams) {
  if (!agents.length && !teams.length) return;
  const link = (a) => h('a', { class: 'agent-link', href: `/agent/${encodeURIComponent(a.user)}`, 'data-agent': a.user, text: mine ? 'My coaching' : a.name });
  // A coach's or lead's teams' pages (trends, the kudos wall) come first; an agent has none.
  const teamLink = (t) => h('a', { class: 'team-link', href: `/team/${encodeURIComponent(t)}`, 'data-team': t, text: `Team ${t}` });
  const nav = h('nav', { class: 'agent-links', id: 'agent-links', 'aria-label': 'Coaching pages' },
    h('div', { class: 'sidebar-head' }, h('h2', { text: mine ? 'Coaching' : 'Agents' })),
    h('ul', {}, ...teams.map((t) => h('li', {}, teamLink(t))), ...agents.map((a) => h('li', {}, link(a)))));
  $('agent-links')?.remove();
  const head = $('calls-heading').parentElement; // above the calls' heading (the upload box is below it)
  head.parentElement.insertBefore(nav, head);
}

/** The server's list arrived: keep it, tell the coach once about each call that failed, redraw. */
export function updateCalls(calls) {
  const previous = state.calls;
  state.calls = new Map(calls.map((info) => [info.call_id, info]));
  for (const info of calls) {
    const before = previous.get(info.call_id);
    if (info.status === 'error' && !state.errorsNoticed.has(info.call_id) && (!before || before.status !== 'error')) {
      state.errorsNoticed.add(info.call_id);
      notify('error', `${displayTitle(info)} could not be analysed`, info.error || 'No reason was given.');
    }
  }
  renderCallList();
}

/** Live calls first (in the server's order), then the rest; each item keeps its element. */
export function renderCallList() {
  const list = $('call-list');
  // Live calls first (in the server's order), then the rest.
  const calls = [...state.calls.values()].sort((a, b) => Number(b.live) - Number(a.live));
  setText($('call-count'), calls.length ? String(calls.length) : '');
  $('list-empty').hidden = calls.length > 0;
  const uploads = document.body.dataset.upload === 'on';
  const where = uploads ? 'Upload recordings above, or put them' : 'Put recordings';
  if (!calls.length) setText($('list-empty'), `No calls yet. ${where} in the server's folder.`);
  const keep = new Set(calls.map((c) => c.call_id));
  for (const item of [...list.children]) if (!keep.has(item.dataset.callId)) item.remove();
  calls.forEach((info, index) => {
    let item = list.querySelector(`:scope > li[data-call-id="${CSS.escape(info.call_id)}"]`);
    if (!item) {
      item = h('li', { class: 'call-item', 'data-call-id': info.call_id },
        h('button', { class: 'call-btn', type: 'button', onclick: () => onSelect(info.call_id) }));
    }
    if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
    fillCallItem(item, info);
  });
}

/** A live call's alert counts: the server's until it ends, or what this page has received of it. */
function liveCounts(info) {
  const data = state.data.get(info.call_id);
  if (!info.live || !data || !data.events.length) return { coach: info.coach_alerts, praise: info.praise_alerts };
  const latest = new Map();
  for (const event of data.events) if (event.type === 'alert') latest.set(event.id, event.polarity);
  const polarities = [...latest.values()];
  return {
    coach: Math.max(info.coach_alerts, polarities.filter((p) => p === 'coach').length),
    praise: Math.max(info.praise_alerts, polarities.filter((p) => p === 'praise').length),
  };
}

/** How long a live call has been going: its audio, when the page hears it, else the wall clock. */
function liveElapsedS(info) {
  const data = state.data.get(info.call_id);
  if (data && data.live && data.audioEdgeS > 0 && state.currentId === info.call_id) return data.liveNowS;
  const started = Date.parse(info.started_at);
  return Number.isNaN(started) ? 0 : Math.max(0, (Date.now() - started) / 1000);
}

/** Only the elapsed times move between list updates. */
function tickLiveList() {
  for (const item of document.querySelectorAll('#call-list > li[data-live="true"]')) {
    const info = state.calls.get(item.dataset.callId);
    const elapsed = item.querySelector('.live-elapsed');
    if (info && elapsed) setText(elapsed, clock(liveElapsedS(info)));
  }
}

/** An item's content, rebuilt only when its call or its counts changed. */
function fillCallItem(item, info) {
  const counts = liveCounts(info);
  const sig = JSON.stringify(info) + (state.currentId === info.call_id) + counts.coach + counts.praise;
  if (item.dataset.sig === sig) return;
  item.dataset.sig = sig;
  Object.assign(item.dataset, {
    status: info.status,
    coach: String(counts.coach),
    praise: String(counts.praise),
    live: String(info.live),
  });
  const button = item.firstElementChild;
  const active = state.currentId === info.call_id;
  item.classList.toggle('active', active);
  if (active) button.setAttribute('aria-current', 'true');
  else button.removeAttribute('aria-current');

  const via = SOURCE_LABELS[info.source] || (info.source !== 'file' ? info.source : null);
  const meta = [
    info.duration_s != null ? clock(info.duration_s) : null,
    info.live && via ? `via ${via}` : null,
    formatDate(info.started_at),
  ].filter(Boolean).join(' · ');
  button.replaceChildren(...[
    h('div', { class: 'call-top' },
      h('span', { class: 'call-title', text: displayTitle(info) }),
      info.live ? h('span', { class: 'live-badge', title: 'Live: open it to listen in' },
        h('span', { class: 'live-dot' }), 'Live',
        h('span', { class: 'live-elapsed', text: clock(liveElapsedS(info)) })) : null),
    h('div', { class: 'call-meta muted', text: meta || (info.status === 'analysing' ? 'Reading the recording…' : '') }),
    callBadges(info, counts),
    info.status === 'error' ? h('p', { class: 'call-error', text: info.error || 'The call could not be analysed.' }) : null,
    info.status === 'dropped' ? h('p', { class: 'call-cut', text: info.error || 'The server stopped during this call.' }) : null,
  ].filter(Boolean));
}

/** How far the analysis of a recording is, in whole percent, or null before it starts. */
function analysedPct(info) {
  if (typeof info.analysed_s !== 'number' || !info.duration_s) return null;
  return Math.min(99, Math.floor((100 * info.analysed_s) / info.duration_s));
}

/** Analysing, failed, or how many moments to coach and to praise (and, for a call the server stopped in
 * the middle of, that it is cut off: what was heard up to there is all kept). */
function callBadges(info, counts) {
  const badges = h('div', { class: 'call-badges' });
  if (info.status === 'analysing') {
    const pct = analysedPct(info);
    badges.append(h('span', { class: 'status analysing', 'data-progress': pct ?? '' },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }), pct === null ? 'Analysing…' : `Analysing ${pct} %`));
  } else if (info.status === 'error') {
    badges.append(h('span', { class: 'status error' }, icon('warn', 'icon'), 'Error'));
  } else {
    const n = (count, one, many) => `${count} ${count === 1 ? one : many}`;
    badges.append(
      h('span', {
        class: `badge coach${counts.coach ? '' : ' zero'}`,
        title: `${n(counts.coach, 'moment', 'moments')} to coach${info.live ? ' so far' : ''}`,
      }, icon('bulb'), h('span', { class: 'badge-n', text: counts.coach }), ' coach'),
      h('span', {
        class: `badge praise${counts.praise ? '' : ' zero'}`,
        title: `${n(counts.praise, 'moment', 'moments')} to praise${info.live ? ' so far' : ''}`,
      }, icon('star'), h('span', { class: 'badge-n', text: counts.praise }), ' praise'),
    );
    if (info.status === 'dropped') {
      badges.append(h('span', { class: 'status dropped', title: 'The call was cut off: the rest was never heard' },
        icon('warn', 'icon'), 'Cut off'));
    }
  }
  return badges;
}
