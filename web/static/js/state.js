// What the page knows: every event the server sent per call (`CallData`), which call is open and how it is
// shown (`state`), and the view for one instant: `derive` turns the events that exist at the playhead into
// what the page draws, and `view` caches that for the renderers.
//
// An event exists from its moment (`momentOf`). The instant is the player's currentTime for a replay (so
// seeking back hides what lies after the playhead, and seeking forward shows everything before it), and
// everything received for a live call. Coaches' notes and pins are events of the call like alerts.

import { $ } from './dom.js';

// A note is written at its author's playhead; in a listening session everyone's player is within the sync
// tolerance of the lead's (player positions differ by a fraction of a second), so notes and pins show a
// little before their `at_s` for everyone to see them at once. The server releases events a second ahead.
export const ANNOTATION_EARLY_S = 0.5;

/** The point in the call at which an event exists: twin of `moment_s` in live/eventlog.py. */
export function momentOf(event) {
  switch (event.type) {
    case 'alert': return event.detected_s;
    case 'transcript': return event.end_s;
    case 'speech': return event.end_s ?? event.start_s;
    case 'call_ended': return event.end_s;
    case 'redaction': return event.end_s;
    case 'sentiment': return event.end_s;
    case 'error': return event.at_s || 0;
    case 'note':
    case 'pin': return Math.max(0, (event.at_s || 0) - ANNOTATION_EARLY_S);
    default: return 0;
  }
}

/** How many of the ascending `sorted` are at most `value`. */
export function upperBound(sorted, value) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Every event received for one call, in the order received; kept when the coach moves to another call. A
 * replay's notes and pins come when the player reaches their moment, out of `seq` order (one added to a
 * finished call has a `seq` after its end): `lastSeq` is the highest seq below which nothing is missing,
 * what a reconnect asks to resume after; anything received twice is dropped by its seq.
 */
class CallData {
  constructor(id) {
    this.id = id;
    this.events = [];
    this.seqs = new Set(); // seqs received above lastSeq
    this.lastSeq = 0;
    this.live = false;
    this.durationS = null;
    this.version = 0;
    this.audioEdgeS = 0; // the end of the newest live audio frame received
    this._moments = null;
  }

  add(event) {
    if (typeof event.seq !== 'number' || event.seq <= this.lastSeq || this.seqs.has(event.seq)) return false;
    this.events.push(event);
    this.seqs.add(event.seq);
    while (this.seqs.has(this.lastSeq + 1)) {
      this.lastSeq += 1;
      this.seqs.delete(this.lastSeq);
    }
    this.version += 1;
    this._moments = null;
    return true;
  }

  /** The events' moments, ascending: how many exist at an instant is one binary search. */
  get moments() {
    if (!this._moments) this._moments = this.events.map(momentOf).sort((a, b) => a - b);
    return this._moments;
  }

  /** The latest moment of any event received: where a live call stands. */
  get edgeS() {
    const moments = this.moments;
    return moments.length ? moments[moments.length - 1] : 0;
  }

  /** A live call's "now": the newest audio time received (or its newest event, before any audio). */
  get liveNowS() {
    return Math.max(this.audioEdgeS, this.edgeS);
  }

  /** The call's `call_ended` event, once received (notes and pins may come after it). */
  get endedEvent() {
    for (let i = this.events.length - 1; i >= 0; i -= 1) {
      const event = this.events[i];
      if (event.type === 'call_ended') return event;
      if (event.type !== 'note' && event.type !== 'pin') return null;
    }
    return null;
  }
}

export const state = {
  calls: new Map(), // call_id -> CallInfo, in the server's order
  data: new Map(), // call_id -> CallData
  currentId: null,
  subscribed: null, // the call the server confirmed (`subscribed`) on this connection
  audioFailed: false, // the current call's recording cannot play: everything is shown
  replaying: null, // the alert whose moment the coach jumped back to (its card returns at detected_s)
  wantedId: null, // from the address (#call=ID) until the list arrives
  errorsNoticed: new Set(),
  endedLive: null, // {callId, endS, reason}: the open call ended while the coach listened live
  reviewAll: false, // a live call just became a replay: everything stays shown until the coach plays or seeks
  me: null, // {user, name, role, teams}: who is logged in (the server's `welcome`)
};

/** Leads and admins start listening sessions and pin moments. */
export function canLead() {
  return Boolean(state.me && (state.me.role === 'lead' || state.me.role === 'admin'));
}

export function dataFor(callId) {
  let data = state.data.get(callId);
  if (!data) {
    data = new CallData(callId);
    state.data.set(callId, data);
  }
  return data;
}

export function currentInfo() {
  return state.currentId ? state.calls.get(state.currentId) : null;
}

export function isLive() {
  const data = state.currentId ? state.data.get(state.currentId) : null;
  return Boolean(data && data.live);
}

/** Everything received is shown: a live call, or a replay whose recording cannot play. */
export function showsAll() {
  return isLive() || state.audioFailed;
}

/** The state of a call at instant `t`, from the events that exist by then. */
export function derive(events, t) {
  const finals = [];
  const partial = {}; // speaker -> latest partial not yet replaced by a final
  const segments = new Map(); // speaker@start -> {speaker, start, end}
  const alerts = new Map(); // id -> latest revision
  const notes = new Map(); // id -> note
  const pins = new Map(); // target_id -> the latest pin event (by seq)
  const sentiments = new Map(); // speaker@start -> the customer's sentiment of one line
  const errors = [];
  let speakers = null; // the call's channels, once its call_started is here
  let ended = null;
  for (const event of events) {
    if (momentOf(event) > t) continue;
    switch (event.type) {
      case 'transcript':
        if (event.final) {
          partial[event.speaker] = null;
          if (event.text.trim()) finals.push(event);
        } else {
          partial[event.speaker] = event.text.trim() ? event : null;
        }
        break;
      case 'speech': {
        const key = `${event.speaker}@${event.start_s}`;
        const seg = segments.get(key) || { speaker: event.speaker, start: event.start_s, end: null };
        if (event.end_s != null) seg.end = event.end_s;
        segments.set(key, seg);
        break;
      }
      case 'alert': {
        const known = alerts.get(event.id);
        if (!known || event.revision >= known.revision) alerts.set(event.id, event);
        break;
      }
      case 'note':
        notes.set(event.id, event);
        break;
      case 'pin': {
        const known = pins.get(event.target_id);
        if (!known || event.seq > known.seq) pins.set(event.target_id, event);
        break;
      }
      case 'sentiment':
        if (event.speaker === 'customer') sentiments.set(`${event.speaker}@${event.start_s}`, event);
        break;
      case 'call_started':
        speakers = event.speakers;
        break;
      case 'call_ended':
        ended = event;
        break;
      case 'error':
        errors.push(event);
        break;
      default:
        break;
    }
  }
  const lines = [...finals, ...Object.values(partial).filter(Boolean)]
    .sort((a, b) => a.start_s - b.start_s || (a.speaker < b.speaker ? -1 : 1));
  const pinned = new Set([...pins.values()].filter((p) => p.pinned).map((p) => p.target_id));
  return {
    lines, segments: [...segments.values()], alerts: [...alerts.values()], notes: [...notes.values()], pinned, errors, ended,
    sentiments: [...sentiments.values()].sort((a, b) => a.start_s - b.start_s), speakers,
  };
}

/** What the renderers drew last, so that a frame redraws only what changed; `reset` empties the panes. */
export const view = {
  key: '',
  dirty: true,
  state: null,
  words: [], // {el, start, end} of every word on the page
  lit: new Set(),
  announced: new Set(),
  axisFor: null, // the duration and width the time axis was drawn for

  reset() {
    this.key = '';
    this.dirty = true;
    this.state = null;
    this.words = [];
    this.lit = new Set();
    this.announced = new Set();
    $('transcript').replaceChildren();
    $('cards').replaceChildren();
    $('tl-layer').replaceChildren();
    $('tl-axis').replaceChildren();
    this.axisFor = null;
  },
};
