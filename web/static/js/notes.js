// Coaches' notes: "Add note" (or the `n` key) opens a small form for a note at the current moment, tagged
// coach or praise like an alert, optionally quoting the transcript line under that moment; it is sent as
// `add_note` and shows when it comes back in the call's events (for everyone on the call, in one order).
// Note cards sit among the alert cards (alerts.js places them); this module fills them.

import { $, h, icon, setText } from './dom.js';
import { clock, SPEAKER_LABELS } from './format.js';
import { announce, notify } from './notices.js';
import { state, isLive } from './state.js';
import { link } from './socket.js';
import { audio, seek, isTyping } from './player.js';
import { initials } from './account.js';

export const NOTE_TAGS = {
  coach: { label: 'Coach note', icon: 'bulb' },
  praise: { label: 'Praise note', icon: 'star' },
};

const form = {
  atS: 0, // the moment the note is about: where the call stood when the form opened
  quote: null, // the transcript line under that moment, if any
  returnFocus: null,
};

export function setupNotes() {
  $('note-add').addEventListener('click', () => {
    if ($('note-form').hidden) openNoteForm();
    else closeNoteForm();
  });
  $('note-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitNote();
  });
  $('note-cancel').addEventListener('click', () => closeNoteForm());
  $('note-close').addEventListener('click', () => closeNoteForm());
  $('note-form').addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      closeNoteForm();
    } else if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      submitNote();
    }
  });
  $('note-text').addEventListener('input', renderSubmitState);
  $('note-quote').addEventListener('change', renderQuotePreview);
  // `n` adds a note, unless the coach is typing.
  document.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || ev.repeat) return;
    if (ev.key !== 'n' && ev.key !== 'N') return;
    if (!state.currentId || isTyping(ev.target) || !$('note-form').hidden) return;
    if (state.me?.role === 'agent') return; // notes are for coaches
    ev.preventDefault();
    openNoteForm();
  });
}

/** Where the call stands now: the player for a replay, the newest audio for a live call. */
export function currentMomentS() {
  const data = state.currentId ? state.data.get(state.currentId) : null;
  if (!data) return 0;
  if (isLive()) return data.liveNowS;
  const t = audio().currentTime;
  if (!state.audioFailed && Number.isFinite(t)) return t;
  return data.edgeS; // no playhead: the end of what there is
}

/** The final transcript line at `t`, or the last one before it: the one whose speaker started last by then. */
export function lineAt(t) {
  const data = state.currentId ? state.data.get(state.currentId) : null;
  if (!data) return null;
  let best = null;
  for (const event of data.events) {
    if (event.type !== 'transcript' || !event.final || !event.text.trim()) continue;
    if (event.start_s > t + 0.05) continue;
    if (!best || event.start_s > best.start_s || (event.start_s === best.start_s && event.end_s > best.end_s)) best = event;
  }
  return best;
}

export function openNoteForm() {
  if (!state.currentId) return;
  const box = $('note-form');
  form.atS = Math.max(0, currentMomentS());
  const line = lineAt(form.atS);
  form.quote = line ? { speaker: line.speaker, text: line.text.trim(), start_s: line.start_s, end_s: line.end_s } : null;
  form.returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  setText($('note-at'), clock(form.atS));
  const quoteBox = $('note-quote');
  quoteBox.disabled = !form.quote;
  if (!form.quote) quoteBox.checked = false;
  $('note-quote-option').classList.toggle('disabled', !form.quote);
  renderQuotePreview();
  renderSubmitState();
  box.hidden = false;
  $('note-add').setAttribute('aria-expanded', 'true');
  $('note-text').focus();
  box.scrollIntoView({ block: 'nearest' });
}

export function closeNoteForm({ restoreFocus = true } = {}) {
  const box = $('note-form');
  if (box.hidden) return;
  box.hidden = true;
  $('note-add').setAttribute('aria-expanded', 'false');
  if (restoreFocus) {
    const back = form.returnFocus && form.returnFocus.isConnected && form.returnFocus !== document.body ? form.returnFocus : $('note-add');
    back.focus({ preventScroll: true });
  }
}

function renderQuotePreview() {
  const preview = $('note-quote-preview');
  const quote = form.quote;
  if (!quote) {
    preview.className = 'quote note-quote-preview empty';
    preview.replaceChildren(h('span', { class: 'muted', text: 'No finished transcript line at this moment yet.' }));
    return;
  }
  preview.className = `quote note-quote-preview ${quote.speaker}${$('note-quote').checked ? ' chosen' : ''}`;
  preview.replaceChildren(
    h('figcaption', {},
      h('span', { class: 'who', text: SPEAKER_LABELS[quote.speaker] || quote.speaker }),
      h('span', { class: 'ts-static', text: clock(quote.start_s) })),
    h('blockquote', { text: `“${quote.text}”` }));
}

function renderSubmitState() {
  $('note-submit').disabled = !$('note-text').value.trim();
}

function submitNote() {
  const text = $('note-text').value.trim();
  if (!text || !state.currentId) {
    $('note-text').focus();
    return;
  }
  const tag = $('note-tag-praise').checked ? 'praise' : 'coach';
  const message = {
    type: 'add_note',
    call_id: state.currentId,
    at_s: Math.round(form.atS * 1000) / 1000,
    tag,
    text,
  };
  if ($('note-quote').checked && form.quote) message.quote = form.quote;
  if (!link.send(message)) {
    notify('error', 'The note was not sent', 'The page is not connected to the server right now: it is kept in the form, try again in a moment.');
    return;
  }
  $('note-text').value = '';
  $('note-quote').checked = false;
  $('note-tag-coach').checked = true;
  closeNoteForm();
  announce(`Note sent for ${clock(form.atS)}.`);
}

/** A note's card: who wrote it, its tag, the moment (a button that plays from there), its text and quote. */
export function fillNoteCard(card, note) {
  const sig = `${note.id}|${note.tag}|${note.text}`;
  if (card.dataset.sig === sig) return;
  card.dataset.sig = sig;
  const tag = NOTE_TAGS[note.tag] || NOTE_TAGS.coach;
  const author = note.author_name || note.author || 'A coach';
  card.setAttribute('aria-label', `${tag.label} from ${author} at ${clock(note.at_s)}`);
  const quote = note.quote && note.quote.text ? note.quote : null;
  card.replaceChildren(...[
    h('header', { class: 'card-head' },
      h('div', { class: 'note-author' },
        h('span', { class: 'avatar', 'aria-hidden': 'true', text: initials(author) }),
        h('span', { class: 'note-byline' },
          h('span', { class: 'note-author-name', text: author }),
          h('span', { class: 'note-tag' }, icon(tag.icon), tag.label))),
      h('button', {
        class: 'time-btn', type: 'button', 'data-seek-s': note.at_s,
        'aria-label': `Play from ${clock(note.at_s)}`, title: 'Play this moment',
        onclick: () => seek(note.at_s, { play: true }),
      }, icon('play'), clock(note.at_s))),
    h('p', { class: 'note-text', text: note.text }),
    quote ? quoteFigure(quote) : null,
  ].filter(Boolean));
}

/** A quoted transcript line, with its speaker and a time button that plays it (alert and note cards). */
export function quoteFigure(quote) {
  return h('figure', { class: `quote ${quote.speaker}` },
    h('figcaption', {},
      h('span', { class: 'who', text: SPEAKER_LABELS[quote.speaker] || quote.speaker }),
      h('button', {
        class: 'ts', type: 'button', 'aria-label': `Play the quote from ${clock(quote.start_s)}`,
        onclick: () => seek(quote.start_s, { play: true }),
      }, clock(quote.start_s))),
    h('blockquote', { text: `“${quote.text}”` }));
}

/** The note in a line, for the pinned list and screen readers. */
export function noteSummary(note) {
  const author = note.author_name || note.author || 'A coach';
  return `${author}: ${note.text}`;
}
