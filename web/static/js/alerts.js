// The cards of the Moments pane: one card per alert, updated in place as revisions arrive, and one per
// coach's note (notes.js fills those), newest first, each announced once to screen readers; pin badges and
// toggles on both (pins.js); and the coach/praise counts above them.

import { $, h, icon, setText } from './dom.js';
import { clock, secs, kindIcon, kindLabel, POLARITY } from './format.js';
import { announce } from './notices.js';
import { view } from './state.js';
import { replayMoment } from './player.js';
import { fillNoteCard, NOTE_TAGS, quoteFigure } from './notes.js';
import { decoratePin } from './pins.js';

/** The cards of the alerts and notes that exist at the instant, newest first; each keeps its element. */
export function renderCards(st, t) {
  const box = $('cards');
  const items = [
    ...st.alerts.map((alert) => ({ key: `alert:${alert.id}`, id: alert.id, at: alert.start_s, alert })),
    ...(st.notes || []).map((note) => ({ key: `note:${note.id}`, id: note.id, at: note.at_s, note })),
  ].sort((a, b) => b.at - a.at || (a.key < b.key ? 1 : -1));
  const keep = new Set(items.map((item) => item.key));
  for (const card of [...box.children]) if (!keep.has(card.dataset.key)) card.remove();
  const existing = new Map([...box.children].map((card) => [card.dataset.key, card]));
  const fresh = [];
  items.forEach((item, index) => {
    let card = existing.get(item.key);
    if (!card) {
      card = item.alert ? alertCard(item.alert, t) : noteCard(item.note, t);
      card.dataset.key = item.key;
      fresh.push(item);
    }
    if (item.alert) fillCard(card, item.alert, t);
    else fillNoteCard(card, item.note);
    decoratePin(card, item.id, Boolean(st.pinned && st.pinned.has(item.id)));
    if (box.children[index] !== card) box.insertBefore(card, box.children[index] || null);
  });
  greetFresh(box, fresh);
  if (fresh.length && box.scrollHeight > box.clientHeight) box.scrollTop = 0;
  renderCounts(st.alerts, st.notes || [], st.ended);
}

function alertCard(alert, t) {
  return h('article', {
    class: `card ${alert.polarity}`,
    'data-alert-id': alert.id,
    'data-kind': alert.kind,
    'data-polarity': alert.polarity,
    'data-detected-s': alert.detected_s,
    'data-shown-at-s': (Number.isFinite(t) ? t : 0).toFixed(3),
  });
}

/** A note's card: styled by its tag like an alert's polarity, but a person's note (notes.js fills it). */
function noteCard(note, t) {
  return h('article', {
    class: `note-card ${note.tag === 'praise' ? 'praise' : 'coach'}`,
    'data-note-id': note.id,
    'data-tag': note.tag,
    'data-author': note.author,
    'data-at-s': note.at_s,
    'data-shown-at-s': (Number.isFinite(t) ? t : 0).toFixed(3),
  });
}

/** A card seen for the first time glows a moment and is announced (once, even if it leaves and returns). */
function greetFresh(box, fresh) {
  for (const item of fresh) {
    const card = box.querySelector(`[data-key="${CSS.escape(item.key)}"]`);
    if (card && !view.announced.has(item.key)) {
      card.classList.add('fresh');
      setTimeout(() => card.classList.remove('fresh'), 2400);
    }
    if (view.announced.has(item.key)) continue;
    view.announced.add(item.key);
    if (item.alert) {
      const alert = item.alert;
      announce(`${POLARITY[alert.polarity]?.label || 'Coach'} alert at ${clock(alert.detected_s)}: ${alert.title}.`);
    } else {
      const note = item.note;
      const tag = NOTE_TAGS[note.tag] || NOTE_TAGS.coach;
      announce(`${tag.label} from ${note.author_name || note.author} at ${clock(note.at_s)}: ${note.text}`);
    }
  }
}

/** The counts above the cards, and what the pane says while it has none. */
function renderCounts(alerts, notes, ended) {
  const coach = alerts.filter((a) => a.polarity === 'coach').length;
  const praise = alerts.filter((a) => a.polarity === 'praise').length;
  const counts = $('moment-counts');
  counts.replaceChildren(...[
    h('span', { class: 'count coach' }, icon('bulb'), `${coach} to coach`),
    h('span', { class: 'count praise' }, icon('star'), `${praise} to praise`),
    notes.length ? h('span', { class: 'count notes' }, icon('note'), `${notes.length} ${notes.length === 1 ? 'note' : 'notes'}`) : null,
  ].filter(Boolean));
  const empty = $('cards-empty');
  empty.hidden = alerts.length + notes.length > 0;
  setText(empty, ended ? 'Nothing to flag in this call: no long silences, no news left unacknowledged.'
    : 'Nothing yet. Moments appear here as the call plays.');
}

/** A card's content for the alert's latest revision: rebuilt only when the revision changes. */
function fillCard(card, alert, t) {
  const sig = `${alert.revision}`;
  if (card.dataset.revision === sig) {
    updateOngoing(card, t);
    return;
  }
  if (card.dataset.revision !== undefined) {
    // A newer revision replaced the one shown: when (in audio time) it was applied, and when it existed.
    card.dataset.updatedAtS = (Number.isFinite(t) ? t : 0).toFixed(3);
    card.dataset.updatedDetectedS = String(alert.detected_s);
  }
  card.dataset.revision = sig;
  card.dataset.startS = String(alert.start_s);
  card.dataset.endS = alert.end_s == null ? '' : String(alert.end_s);
  const pol = POLARITY[alert.polarity] || POLARITY.coach;
  const ongoing = alert.end_s == null;
  card.classList.toggle('ongoing', ongoing);
  card.setAttribute('aria-label', `${pol.label}: ${alert.title}`);
  const quotes = quoteNodes(alert, ongoing);
  card.replaceChildren(...[
    h('header', { class: 'card-head' },
      h('span', { class: 'pill' }, icon(kindIcon(alert.kind, alert.polarity)), pol.label),
      h('span', { class: 'kind', text: kindLabel(alert.kind) }),
      h('button', {
        class: 'time-btn', type: 'button', 'data-seek-s': alert.start_s,
        'aria-label': `Play from ${clock(alert.start_s)}`, title: 'Play this moment',
        onclick: () => replayMoment(alert, { play: true }),
      }, icon('play'), clock(alert.start_s))),
    h('h3', { class: 'card-title', text: alert.title }),
    h('div', { class: 'card-status' },
      ongoing ? h('span', { class: 'live-dot' }) : null,
      h('span', { class: 'status-text' })),
    quotes.length ? h('div', { class: 'quotes' }, quotes) : null,
    alert.suggestion ? h('section', { class: 'advice' }, h('h4', { text: pol.advice }), h('p', { text: alert.suggestion })) : null,
    alert.why ? h('section', { class: 'why' }, h('h4', { text: 'Why it matters' }), h('p', { text: alert.why })) : null,
  ].filter(Boolean));
  card._alert = alert;
  updateOngoing(card, t);
}

/** What was said (each quote plays from its start), the pause between the speakers, "no reply yet". */
function quoteNodes(alert, ongoing) {
  const quotes = alert.quotes && alert.quotes.length
    ? alert.quotes
    : alert.quote ? [{ speaker: alert.speaker || 'mixed', text: alert.quote, start_s: alert.start_s, end_s: alert.end_s }] : [];
  const nodes = [];
  quotes.forEach((quote, i) => {
    if (i > 0 && alert.pause_s != null && quotes[i - 1].speaker !== quote.speaker) {
      nodes.push(h('div', { class: 'pause-note' }, h('span', { text: `${secs(alert.pause_s)} pause` })));
    }
    nodes.push(quoteFigure(quote));
  });
  if (ongoing && alert.kind === 'silence') {
    nodes.push(h('div', { class: 'pause-note live' }, h('span', {}, 'no reply yet')));
  }
  return nodes;
}

/** A card's status line: how long an ongoing moment has lasted so far, or its span once it ended. */
export function updateOngoing(card, t) {
  const alert = card._alert;
  if (!alert) return;
  const status = card.querySelector('.status-text');
  if (!status) return;
  let text;
  if (alert.end_s == null) {
    text = `Ongoing · ${secs(Math.max(0, t - alert.start_s))} so far`;
  } else {
    const duration = alert.duration_s ?? alert.end_s - alert.start_s;
    text = `${clock(alert.start_s)}–${clock(alert.end_s)} · ${secs(duration)}`;
  }
  setText(status, text);
}
