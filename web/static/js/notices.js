// What the page tells the coach beside the call: notices (non-blocking, dismissable, at most four) and the
// screen-reader announcer (one polite message per burst).

import { $, h, icon } from './dom.js';

const NOTICE_MS = 9000;

/** A notice that does not block the call: the same news shows once, four at most, each gone after `timeout`. */
export function notify(kind, title, message, { timeout = NOTICE_MS } = {}) {
  const box = $('notices');
  const key = `${kind}|${title}|${message}`;
  for (const old of [...box.children]) if (old.dataset.key === key) old.remove(); // the same news once
  while (box.children.length >= 4) box.firstElementChild.remove();
  const close = h('button', { class: 'icon-btn notice-close', type: 'button', 'aria-label': 'Dismiss' }, icon('close'));
  const notice = h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-key': key },
    icon('warn', 'notice-icon'),
    h('div', { class: 'notice-body' }, h('strong', { text: title }), message ? h('p', { text: message }) : null),
    close);
  close.addEventListener('click', () => notice.remove());
  box.append(notice);
  if (timeout) setTimeout(() => notice.remove(), timeout);
}

let announceTimer = null;
let announceQueue = [];
/** Tell screen readers, politely. */
export function announce(text) {
  announceQueue.push(text);
  clearTimeout(announceTimer);
  // One polite message per burst (a seek forward may reveal several alerts at once).
  announceTimer = setTimeout(() => {
    const node = $('announcer');
    node.textContent = '';
    const texts = announceQueue;
    announceQueue = [];
    const message = texts.length > 3 ? `${texts.length} new alerts. ${texts.slice(-1)[0]}` : texts.join(' ');
    requestAnimationFrame(() => { node.textContent = message; });
  }, 60);
}
