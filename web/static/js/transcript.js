// The transcript pane: one line per utterance (a partial one shows as "hearing…" until its final text),
// flagged silences between them, and the words lit as the audio says them.

import { $, h, setText } from './dom.js';
import { clock, secs, SPEAKER_LABELS } from './format.js';
import { view } from './state.js';
import { seek, replayMoment } from './player.js';

const RECENT_WORD_S = 0.9; // a word stays highlighted this long after it was said

/** The pane at the instant: each line keeps its element; it follows the newest line if scrolled to the end. */
export function renderTranscript(st, t) {
  const box = $('transcript');
  const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 48;
  const items = transcriptItems(st);
  const keep = new Set(items.map((i) => i.key));
  for (const node of [...box.children]) if (!keep.has(node.dataset.key)) node.remove();
  const existing = new Map([...box.children].map((node) => [node.dataset.key, node]));
  let added = false;
  items.forEach((item, index) => {
    let node = existing.get(item.key);
    if (!node) {
      node = item.line ? h('div', { class: 'line', 'data-key': item.key }) : h('div', { class: 'gap-line', 'data-key': item.key });
      added = true;
    }
    if (item.line) fillLine(node, item.line);
    else fillGapLine(node, item.alert, t);
    if (box.children[index] !== node) box.insertBefore(node, box.children[index] || null);
  });
  view.words = [];
  for (const node of box.children) if (node._words) view.words.push(...node._words);
  view.lit = new Set([...view.lit].filter((w) => w.el.isConnected));
  $('transcript-empty').hidden = items.length > 0;
  if (added && stick) box.scrollTop = box.scrollHeight;
}

/** The lines and the flagged silences, in call order, each with a key that stays the same as it grows. */
function transcriptItems(st) {
  const items = [];
  for (const line of st.lines) {
    items.push({ key: `${line.speaker}@${line.start_s}`, at: line.start_s, line });
  }
  for (const alert of st.alerts) {
    if (alert.kind === 'silence') items.push({ key: `gap:${alert.id}`, at: alert.start_s, alert });
  }
  items.sort((a, b) => a.at - b.at);
  return items;
}

/** One utterance, its words as spans (unsure ones marked) so that they can be lit as they are said. */
function fillLine(node, line) {
  const sig = `${line.seq}`;
  if (node.dataset.sig === sig) return;
  node.dataset.sig = sig;
  node.className = `line ${line.speaker}${line.final ? '' : ' pending'}`;
  node.dataset.speaker = line.speaker;
  node.dataset.final = String(line.final);
  const words = line.words && line.words.length ? line.words : null;
  const text = h('p', { class: 'bubble' });
  node._words = [];
  if (words) {
    words.forEach((word, i) => {
      const span = h('span', { class: 'w', text: word.text });
      if (word.confidence < 0.6) {
        span.classList.add('unsure');
        span.title = `Heard with low confidence (${Math.round(word.confidence * 100)} %)`;
      }
      node._words.push({ el: span, start: word.start_s, end: word.end_s });
      text.append(i ? ' ' : '', span);
    });
  } else {
    text.textContent = line.text;
  }
  if (!line.final) text.append(h('span', { class: 'typing', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')));
  const seekTo = words ? words[0].start_s : line.start_s;
  node.replaceChildren(
    h('div', { class: 'line-head' },
      h('span', { class: 'who', text: SPEAKER_LABELS[line.speaker] || line.speaker }),
      h('button', {
        class: 'ts', type: 'button', 'aria-label': `Play from ${clock(seekTo)}`,
        onclick: () => seek(seekTo, { play: true }),
      }, clock(seekTo)),
      line.final ? null : h('span', { class: 'pending-tag', text: 'hearing…' })),
    text,
  );
}

/** A flagged silence between the lines: a pill that plays from its start. */
function fillGapLine(node, alert, t) {
  const ongoing = alert.end_s == null;
  const sig = `${alert.revision}`;
  if (node.dataset.sig !== sig) {
    node.dataset.sig = sig;
    node.classList.toggle('ongoing', ongoing);
    node.replaceChildren(h('span', { class: 'gap-rule' }),
      h('button', {
        class: 'gap-pill', type: 'button', 'aria-label': `Silence at ${clock(alert.start_s)}: play from there`,
        onclick: () => replayMoment(alert, { play: true }),
      }, h('span', { class: 'gap-len' })),
      h('span', { class: 'gap-rule' }));
    node._alert = alert;
  }
  updateGapLen(node, t);
}

/** A silence's length: still growing while it lasts. */
export function updateGapLen(node, t) {
  const alert = node._alert;
  const len = alert.end_s == null ? Math.max(0, t - alert.start_s) : alert.end_s - alert.start_s;
  setText(node.querySelector('.gap-len'), alert.end_s == null
    ? `Silence since ${clock(alert.start_s)} · ${secs(len)} so far`
    : `${secs(len)} of silence · ${clock(alert.start_s)}`);
}

/** The word being said is lit, and stays marked as just said for RECENT_WORD_S. */
export function renderWords(t) {
  const now = new Set();
  for (const word of view.words) {
    if (word.start <= t && t < word.end + RECENT_WORD_S) now.add(word);
  }
  for (const word of view.lit) {
    if (!now.has(word)) word.el.classList.remove('now', 'said');
  }
  for (const word of now) {
    const speaking = t < word.end;
    word.el.classList.toggle('now', speaking);
    word.el.classList.toggle('said', !speaking);
  }
  view.lit = now;
}
