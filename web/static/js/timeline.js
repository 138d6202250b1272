// The timeline under the player: speech per speaker, pauses and flagged silences, a marker per alert and
// per coach's note (pinned ones ringed), the customer's sentiment as a thin line, the playhead, the time
// axis; and clicking, dragging and Home/End on it to seek a replay.

import { $, h, icon, setText, setStyle } from './dom.js';
import { clock, secs, POLARITY } from './format.js';
import { state, view, isLive } from './state.js';
import { callDuration, seek, replayMoment } from './player.js';
import { NOTE_TAGS } from './notes.js';

const GAP_SHOWN_S = 2.0; // gaps in the conversation at least this long are drawn with their length

const tl = {
  pieces: new Map(), // key -> element in #tl-layer
  moodFor: null, // what the sentiment line was last drawn for
};

// The sentiment band (#tl-mood) is an SVG stretched over the track: x in thousandths of the call, y from 0
// (top) to 100; the mid-line is neutral, a score of +1 reaches MOOD_REACH above it and -1 as far below.
const MOOD_W = 1000;
const MOOD_MID = 50;
const MOOD_REACH = 44;
const SVG_NS = 'http://www.w3.org/2000/svg';

function pct(seconds, duration) {
  return `${Math.min(100, Math.max(0, (seconds / duration) * 100)).toFixed(3)}%`;
}

/** Time ticks at a round step that fits the width; drawn again only when the span or the width changed. */
function renderAxis(duration) {
  const axis = $('tl-axis');
  const width = axis.clientWidth || 600;
  const key = `${duration.toFixed(2)}:${Math.round(width / 50)}`;
  if (view.axisFor === key) return;
  view.axisFor = key;
  const maxTicks = Math.max(2, Math.floor(width / 64));
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800].find((s) => duration / s <= maxTicks) || 3600;
  const ticks = [];
  for (let s = 0; s <= duration + 1e-6; s += step) {
    const last = (duration - s) / duration < 0.06; // no room to its right: label it on its left
    ticks.push(h('span', { class: last ? 'tick last' : 'tick', style: `left:${pct(s, duration)}` }, h('span', { text: clock(s) })));
  }
  axis.replaceChildren(...ticks);
}

export function renderTimeline(st, t) {
  const duration = callDuration();
  renderAxis(duration);
  const now = Math.min(t, duration);
  drawPieces(st ? piecesAt(st, now) : new Map(), duration);
  drawMood(st, duration);
  drawPlayhead(now, duration);
}

/** How a score reads: "+0.91 (positive)". Scores within ±0.05 are VADER's neutral. */
function moodWords(score) {
  const tone = score >= 0.05 ? 'positive' : score <= -0.05 ? 'negative' : 'neutral';
  return `${score >= 0 ? '+' : ''}${score.toFixed(2)} (${tone})`;
}

/** What a screen reader (and a hover over the band) is told about the line so far. */
function moodSummary(lines) {
  if (!lines.length) return 'Customer sentiment: nothing scored yet';
  const low = lines.reduce((a, b) => (b.score < a.score ? b : a));
  const high = lines.reduce((a, b) => (b.score > a.score ? b : a));
  const last = lines[lines.length - 1];
  return `Customer sentiment over ${lines.length} line${lines.length === 1 ? '' : 's'}: lowest ${moodWords(low.score)} at ${clock(low.start_s)}, `
    + `highest ${moodWords(high.score)} at ${clock(high.start_s)}, latest ${moodWords(last.score)} at ${clock(last.start_s)}`;
}

/**
 * The customer's sentiment: each scored line level over its span, joined to the next, shaded towards the
 * mid-line (green above, amber below). It grows as lines are scored live, and on a replay as playback
 * reaches each line (the state at the instant holds only the lines said by then). A call whose channels
 * do not tell the customer apart (mono) has no band.
 */
function drawMood(st, duration) {
  const lines = st ? st.sentiments : [];
  const mono = Boolean(st && st.speakers && !st.speakers.includes('customer'));
  const last = lines[lines.length - 1];
  const key = [state.currentId, duration.toFixed(2), mono, lines.length, last ? `${last.start_s}/${last.score}` : ''].join(':');
  if (tl.moodFor === key) return;
  tl.moodFor = key;
  $('timeline').classList.toggle('no-mood', mono);
  const svg = $('tl-mood');
  const x = (seconds) => (Math.min(1, Math.max(0, seconds / duration)) * MOOD_W).toFixed(1);
  const y = (score) => (MOOD_MID - Math.max(-1, Math.min(1, score)) * MOOD_REACH).toFixed(1);
  const path = lines.map((s, i) => `${i ? 'L' : 'M'}${x(s.start_s)} ${y(s.score)} L${x(s.end_s)} ${y(s.score)}`).join(' ');
  const area = lines.length
    ? `M${x(lines[0].start_s)} ${MOOD_MID} L${path.slice(1)} L${x(last.end_s)} ${MOOD_MID} Z`
    : '';
  svg.querySelector('.tl-mood-line').setAttribute('d', path);
  for (const shade of svg.querySelectorAll('.tl-mood-area')) shade.setAttribute('d', area);
  // A hover over a line's stretch names its score; the band as a whole is summed up for screen readers.
  const hits = lines.map((s) => {
    const rect = document.createElementNS(SVG_NS, 'rect');
    rect.setAttribute('class', 'tl-mood-hit');
    rect.setAttribute('x', x(s.start_s));
    rect.setAttribute('width', Math.max(4, x(s.end_s) - x(s.start_s)).toFixed(1));
    rect.setAttribute('y', '0');
    rect.setAttribute('height', '100');
    const title = document.createElementNS(SVG_NS, 'title');
    title.textContent = `Customer sentiment at ${clock(s.start_s)}: ${moodWords(s.score)}`;
    rect.append(title);
    return rect;
  });
  svg.querySelector('.tl-mood-hits').replaceChildren(...hits);
  // The band is drawn inside the slider, whose children a screen reader does not read: the summary is
  // also a visually hidden paragraph beside it.
  const summary = moodSummary(lines);
  svg.querySelector('title').textContent = summary;
  setText($('tl-mood-text'), summary);
  svg.dataset.lines = String(lines.length);
}

/** What the timeline shows at `now`: each piece by a key that stays the same while the piece grows. */
function piecesAt(st, now) {
  const want = new Map();
  // Speech, one lane per speaker; a segment still going on grows with the playhead.
  for (const seg of st.segments) {
    const end = seg.end ?? now;
    if (end <= seg.start) continue;
    want.set(`seg:${seg.speaker}@${seg.start}`, {
      cls: `tl-seg ${seg.speaker}${seg.end == null ? ' open' : ''}`, start: seg.start, end,
    });
  }
  // Silences: gaps between anyone's speech. The ones an alert flagged are marked.
  const flagged = st.alerts.filter((a) => a.kind === 'silence').map((a) => ({
    alert: a, start: a.start_s, end: a.end_s ?? now,
  }));
  for (const f of flagged) {
    want.set(`sil:${f.alert.id}`, {
      cls: `tl-gap flagged${f.alert.end_s == null ? ' open' : ''}`, start: f.start, end: f.end,
      label: secs(f.end - f.start), title: `${secs(f.end - f.start)} of silence at ${clock(f.start)}`,
    });
  }
  for (const gap of gapsOf(st.segments, now)) {
    if (gap.end - gap.start < GAP_SHOWN_S) continue;
    if (flagged.some((f) => f.start < gap.end && gap.start < f.end)) continue;
    want.set(`gap:${gap.start}`, {
      cls: 'tl-gap', start: gap.start, end: gap.end,
      label: secs(gap.end - gap.start), title: `${secs(gap.end - gap.start)} pause at ${clock(gap.start)}`,
    });
  }
  // A marker per alert, at the moment it is about; its span drawn faintly.
  for (const alert of st.alerts) {
    const end = alert.end_s ?? now;
    want.set(`span:${alert.id}`, { cls: `tl-span ${alert.polarity}`, start: alert.start_s, end: Math.max(end, alert.start_s) });
    const pinned = st.pinned && st.pinned.has(alert.id) ? ' pinned' : '';
    want.set(`mark:${alert.id}`, { cls: `tl-marker ${alert.polarity}${pinned}`, start: alert.start_s, alert });
  }
  // A note's marker: a person's remark, drawn unlike the detectors' markers.
  for (const note of st.notes || []) {
    const pinned = st.pinned && st.pinned.has(note.id) ? ' pinned' : '';
    want.set(`note:${note.id}`, { cls: `tl-note ${note.tag === 'praise' ? 'praise' : 'coach'}${pinned}`, start: note.at_s, note });
  }
  return want;
}

/** #tl-layer follows `want`: new pieces are added, gone ones removed, the rest moved and resized. */
function drawPieces(want, duration) {
  const layer = $('tl-layer');
  for (const [key, node] of tl.pieces) {
    if (!want.has(key) || !node.isConnected) {
      node.remove();
      tl.pieces.delete(key);
    }
  }
  for (const [key, piece] of want) {
    let node = tl.pieces.get(key);
    if (!node) {
      node = pieceNode(piece);
      layer.append(node);
      tl.pieces.set(key, node);
    }
    if (node.className !== piece.cls) node.className = piece.cls;
    setStyle(node, 'left', pct(piece.start, duration));
    if (piece.end !== undefined) setStyle(node, 'width', pct(piece.end - piece.start, duration));
    if (piece.label) {
      const label = node.firstElementChild;
      setText(label, piece.label);
      node.title = piece.title;
    }
  }
}

/** An alert's or a note's marker is a button: it jumps to its moment, not to where the track was clicked. */
function pieceNode(piece) {
  if (piece.note) return noteMarker(piece.note);
  if (!piece.alert) {
    return h('div', { class: piece.cls }, piece.label ? h('span', { class: 'tl-gap-label' }) : null);
  }
  const alert = piece.alert;
  const pol = POLARITY[alert.polarity] || POLARITY.coach;
  return h('button', {
    type: 'button', class: piece.cls, 'data-alert-id': alert.id,
    'aria-label': `${pol.label}: ${alert.title}. Jump to ${clock(alert.start_s)}`,
    title: `${pol.label} · ${clock(alert.start_s)} · ${alert.title}`,
    onclick: (ev) => { ev.stopPropagation(); replayMoment(alert); },
    onpointerdown: (ev) => ev.stopPropagation(),
  }, icon(pol.icon));
}

function noteMarker(note) {
  const tag = NOTE_TAGS[note.tag] || NOTE_TAGS.coach;
  const author = note.author_name || note.author;
  return h('button', {
    type: 'button', class: 'tl-note', 'data-note-id': note.id,
    'aria-label': `${tag.label} from ${author}: ${note.text}. Jump to ${clock(note.at_s)}`,
    title: `${tag.label} · ${author} · ${clock(note.at_s)}\n${note.text}`,
    onclick: (ev) => { ev.stopPropagation(); seek(note.at_s); },
    onpointerdown: (ev) => ev.stopPropagation(),
  }, icon('note'));
}

/** The playhead, the blank future after it, and the slider's value for screen readers. */
function drawPlayhead(now, duration) {
  setStyle($('tl-playhead'), 'left', pct(now, duration));
  const future = $('tl-future');
  setStyle(future, 'left', pct(now, duration));
  setStyle(future, 'width', pct(Math.max(0, duration - now), duration));
  const track = $('tl-track');
  const max = duration.toFixed(1);
  if (track.getAttribute('aria-valuemax') !== max) track.setAttribute('aria-valuemax', max);
  const value = clock(now);
  if (track.getAttribute('aria-valuetext') !== value) {
    track.setAttribute('aria-valuetext', value);
    track.setAttribute('aria-valuenow', String(Math.floor(now)));
  }
}

/** Stretches where nobody spoke, between the first speech and `now`. */
function gapsOf(segments, now) {
  const spans = segments
    .map((s) => [s.start, s.end ?? now])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const gaps = [];
  let reach = null;
  for (const [start, end] of spans) {
    if (reach !== null && start > reach) gaps.push({ start: reach, end: start });
    reach = reach === null ? end : Math.max(reach, end);
  }
  if (reach !== null && now > reach) gaps.push({ start: reach, end: now });
  return gaps;
}

/** Click or drag to seek a replay, Home/End for its ends; the time under the pointer shows as it moves. */
export function setupTimeline() {
  const track = $('tl-track');
  const hover = $('tl-hover');
  const timeAt = (ev) => {
    const rect = track.getBoundingClientRect();
    const x = Math.min(Math.max(0, ev.clientX - rect.left), rect.width);
    return { seconds: (x / rect.width) * callDuration(), x };
  };
  let dragging = false;
  track.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0 || isLive()) return;
    dragging = true;
    track.setPointerCapture(ev.pointerId);
    seek(timeAt(ev).seconds);
  });
  track.addEventListener('pointermove', (ev) => {
    const at = timeAt(ev);
    if (!isLive()) {
      hover.hidden = false;
      hover.style.left = `${at.x}px`;
      setText(hover, clock(at.seconds));
    }
    if (dragging) seek(at.seconds);
  });
  track.addEventListener('keydown', (ev) => {
    if (ev.key === 'Home' || ev.key === 'End') {
      ev.preventDefault();
      seek(ev.key === 'Home' ? 0 : callDuration());
    }
  });
  const stop = () => { dragging = false; };
  track.addEventListener('pointerup', stop);
  track.addEventListener('pointercancel', stop);
  track.addEventListener('pointerleave', () => { hover.hidden = true; });
  window.addEventListener('resize', () => { view.axisFor = null; });
}
