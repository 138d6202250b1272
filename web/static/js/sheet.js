// The coaching sheet page (/sheet/ID): the call's sheet from /api/calls/ID/sheet, as the conversation with
// the agent goes. Strengths first, each with a button that plays the recording from its moment; then at
// most three opportunities (quote, time, why it matters, what to try instead) and the rest folded away;
// the coaches' notes and pins; beside them the balance, the agent's own view and the commitments. The
// print button (or the browser's) prints it: sheet.css has the print layout.

import { $, h, icon, setText } from './dom.js';
import { clock, displayTitle, formatDate, kindLabel, POLARITY, SPEAKER_LABELS } from './format.js';

const callId = decodeURIComponent(location.pathname.replace(/^\/sheet\//, ''));
const player = { button: null }; // the play button whose moment is playing

async function load() {
  $('open-call').href = `/#call=${encodeURIComponent(callId)}`;
  $('print').addEventListener('click', () => window.print());
  let response;
  try {
    response = await fetch(`/api/calls/${encodeURIComponent(callId)}/sheet`, { credentials: 'same-origin' });
  } catch {
    return problem('The server did not answer. Check that callcoach is running, then reload the page.');
  }
  if (response.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    return;
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) return problem(body?.message || `The server refused the sheet (${response.status}).`);
  render(body);
}

function problem(message) {
  $('sheet').setAttribute('aria-busy', 'false');
  setText($('sheet-title'), 'No sheet');
  const box = $('sheet-problem');
  box.hidden = false;
  box.replaceChildren(icon('warn'), h('span', { text: message }));
}

function render(sheet) {
  const title = displayTitle({ title: sheet.title, call_id: sheet.call_id, source: 'file' });
  setText($('sheet-title'), title);
  document.title = `Coaching sheet: ${title} · callcoach`;
  const meta = [
    sheet.agent ? `Agent ${sheet.agent}` : null,
    sheet.duration_s != null ? clock(sheet.duration_s) : null,
  ].filter(Boolean);
  setText($('sheet-meta'), meta.join(' · '));
  list('strength-list', 'strengths-empty', sheet.strengths.map((s) => (s.source === 'note' ? noteCard(s) : momentCard(s))));
  list('opportunity-list', 'opportunities-empty', sheet.opportunities.map((m, i) => momentCard(m, i + 1)));
  const total = sheet.opportunities.length + sheet.more.length;
  setText($('opportunities-count'), sheet.more.length ? `the top ${sheet.opportunities.length} of ${total}` : '');
  renderMore(sheet.more);
  list('note-list', 'notes-empty', sheet.notes.map(noteLine));
  renderBalance(sheet.praise_count, sheet.coach_count);
  renderSelfAssessment(sheet.self_assessment);
  list('commitment-list', 'commitments-empty', sheet.commitments.map(commitmentLine));
  setupAudio();
  $('sheet-body').hidden = false;
  $('sheet').setAttribute('aria-busy', 'false');
}

function list(listId, emptyId, items) {
  $(listId).replaceChildren(...items);
  $(emptyId).hidden = items.length > 0;
}

/** The rest of the coach moments, folded away: for another conversation. */
function renderMore(more) {
  const box = $('more');
  box.hidden = more.length === 0;
  setText($('more-summary'), `${more.length} more moment${more.length === 1 ? '' : 's'} to coach, for another day`);
  $('more-list').replaceChildren(...more.map((m) => momentCard(m)));
}

/** An alert as the sheet shows it; `rank` numbers the opportunities. */
function momentCard(moment, rank = null) {
  const pol = POLARITY[moment.polarity] || POLARITY.coach;
  const quotes = moment.quotes.length
    ? moment.quotes
    : moment.quote ? [{ speaker: 'mixed', text: moment.quote, start_s: moment.start_s }] : [];
  return h('li', { class: `card sheet-card ${moment.polarity}${moment.pinned ? ' pinned' : ''}`, 'data-id': moment.id, 'data-start-s': moment.start_s },
    h('header', { class: 'card-head' },
      rank ? h('span', { class: 'rank' }, h('span', { class: 'sr-only', text: 'Number ' }), String(rank)) : h('span', { class: 'pill' }, icon(moment.polarity === 'praise' ? 'star' : 'bulb'), pol.label),
      h('span', { class: 'kind', text: moment.rule ? `${moment.label}: ${moment.rule}` : moment.label }),
      moment.pinned ? pinBadge() : null,
      playButton(moment.start_s)),
    h('h3', { class: 'card-title', text: moment.title }),
    quotes.length ? h('div', { class: 'quotes' }, quotes.map(quoteFigure)) : null,
    moment.why && moment.polarity === 'coach' ? h('section', { class: 'why' }, h('h4', { text: 'Why it matters' }), h('p', { text: moment.why })) : null,
    moment.suggestion ? h('section', { class: 'advice' }, h('h4', { text: pol.advice }), h('p', { text: moment.suggestion })) : null);
}

/** A coach's praise note among the strengths. */
function noteCard(note) {
  return h('li', { class: `card sheet-card praise note${note.pinned ? ' pinned' : ''}`, 'data-id': note.id, 'data-start-s': note.start_s },
    h('header', { class: 'card-head' },
      h('span', { class: 'pill' }, icon('note'), 'Praise note'),
      h('span', { class: 'kind', text: note.author_name || note.author }),
      note.pinned ? pinBadge() : null,
      playButton(note.start_s)),
    note.quote ? h('div', { class: 'quotes' }, quoteFigure(note.quote)) : null,
    h('p', { class: 'note-text', text: note.text }));
}

/** A note in the coaches' list: when, who, which way, what; pinned ones say so. */
function noteLine(note) {
  return h('li', { class: `sheet-note ${note.tag}${note.pinned ? ' pinned' : ''}`, 'data-id': note.id },
    h('span', { class: 'sheet-note-head' },
      h('span', { class: 'ts', text: clock(note.start_s) }),
      h('strong', { text: note.author_name || note.author }),
      h('span', { class: `tone-${note.tag}`, text: note.tag === 'praise' ? 'praise' : 'coach' }),
      note.pinned ? pinBadge() : null),
    note.quote ? h('q', { class: 'sheet-note-quote', text: note.quote.text }) : null,
    h('span', { class: 'sheet-note-text', text: note.text }));
}

function pinBadge() {
  return h('span', { class: 'pin-badge', title: 'Pinned: to cover with the agent' }, icon('pin'), h('span', { class: 'sr-only', text: 'Pinned' }));
}

function quoteFigure(quote) {
  const speaker = SPEAKER_LABELS[quote.speaker] || '';
  return h('figure', { class: `quote ${quote.speaker}` },
    h('figcaption', {},
      speaker ? h('strong', { text: speaker }) : null,
      h('span', { class: 'ts muted', text: clock(quote.start_s) })),
    h('blockquote', { text: quote.text }));
}

function renderBalance(praise, coach) {
  setText($('praise-count'), `${praise} praise`);
  setText($('coach-count'), `${coach} to coach`);
  const total = praise + coach;
  $('balance-praise').style.width = total ? `${(100 * praise) / total}%` : '0%';
  $('balance-coach').style.width = total ? `${(100 * coach) / total}%` : '0%';
}

function renderSelfAssessment(own) {
  const body = $('self-body');
  if (!own) {
    body.replaceChildren(h('p', { class: 'sheet-empty muted', text: 'Not written yet. Ask the agent first: what went well, and what would they do differently?' }));
    return;
  }
  body.replaceChildren(
    h('h3', { text: 'What went well' }), h('p', { text: own.went_well }),
    h('h3', { text: 'What I would do differently' }), h('p', { text: own.do_differently }),
    h('p', { class: 'muted small', text: `Written ${formatDate(own.written_at)}` }));
}

function commitmentLine(c) {
  const state = c.accepted_at ? `accepted ${formatDate(c.accepted_at)}` : 'not accepted yet';
  return h('li', { class: `sheet-commitment${c.accepted_at ? ' accepted' : ''}` },
    h('strong', { text: c.behaviour }),
    h('span', { class: 'muted small', text: `${kindLabel(c.kind)} · from ${c.due_date} · ${state}` }));
}

/** A moment's play button: the recording from that moment; pressed again, it pauses. */
function playButton(startS) {
  return h('button', {
    class: 'time-btn play-from', type: 'button', 'data-seek-s': startS, 'aria-pressed': 'false',
    'aria-label': `Play from ${clock(startS)}`, title: 'Play the call from this moment',
    onclick: (ev) => playFrom(ev.currentTarget, startS),
  }, icon('play'), clock(startS));
}

function setupAudio() {
  const audio = $('audio');
  audio.src = `/recordings/${encodeURIComponent(callId)}`;
  audio.addEventListener('pause', () => pressed(null));
  audio.addEventListener('ended', () => pressed(null));
  audio.addEventListener('error', () => {
    for (const button of document.querySelectorAll('.play-from')) button.disabled = true;
    const note = $('audio-note');
    note.hidden = false;
    setText(note, 'The recording of this call cannot be played (none was kept, or it is not available to you).');
  });
}

async function playFrom(button, startS) {
  const audio = $('audio');
  if (player.button === button && !audio.paused) {
    audio.pause();
    pressed(null); // now, not when the pause event comes
    return;
  }
  if (audio.readyState < 1) {
    audio.load();
    await new Promise((resolve) => audio.addEventListener('loadedmetadata', resolve, { once: true }));
  }
  audio.currentTime = startS;
  pressed(button); // before play() settles: the audio is already playing when it does
  try {
    await audio.play();
  } catch {
    pressed(null); // the browser refused to play: the button is not pressed
  }
}

function pressed(button) {
  if (player.button) player.button.setAttribute('aria-pressed', 'false');
  player.button = button;
  if (button) button.setAttribute('aria-pressed', 'true');
}

load();
