// Pins: a lead marks alerts and notes as moments to cover with the agent. Every card shows a pin badge once
// pinned (for everyone); leads and admins get a toggle on each card; "To cover with the agent" lists the
// pinned moments in call order, each with its time. A pin comes back through the call's events like a note.

import { $, h, icon, setText } from './dom.js';
import { clock, POLARITY } from './format.js';
import { announce } from './notices.js';
import { state, canLead } from './state.js';
import { link } from './socket.js';
import { seek, replayMoment } from './player.js';
import { NOTE_TAGS, noteSummary } from './notes.js';

/** A card's pin: a badge once pinned, for everyone; for leads, a toggle that is the badge when pressed. */
export function decoratePin(card, targetId, pinned) {
  card.classList.toggle('pinned', pinned);
  const head = card.querySelector('.card-head');
  if (!head) return;
  const time = head.querySelector('.time-btn');
  const lead = canLead();
  let badge = head.querySelector('.pin-badge');
  if (pinned && !lead && !badge) {
    badge = h('span', { class: 'pin-badge', title: 'Pinned: to cover with the agent' },
      icon('pin'), h('span', { class: 'sr-only', text: 'Pinned' }));
    head.insertBefore(badge, time);
  } else if ((!pinned || lead) && badge) {
    badge.remove();
  }
  let toggle = head.querySelector('.pin-toggle');
  if (!lead) {
    if (toggle) toggle.remove();
    return;
  }
  if (!toggle) {
    toggle = h('button', { class: 'pin-toggle', type: 'button', 'data-target-id': targetId }, icon('pin'));
    toggle.addEventListener('click', () => setPin(targetId, toggle.getAttribute('aria-pressed') !== 'true'));
  }
  if (toggle.nextElementSibling !== time) head.insertBefore(toggle, time);
  const pressed = pinned ? 'true' : 'false';
  if (toggle.getAttribute('aria-pressed') !== pressed) {
    toggle.setAttribute('aria-pressed', pressed);
    toggle.setAttribute('aria-label', pinned ? 'Pinned to cover with the agent: unpin' : 'Pin to cover with the agent');
    toggle.title = pinned ? 'Pinned: click to unpin' : 'Pin to cover with the agent';
  }
}

/** Ask the server to pin or unpin; the pin shows when it comes back in the call's events. */
export function setPin(targetId, pinned) {
  if (!state.currentId) return;
  link.send({ type: 'set_pin', call_id: state.currentId, target_id: targetId, pinned });
  announce(pinned ? 'Pinned to cover with the agent.' : 'Unpinned.');
}

/** "To cover with the agent": the pinned alerts and notes that exist at the instant, in call order. */
export function renderPinned(st) {
  const box = $('pinned');
  const list = $('pinned-list');
  const items = [];
  for (const alert of st.alerts) {
    if (st.pinned.has(alert.id)) items.push({ id: alert.id, at: alert.start_s, alert });
  }
  for (const note of st.notes) {
    if (st.pinned.has(note.id)) items.push({ id: note.id, at: note.at_s, note });
  }
  items.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  box.hidden = items.length === 0;
  const sig = JSON.stringify(items.map((i) => [i.id, i.at, i.alert ? i.alert.title : i.note.text, i.alert ? i.alert.revision : 0]));
  if (list.dataset.sig === sig) return;
  list.dataset.sig = sig;
  setText($('pinned-count'), String(items.length));
  list.replaceChildren(...items.map((item) => pinnedItem(item)));
}

function pinnedItem(item) {
  const { alert, note } = item;
  const kind = alert ? alert.polarity : note.tag;
  const tone = alert ? (POLARITY[alert.polarity] || POLARITY.coach) : (NOTE_TAGS[note.tag] || NOTE_TAGS.coach);
  const text = alert ? alert.title : noteSummary(note);
  return h('li', {
    class: `pinned-item ${kind}${note ? ' is-note' : ''}`, 'data-target-id': item.id,
  },
  h('button', {
    class: 'time-btn', type: 'button', 'aria-label': `Play from ${clock(item.at)}`, title: 'Play this moment',
    onclick: () => (alert ? replayMoment(alert, { play: true }) : seek(note.at_s, { play: true })),
  }, icon('play'), clock(item.at)),
  h('span', { class: 'pinned-icon', title: alert ? `${tone.label} alert` : tone.label }, icon(note ? 'note' : tone.icon)),
  h('span', { class: 'pinned-text', text }));
}
