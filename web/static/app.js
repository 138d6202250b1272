// callcoach: the coach's listening page. A plain ES module: no build step, no framework, no network
// beyond the callcoach server itself.
//
// The page keeps every event the server sent for a call and renders the view for one instant: the
// player's currentTime for a replay (so seeking back hides what lies after the playhead, and seeking
// forward shows everything before it), everything received for a live call. An event exists from its
// moment (see `momentOf`, the twin of `moment_s` in live/events.py). A requestAnimationFrame loop
// re-renders whenever the instant or the set of events changes.
//
// A live call also streams its audio (`frame` messages, 0.1 s of 16-bit PCM per speaker): the page plays
// it through the Web Audio API a short jitter buffer behind the newest frame (see `liveAudio`), and its
// "now" is the newest audio time received.

const PROTOCOL_VERSION = 1;
const SEEK_STEP_S = 5;
const REPORT_EVERY_MS = 250; // playback reports while playing (~4 a second)
const RECENT_WORD_S = 0.9; // a word stays highlighted this long after it was said
const GAP_SHOWN_S = 2.0; // gaps in the conversation at least this long are drawn with their length
const NOTICE_MS = 9000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
// Live audio: each frame plays at (its start_s + a fixed offset) on the AudioContext's clock, the offset
// chosen so that the newest frame sits LIVE_JITTER_S ahead of the playhead. A frame that arrives too late
// for its place, or a schedule that runs too far ahead (a burst after the page stalled), resyncs.
const LIVE_RATE = 16000;
const LIVE_JITTER_S = 0.3;
const LIVE_LATE_S = 0.02; // a step due sooner than this is late: re-buffer from it
const LIVE_MAX_LEAD_S = 1.2; // scheduled further ahead than jitter + this: jump to the newest audio
const LIVE_QUIET_MS = 1500; // no frame for this long: "Waiting for audio…"
// The customer a little to the left and the agent a little to the right, as on the page (the transcript
// puts them on those sides): easy to tell apart on headphones, and both still heard in one ear.
const LIVE_PAN = { customer: -0.35, agent: 0.35, mixed: 0 };
const SOURCE_LABELS = { twilio: 'Twilio', freeswitch: 'FreeSWITCH', asterisk: 'Asterisk', soundcard: 'sound card' };

const KIND_LABELS = {
  silence: 'Silence',
  cold_reply_to_bad_news: 'Cold reply',
  empathy_shown: 'Empathy',
};
const SPEAKER_LABELS = { agent: 'Agent', customer: 'Customer', mixed: 'Both speakers' };
const POLARITY = {
  coach: { label: 'Coach', advice: 'Try instead', icon: 'bulb' },
  praise: { label: 'Praise', advice: 'Keep doing', icon: 'star' },
};
const ICONS = {
  bulb: '<path d="M9.5 18.5h5M10.5 21h3"/><path d="M12 3.2a6.3 6.3 0 0 0-3.9 11.2c.8.7 1.2 1.4 1.3 2.3h5.2c.1-.9.5-1.6 1.3-2.3A6.3 6.3 0 0 0 12 3.2z"/>',
  star: '<path d="M12 3.5l2.6 5.3 5.9.9-4.3 4.1 1 5.8L12 16.9l-5.2 2.7 1-5.8-4.3-4.1 5.9-.9z"/>',
  play: '<path class="fill" d="M8 5.5v13a1 1 0 0 0 1.5.86l10.5-6.5a1 1 0 0 0 0-1.72L9.5 4.64A1 1 0 0 0 8 5.5z"/>',
  close: '<path d="M6 6l12 12M18 6L6 18"/>',
  warn: '<path d="M12 4 2.8 19.5h18.4z"/><path d="M12 10v4.5M12 17.2v.1"/>',
  pause: '<path d="M9 6v12M15 6v12"/>',
};

// ---------------------------------------------------------------------------------------------------
// Small helpers

const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function icon(name, cls = 'icon') {
  const span = document.createElement('span');
  span.className = cls;
  span.setAttribute('aria-hidden', 'true');
  span.innerHTML = `<svg viewBox="0 0 24 24">${ICONS[name]}</svg>`;
  return span;
}

/** mm:ss into the call, floored, as the server words its titles. */
export function clock(seconds) {
  const whole = Math.max(0, Math.floor((Number.isFinite(seconds) ? seconds : 0) + 1e-6));
  return `${String(Math.floor(whole / 60)).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
}

const secs = (seconds) => `${seconds.toFixed(1)} s`;

function kindLabel(kind) {
  if (KIND_LABELS[kind]) return KIND_LABELS[kind];
  const words = String(kind).replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A recording's file name as a coach reads it: "bereavement_cold.wav" → "Bereavement cold". */
function displayTitle(info) {
  const raw = (info.title || info.call_id || '').trim();
  if (info.source !== 'file') return raw;
  const words = raw.replace(/\.(wav|flac|ogg|mp3)$/i, '').replace(/[_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function formatDate(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(undefined, {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
  });
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setStyle(node, prop, value) {
  if (node.style[prop] !== value) node.style[prop] = value;
}

function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !['range', 'checkbox', 'radio', 'button', 'submit', 'reset'].includes(target.type);
  }
  return false;
}

/** The point in the call at which an event exists: twin of `moment_s` in live/events.py. */
export function momentOf(event) {
  switch (event.type) {
    case 'alert': return event.detected_s;
    case 'transcript': return event.end_s;
    case 'speech': return event.end_s ?? event.start_s;
    case 'call_ended': return event.end_s;
    case 'error': return event.at_s || 0;
    default: return 0;
  }
}

function upperBound(sorted, value) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------------
// State

/** Every event received for one call, in sequence order; kept when the coach moves to another call. */
class CallData {
  constructor(id) {
    this.id = id;
    this.events = [];
    this.lastSeq = 0;
    this.live = false;
    this.durationS = null;
    this.version = 0;
    this.audioEdgeS = 0; // the end of the newest live audio frame received
    this._moments = null;
  }

  add(event) {
    if (typeof event.seq !== 'number' || event.seq <= this.lastSeq) return false;
    this.events.push(event);
    this.lastSeq = event.seq;
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

  /** The call's `call_ended` event, once received. */
  get endedEvent() {
    const last = this.events[this.events.length - 1];
    return last && last.type === 'call_ended' ? last : null;
  }
}

const state = {
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
};

function dataFor(callId) {
  let data = state.data.get(callId);
  if (!data) {
    data = new CallData(callId);
    state.data.set(callId, data);
  }
  return data;
}

// ---------------------------------------------------------------------------------------------------
// The websocket: reconnects with backoff and picks up where it left off (after_seq = last seq received)

const link = {
  ws: null,
  attempt: 0,
  timer: null,

  connect() {
    clearTimeout(this.timer);
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    setConnection('connecting', this.attempt ? 'Reconnecting…' : 'Connecting…');
    ws.addEventListener('open', () => {
      this.attempt = 0;
      setConnection('open', 'Connected');
      if (state.currentId) subscribe(state.currentId);
    });
    ws.addEventListener('message', (msg) => {
      let data;
      try {
        data = JSON.parse(msg.data);
      } catch {
        notify('error', 'Unreadable message from the server', String(msg.data).slice(0, 120));
        return;
      }
      handleMessage(data);
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      state.subscribed = null;
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] * (0.8 + Math.random() * 0.4);
      this.attempt += 1;
      setConnection('closed', `Offline, retrying in ${Math.max(1, Math.round(delay / 1000))} s`);
      this.timer = setTimeout(() => this.connect(), delay);
    });
  },

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, ...message }));
      return true;
    }
    return false;
  },
};

function setConnection(kind, text) {
  const conn = $('conn');
  conn.dataset.state = kind;
  setText($('conn-text'), text);
}

function subscribe(callId) {
  const data = dataFor(callId);
  state.subscribed = null; // playback is reported once the server confirms (a refused call gets none)
  link.send({ type: 'subscribe', call_id: callId, after_seq: data.lastSeq });
}

function handleMessage(msg) {
  switch (msg.type) {
    case 'calls':
      updateCalls(msg.calls || []);
      return;
    case 'subscribed': {
      const data = dataFor(msg.call_id);
      data.live = Boolean(msg.live);
      if (typeof msg.duration_s === 'number') data.durationS = msg.duration_s;
      if (msg.call_id === state.currentId) {
        state.subscribed = msg.call_id;
        applyLiveMode();
        reportPlayback(true);
        view.dirty = true;
      }
      return;
    }
    case 'frame':
      liveFrame(msg);
      return;
    case 'error':
      if (typeof msg.seq === 'number' && msg.call) break; // an event of a call: stored and shown in place
      notify('error', 'The server refused a request', `${msg.message} (${msg.code})`);
      return;
    default:
      break;
  }
  if (typeof msg.seq === 'number' && typeof msg.call === 'string') {
    const data = dataFor(msg.call);
    if (data.add(msg) && msg.call === state.currentId) {
      view.dirty = true;
      if (msg.type === 'call_ended' && data.live) liveCallEnded(data, msg);
    }
    if (msg.type === 'alert' && data.live) renderCallList(); // the live call's counts so far
  }
}

// ---------------------------------------------------------------------------------------------------
// Notices (non-blocking) and the screen-reader announcer

function notify(kind, title, message, { timeout = NOTICE_MS } = {}) {
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
function announce(text) {
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

// ---------------------------------------------------------------------------------------------------
// The call list

function updateCalls(calls) {
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
  if (state.wantedId && state.calls.has(state.wantedId)) {
    const wanted = state.wantedId;
    state.wantedId = null;
    openCall(wanted);
  } else if (state.wantedId) {
    notify('info', 'There is no such call', `"${state.wantedId}" is not in the list: pick a call from it.`);
    state.wantedId = null;
    history.replaceState(null, '', location.pathname);
  } else if (state.currentId && !state.calls.has(state.currentId)) {
    closeCall();
    notify('info', 'That call is no longer available', 'It was removed from the list.');
  } else if (state.currentId) {
    const info = currentInfo();
    if (!info.live && dataFor(info.call_id).live) liveCallBecameReplay(info);
    renderCallHead();
  }
}

function renderCallList() {
  const list = $('call-list');
  // Live calls first (in the server's order), then the rest.
  const calls = [...state.calls.values()].sort((a, b) => Number(b.live) - Number(a.live));
  setText($('call-count'), calls.length ? String(calls.length) : '');
  $('list-empty').hidden = calls.length > 0;
  if (!calls.length) setText($('list-empty'), 'No calls yet. Put recordings in the server\'s folder.');
  const keep = new Set(calls.map((c) => c.call_id));
  for (const item of [...list.children]) if (!keep.has(item.dataset.callId)) item.remove();
  calls.forEach((info, index) => {
    let item = list.querySelector(`:scope > li[data-call-id="${CSS.escape(info.call_id)}"]`);
    if (!item) {
      item = h('li', { class: 'call-item', 'data-call-id': info.call_id },
        h('button', { class: 'call-btn', type: 'button', onclick: () => selectCall(info.call_id) }));
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

function tickLiveList() {
  for (const item of document.querySelectorAll('#call-list > li[data-live="true"]')) {
    const info = state.calls.get(item.dataset.callId);
    const elapsed = item.querySelector('.live-elapsed');
    if (info && elapsed) setText(elapsed, clock(liveElapsedS(info)));
  }
}

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
  const badges = h('div', { class: 'call-badges' });
  if (info.status === 'analysing') {
    badges.append(h('span', { class: 'status analysing' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Analysing…'));
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
  }
  button.replaceChildren(...[
    h('div', { class: 'call-top' },
      h('span', { class: 'call-title', text: displayTitle(info) }),
      info.live ? h('span', { class: 'live-badge', title: 'Live: open it to listen in' },
        h('span', { class: 'live-dot' }), 'Live',
        h('span', { class: 'live-elapsed', text: clock(liveElapsedS(info)) })) : null),
    h('div', { class: 'call-meta muted', text: meta || (info.status === 'analysing' ? 'Reading the recording…' : '') }),
    badges,
    info.status === 'error' ? h('p', { class: 'call-error', text: info.error || 'The call could not be analysed.' }) : null,
  ].filter(Boolean));
}

// ---------------------------------------------------------------------------------------------------
// Opening and leaving a call

const audio = () => $('audio');

function selectCall(callId) {
  if (location.hash !== `#call=${encodeURIComponent(callId)}`) location.hash = `call=${encodeURIComponent(callId)}`;
  else openCall(callId);
}

function openCall(callId) {
  if (state.currentId === callId) return;
  const info = state.calls.get(callId);
  if (!info) {
    state.wantedId = callId;
    return;
  }
  if (state.currentId) leaveCall();
  state.currentId = callId;
  state.audioFailed = false;
  state.replaying = null;
  state.endedLive = null;
  state.reviewAll = false;
  const data = dataFor(callId);
  data.live = info.live;
  if (info.duration_s != null) data.durationS = info.duration_s;
  view.reset();
  $('layout').dataset.view = 'call';
  $('empty-state').hidden = true;
  $('call').hidden = false;
  renderCallHead();
  renderCallList();
  applyLiveMode();
  subscribe(callId);
  document.title = `${displayTitle(info)} · callcoach`;
  // Focus moves to the call (screen readers announce it; the list item loses its focus ring).
  $('call-title').focus({ preventScroll: true });
}

function leaveCall() {
  const callId = state.currentId;
  if (!callId) return;
  link.send({ type: 'unsubscribe', call_id: callId });
  state.subscribed = null;
  state.endedLive = null;
  state.reviewAll = false;
  liveAudio.stop();
  const player = audio();
  player.pause();
  player.removeAttribute('src');
  player.load();
  state.currentId = null;
}

function closeCall() {
  leaveCall();
  view.reset();
  $('layout').dataset.view = 'list';
  $('call').hidden = true;
  $('empty-state').hidden = false;
  document.title = 'callcoach';
  renderCallList();
}

function routeFromHash() {
  const match = /^#call=(.+)$/.exec(location.hash);
  const callId = match ? decodeURIComponent(match[1]) : null;
  if (callId) {
    if (state.calls.size) openCall(callId);
    else state.wantedId = callId;
  } else if (state.currentId) {
    closeCall();
  }
}

function currentInfo() {
  return state.currentId ? state.calls.get(state.currentId) : null;
}

function isLive() {
  const data = state.currentId ? state.data.get(state.currentId) : null;
  return Boolean(data && data.live);
}

/**
 * A live call has no <audio> player: its own audio plays through `liveAudio` (volume and mute stay), and
 * everything received is shown as it arrives. A replay gets the recording's player.
 */
function applyLiveMode() {
  const info = currentInfo();
  if (!info) return;
  const live = isLive();
  $('player').classList.toggle('is-live', live);
  $('call').classList.toggle('live-mode', live);
  $('live-status').hidden = !live;
  $('play').hidden = live;
  $('speed-control').hidden = live;
  setText($('transcript-empty'), live ? 'The transcript appears here as they speak.' : 'The transcript follows the audio: press play.');
  const player = audio();
  if (live) {
    if (player.getAttribute('src')) {
      player.removeAttribute('src');
      player.load();
    }
    attachLiveAudio(info);
  } else {
    liveAudio.stop({ drain: true });
    if (info.audio_url && player.getAttribute('src') !== info.audio_url) {
      player.src = info.audio_url;
      player.load();
    }
  }
}

/** Listen in: the call's audio frames, as the server sends them, play through the Web Audio API. */
function attachLiveAudio(info) {
  liveAudio.start(info.call_id);
}

/** The open live call sent its `call_ended`: say so; the list turns it into a replay a moment later. */
function liveCallEnded(data, ended) {
  state.endedLive = { callId: data.id, endS: ended.end_s, reason: ended.reason };
  const what = ended.reason === 'dropped' ? 'The call dropped' : 'The call ended';
  announce(`${what} at ${clock(ended.end_s)}. It is now a replay.`);
}

/**
 * The open live call is now a replay (the list says so): switch to it in place. Everything received stays
 * on the page (the player waits at the call's end) until the coach plays or seeks; then it is a replay
 * like any other, gated by its player.
 */
function liveCallBecameReplay(info) {
  const data = dataFor(info.call_id);
  const ended = data.endedEvent;
  if (!state.endedLive || state.endedLive.callId !== info.call_id) {
    state.endedLive = {
      callId: info.call_id,
      endS: ended ? ended.end_s : info.duration_s ?? data.liveNowS,
      reason: ended ? ended.reason : 'completed',
    };
  }
  data.live = false;
  if (info.duration_s != null) data.durationS = info.duration_s;
  state.reviewAll = true;
  if (!info.audio_url) state.audioFailed = true; // no recording was kept: show the whole call, no player
  applyLiveMode();
  subscribe(info.call_id); // as a replay now: the server follows the player from here
  view.dirty = true;
}

function renderCallHead() {
  const info = currentInfo();
  if (!info) return;
  setText($('call-title'), displayTitle(info));
  const duration = info.duration_s ?? dataFor(info.call_id).durationS;
  const via = SOURCE_LABELS[info.source] || (info.source !== 'file' ? info.source : null);
  const parts = [
    info.live ? 'Live call' : via ? 'Recorded call' : 'Recording',
    via ? `via ${via}` : null,
    !info.live && duration != null ? clock(duration) : null,
    formatDate(info.started_at),
  ].filter(Boolean);
  setText($('call-meta'), parts.join(' · '));
  const chip = $('call-status');
  const labels = { analysing: 'Analysing…', ready: 'Ready', live: 'Live', error: 'Error' };
  chip.className = `chip ${info.status}`;
  setText(chip, labels[info.status] || info.status);
  const banner = $('call-banner');
  banner.dataset.from = 'call';
  if (info.status === 'error') {
    banner.hidden = false;
    banner.className = 'call-banner error';
    banner.replaceChildren(icon('warn'), h('span', {}, h('strong', { text: 'This call could not be analysed. ' }), info.error || ''));
  } else if (info.status === 'analysing') {
    banner.hidden = false;
    banner.className = 'call-banner info';
    banner.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      h('span', { text: 'Still analysing: you can play it now, moments appear as the analysis reaches them.' }));
  } else {
    banner.hidden = true;
    if (view.state) renderErrors(view.state);
  }
}

// ---------------------------------------------------------------------------------------------------
// The player

/** Everything received is shown: a live call, or a replay whose recording cannot play. */
function showsAll() {
  return isLive() || state.audioFailed;
}

function viewTime() {
  if (showsAll() || state.reviewAll) return Infinity;
  return audio().currentTime || 0;
}

/** A live call's timeline spans the call so far, with room ahead, growing in steps (not every frame). */
function liveSpanS(now) {
  const step = now < 120 ? 10 : now < 600 ? 30 : 60;
  return Math.max(30, Math.ceil((now * 1.1 + 2) / step) * step);
}

function callDuration() {
  const info = currentInfo();
  const data = state.currentId ? state.data.get(state.currentId) : null;
  if (data && data.live) return liveSpanS(data.liveNowS);
  const known = info?.duration_s ?? data?.durationS;
  if (known) return known;
  const player = audio();
  if (Number.isFinite(player.duration) && player.duration > 0) return player.duration;
  return Math.max(10, (data?.edgeS || 0) * 1.1);
}

let lastReport = 0;
function reportPlayback(force) {
  if (!state.currentId || state.subscribed !== state.currentId || isLive()) return;
  const now = performance.now();
  if (!force && now - lastReport < REPORT_EVERY_MS) return;
  const player = audio();
  const sent = link.send({
    type: 'playback',
    call_id: state.currentId,
    // No audio to follow (or a live call just ended, all of it shown): a position past any call's end
    // releases all of it.
    position_s: state.audioFailed || state.reviewAll ? 1e9 : Math.round((player.currentTime || 0) * 1000) / 1000,
    playing: !state.audioFailed && !player.paused && !player.ended,
  });
  if (sent) lastReport = now;
}

function togglePlay() {
  if (!state.currentId || showsAll()) return;
  const player = audio();
  if (player.paused || player.ended) playAudio();
  else player.pause();
}

function playAudio() {
  const promise = audio().play();
  if (promise) {
    promise.catch((err) => {
      if (err && err.name === 'AbortError') return; // a newer load or pause interrupted it
      notify('error', 'The recording could not play', err ? err.message : '');
    });
  }
}

function seek(seconds, { play = false } = {}) {
  if (!state.currentId || showsAll()) return;
  state.reviewAll = false;
  const player = audio();
  const duration = callDuration();
  player.currentTime = Math.min(Math.max(0, seconds), Math.max(0, duration - 0.05));
  reportPlayback(true);
  view.dirty = true;
  if (play) playAudio();
}

/**
 * Jump to the start of an alert's moment. The alert is only known from its detected_s on, so its card
 * leaves the page until the audio gets there again: a note in the player says so, so that the card
 * vanishing under the coach's click reads as intended.
 */
function replayMoment(alert, { play = false } = {}) {
  seek(alert.start_s, { play });
  // The card comes back with the alert's first revision.
  const data = state.data.get(state.currentId);
  const returnsAt = Math.min(...(data?.events || [])
    .filter((e) => e.type === 'alert' && e.id === alert.id)
    .map((e) => e.detected_s), alert.detected_s);
  state.replaying = returnsAt > alert.start_s ? { alert, returnsAt } : null;
}

function renderReplayHint(t) {
  const hint = $('replay-hint');
  const replaying = state.replaying;
  // The note lasts until the card is back, or until the coach goes elsewhere.
  if (replaying && (t >= replaying.returnsAt || t < replaying.alert.start_s - 0.5 || showsAll())) {
    state.replaying = null;
  }
  if (!state.replaying) {
    if (!hint.hidden) hint.hidden = true;
    return;
  }
  hint.hidden = false;
  hint.dataset.polarity = replaying.alert.polarity;
  setText(hint, `Replaying this moment · card back at ${clock(replaying.returnsAt)}`);
}

function setupPlayer() {
  const player = audio();
  for (const type of ['play', 'pause', 'seeking', 'seeked', 'ended', 'ratechange']) {
    player.addEventListener(type, () => {
      reportPlayback(true);
      renderPlayState();
    });
  }
  player.addEventListener('timeupdate', () => reportPlayback(false));
  player.addEventListener('loadedmetadata', () => {
    // A live call that just became a replay: its player waits at the end (Space plays it from the start).
    if (state.reviewAll && Number.isFinite(player.duration)) player.currentTime = player.duration;
    view.dirty = true;
  });
  player.addEventListener('play', () => {
    if (!state.reviewAll) return;
    state.reviewAll = false;
    reportPlayback(true);
    view.dirty = true;
  });
  player.addEventListener('error', () => {
    if (!player.getAttribute('src')) return;
    const err = player.error;
    const why = {
      1: 'loading was interrupted',
      2: 'the network failed while loading it',
      3: 'the browser could not decode it',
      4: 'the browser cannot play this file (missing, or a format it does not support)',
    }[err?.code] || 'the browser reported an error';
    // Without audio there is no playhead to follow: show the whole analysis instead.
    state.audioFailed = true;
    view.dirty = true;
    reportPlayback(true);
    notify('error', 'The recording could not be played', `${why}. Showing the whole call's analysis instead.`);
  });

  $('play').addEventListener('click', togglePlay);

  const saved = Number.parseFloat(localStorage.getItem('callcoach.volume') ?? '1');
  player.volume = Number.isFinite(saved) ? Math.min(1, Math.max(0, saved)) : 1;
  player.muted = localStorage.getItem('callcoach.muted') === '1';
  const volume = $('volume');
  volume.value = String(player.volume);
  volume.addEventListener('input', () => {
    player.volume = Number(volume.value);
    if (player.volume > 0) player.muted = false;
  });
  $('mute').addEventListener('click', () => { player.muted = !player.muted; });
  player.addEventListener('volumechange', () => {
    localStorage.setItem('callcoach.volume', String(player.volume));
    localStorage.setItem('callcoach.muted', player.muted ? '1' : '0');
    renderVolume();
  });
  renderVolume();

  const speed = $('speed');
  const savedRate = localStorage.getItem('callcoach.rate');
  if (savedRate && [...speed.options].some((o) => o.value === savedRate)) speed.value = savedRate;
  const applyRate = () => {
    player.defaultPlaybackRate = Number(speed.value);
    player.playbackRate = Number(speed.value);
  };
  speed.addEventListener('change', () => {
    localStorage.setItem('callcoach.rate', speed.value);
    applyRate();
  });
  player.addEventListener('loadstart', applyRate);
  applyRate();
  renderPlayState();
}

function renderPlayState() {
  const player = audio();
  const playing = !player.paused && !player.ended;
  const button = $('play');
  button.classList.toggle('playing', playing);
  button.setAttribute('aria-label', playing ? 'Pause' : 'Play');
  button.title = playing ? 'Pause (Space)' : 'Play (Space)';
}

function renderVolume() {
  const player = audio();
  const silent = player.muted || player.volume === 0;
  const mute = $('mute');
  mute.classList.toggle('muted', silent);
  mute.setAttribute('aria-label', silent ? 'Unmute' : 'Mute');
  const volume = $('volume');
  volume.value = String(player.muted ? 0 : player.volume);
  volume.style.setProperty('--fill', `${(player.muted ? 0 : player.volume) * 100}%`);
}

function setupKeyboard() {
  let spaceHandled = false;
  document.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (!state.currentId || showsAll() || isTyping(ev.target)) return;
    const onRange = ev.target instanceof HTMLInputElement && ev.target.type === 'range';
    if (ev.key === ' ' || ev.code === 'Space') {
      ev.preventDefault();
      spaceHandled = true;
      if (!ev.repeat) togglePlay();
    } else if ((ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') && !onRange) {
      ev.preventDefault();
      seek(audio().currentTime + (ev.key === 'ArrowLeft' ? -SEEK_STEP_S : SEEK_STEP_S));
    }
  });
  // A focused button would also "click" on the space key's release: that would undo the toggle.
  document.addEventListener('keyup', (ev) => {
    if ((ev.key === ' ' || ev.code === 'Space') && spaceHandled) {
      spaceHandled = false;
      ev.preventDefault();
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Listening live: a live call's audio frames through the Web Audio API

/** 16-bit little-endian PCM in base64 → samples in [-1, 1). */
export function decodePcm(b64) {
  const bytes = atob(b64);
  const out = new Float32Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i += 1) {
    const v = bytes.charCodeAt(2 * i) | (bytes.charCodeAt(2 * i + 1) << 8);
    out[i] = (v >= 0x8000 ? v - 0x10000 : v) / 32768;
  }
  return out;
}

/**
 * One AudioContext for the page (made when a live call is first opened), and one session per live call
 * listened to. Each frame becomes an AudioBufferSourceNode started at `start_s + offset` on the context's
 * clock, so consecutive frames join sample to sample and a skipped frame leaves silence in its place.
 * Graph: source → speaker's StereoPannerNode → session bus → analyser (the level meter) → master gain
 * (volume, mute) → speakers.
 */
const liveAudio = {
  ctx: null,
  master: null,
  analyser: null,
  levelBuf: null,
  level: 0,
  session: null, // {callId, bus, panners, offset, stepS, sources, scheduledEndS, playedS}
  lastFrameAt: 0, // performance.now() of the newest frame
  stats: { frames: 0, scheduled: 0, late: 0, resyncs: 0 },

  ensureContext() {
    if (this.ctx) return this.ctx;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    let ctx;
    try {
      // At the frames' own rate no buffer is resampled on its own (no clicks where frames join); the
      // browser converts the one mixed stream to the sound card's rate.
      ctx = new Ctx({ sampleRate: LIVE_RATE, latencyHint: 'interactive' });
    } catch {
      ctx = new Ctx({ latencyHint: 'interactive' });
    }
    this.ctx = ctx;
    this.master = ctx.createGain();
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.levelBuf = new Float32Array(this.analyser.fftSize);
    this.analyser.connect(this.master);
    this.master.connect(ctx.destination);
    ctx.addEventListener('statechange', () => {
      if (ctx.state !== 'running' && this.session) this.session.offset = null; // re-buffer on resume
    });
    this.applyVolume();
    return ctx;
  },

  start(callId) {
    if (this.session && this.session.callId === callId) return;
    this.stop();
    const ctx = this.ensureContext();
    if (!ctx) return; // no Web Audio here: the call is still shown as it happens
    const bus = ctx.createGain();
    bus.connect(this.analyser);
    this.session = {
      callId, bus, panners: new Map(), offset: null, stepS: null, sources: new Set(), scheduledEndS: 0, playedS: 0,
    };
    this.lastFrameAt = 0;
    // Allowed when the coach clicked to open the call; otherwise the page offers "Click to listen".
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  },

  /** Stop listening: at once (pending audio is dropped), or `drain` what is already scheduled first. */
  stop({ drain = false } = {}) {
    const s = this.session;
    if (!s) return;
    this.session = null;
    this.level = 0;
    const now = this.ctx.currentTime;
    let until = now;
    for (const src of s.sources) {
      if (drain) until = Math.max(until, src.endsAt);
      else src.stop();
    }
    setTimeout(() => s.bus.disconnect(), Math.max(0, until - now) * 1000 + 100);
  },

  resume() {
    const ctx = this.ensureContext();
    return ctx ? ctx.resume() : Promise.resolve();
  },

  /** The state the page shows: 'none' (no Web Audio), 'suspended' (needs a click), 'waiting', 'listening'. */
  status() {
    if (!this.ctx) return 'none';
    if (this.ctx.state !== 'running') return 'suspended';
    return performance.now() - this.lastFrameAt > LIVE_QUIET_MS ? 'waiting' : 'listening';
  },

  frame(msg) {
    const s = this.session;
    if (!s || msg.call !== s.callId) return;
    this.lastFrameAt = performance.now();
    this.stats.frames += 1;
    const ctx = this.ctx;
    if (ctx.state !== 'running') return;
    const samples = decodePcm(msg.pcm_b64 || '');
    if (!samples.length) return;
    const now = ctx.currentTime;
    if (msg.start_s !== s.stepS) {
      // A new step (the speakers' frames of one step share its start_s and its fate): still on schedule?
      s.stepS = msg.start_s;
      const at = s.offset === null ? null : msg.start_s + s.offset;
      if (at === null || at < now + LIVE_LATE_S || at > now + LIVE_JITTER_S + LIVE_MAX_LEAD_S) {
        if (at !== null) this.stats[at < now + LIVE_LATE_S ? 'late' : 'resyncs'] += 1;
        this.resync(msg.start_s);
      }
    }
    const buffer = ctx.createBuffer(1, samples.length, msg.sample_rate);
    buffer.copyToChannel(samples, 0);
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(this.panner(msg.speaker));
    const when = msg.start_s + s.offset;
    src.startsAt = when;
    src.endsAt = when + buffer.duration;
    // Due already (the context moved on while this step's other speaker arrived): play the rest of it.
    if (when < now) src.start(now, now - when);
    else src.start(when);
    s.sources.add(src);
    src.addEventListener('ended', () => s.sources.delete(src));
    s.scheduledEndS = Math.max(s.scheduledEndS, msg.start_s + buffer.duration);
    this.stats.scheduled += 1;
  },

  /** Play the step at `startS` LIVE_JITTER_S from now; audio scheduled beyond that is dropped. */
  resync(startS) {
    const s = this.session;
    const ctx = this.ctx;
    const now = ctx.currentTime;
    for (const src of s.sources) {
      if (src.startsAt > now) {
        src.stop();
        s.sources.delete(src);
      }
    }
    // On a whole sample of the context's clock, so that frames join exactly.
    s.offset = Math.round((now + LIVE_JITTER_S - startS) * ctx.sampleRate) / ctx.sampleRate;
    s.scheduledEndS = Math.min(s.scheduledEndS, startS);
  },

  panner(speaker) {
    const s = this.session;
    let node = s.panners.get(speaker);
    if (!node) {
      node = this.ctx.createStereoPanner();
      node.pan.value = LIVE_PAN[speaker] ?? 0;
      node.connect(s.bus);
      s.panners.set(speaker, node);
    }
    return node;
  },

  /** The call time (start_s) being heard now: the context's clock, less the output's latency. */
  playedThroughS() {
    const s = this.session;
    if (!s) return 0;
    if (s.offset !== null && this.ctx.state === 'running') {
      const heardAt = this.ctx.currentTime - (this.ctx.outputLatency || this.ctx.baseLatency || 0);
      // Never past what was scheduled (a gap in arrivals is silence, not progress), and never backwards.
      s.playedS = Math.max(s.playedS, Math.min(heardAt - s.offset, s.scheduledEndS));
    }
    return s.playedS;
  },

  /** The volume and mute of the page's player apply to live audio too. */
  applyVolume() {
    if (!this.master) return;
    const player = audio();
    const gain = player.muted ? 0 : player.volume;
    this.master.gain.setTargetAtTime(gain, this.ctx.currentTime, 0.015);
  },

  /** The level of what plays (before the volume), 0..1, smoothed: the meter beside "Listening live". */
  readLevel() {
    if (!this.session || !this.analyser || this.ctx.state !== 'running') {
      this.level = 0;
      return 0;
    }
    this.analyser.getFloatTimeDomainData(this.levelBuf);
    let sum = 0;
    for (const v of this.levelBuf) sum += v * v;
    const db = 10 * Math.log10(sum / this.levelBuf.length + 1e-10);
    const target = Math.min(1, Math.max(0, (db + 60) / 50));
    this.level = target > this.level ? target : this.level * 0.9 + target * 0.1;
    return this.level;
  },
};

function liveFrame(msg) {
  const data = state.data.get(msg.call);
  if (!data || msg.call !== state.currentId || !data.live) return;
  const b64 = msg.pcm_b64 || '';
  const bytes = (b64.length * 3) / 4 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
  const end = msg.start_s + bytes / 2 / msg.sample_rate;
  if (end > data.audioEdgeS) data.audioEdgeS = end;
  liveAudio.frame(msg);
}

function renderLiveStatus(data, st) {
  const info = currentInfo();
  const ended = state.endedLive && state.endedLive.callId === data.id ? state.endedLive : null;
  const box = $('live-status');
  box.hidden = !data.live || Boolean(ended);
  if (!box.hidden) {
    const status = liveAudio.status();
    const muted = audio().muted || audio().volume === 0;
    if (box.dataset.state !== status) box.dataset.state = status;
    $('listen').hidden = status !== 'suspended';
    setText($('live-note-text'), {
      none: 'Live: moments appear as they happen (this browser cannot play the audio)',
      suspended: 'The browser holds the audio until you click',
      waiting: 'Live · waiting for audio…',
      listening: muted ? 'Listening live · muted' : 'Listening live',
    }[status]);
    const level = status === 'listening' ? liveAudio.readLevel() : 0;
    setStyle($('live-level-fill'), 'transform', `scaleX(${level.toFixed(3)})`);
    $('live-level').hidden = status !== 'listening' && status !== 'waiting';
  }
  const note = $('ended-note');
  note.hidden = !ended;
  if (ended) {
    const replay = !data.live && info && !info.live;
    const what = ended.reason === 'dropped' ? 'Call dropped' : 'Call ended';
    setText(note, `${what} · ${clock(ended.endS)} · ${replay ? 'now a replay' : 'saving the replay…'}`);
  }
}

function setupLiveAudio() {
  $('listen').addEventListener('click', () => {
    liveAudio.resume().catch((err) => notify('error', 'The browser would not play the call', err ? err.message : ''));
  });
  audio().addEventListener('volumechange', () => liveAudio.applyVolume());
  // For tests and the curious: the live audio clock.
  window.callcoach = Object.assign(window.callcoach || {}, {
    liveAudio: {
      contextTime: () => (liveAudio.ctx ? liveAudio.ctx.currentTime : 0),
      playedThroughS: () => liveAudio.playedThroughS(),
      newestS: () => state.data.get(state.currentId)?.audioEdgeS ?? 0,
      state: () => (liveAudio.ctx ? liveAudio.ctx.state : 'none'),
      resume: () => liveAudio.resume(),
      stats: () => ({ ...liveAudio.stats }),
      level: () => liveAudio.level, // 0..1, what the meter shows
    },
  });
  setInterval(tickLiveList, 250); // in step with the player's clock (whole seconds, but not a second late)
}

// ---------------------------------------------------------------------------------------------------
// What the page shows at an instant

/** The state of a call at instant `t`, from the events that exist by then. */
function derive(events, t) {
  const finals = [];
  const partial = {}; // speaker -> latest partial not yet replaced by a final
  const segments = new Map(); // speaker@start -> {speaker, start, end}
  const alerts = new Map(); // id -> latest revision
  const errors = [];
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
  return { lines, segments: [...segments.values()], alerts: [...alerts.values()], errors, ended };
}

const view = {
  key: '',
  dirty: true,
  state: null,
  words: [], // {el, start, end} of every word on the page
  lit: new Set(),
  announced: new Set(),

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

function frame() {
  requestAnimationFrame(frame);
  render();
}

function render() {
  if (!state.currentId) return;
  const data = state.data.get(state.currentId);
  if (!data) return;
  const all = showsAll();
  const t = viewTime();
  // The instant drawn as "now": a live call's newest audio, the end of what a replay without audio has.
  const shownT = data.live ? data.liveNowS : all ? data.edgeS : t;
  const key = `${data.version}:${all ? 'all' : upperBound(data.moments, t)}`;
  if (key !== view.key || view.dirty) {
    view.key = key;
    view.dirty = false;
    view.state = derive(data.events, t);
    renderTranscript(view.state, shownT);
    renderCards(view.state, shownT);
    renderErrors(view.state);
  }
  const player = audio();
  if (!all && !player.paused) reportPlayback(false);
  renderClock(shownT);
  renderReplayHint(shownT);
  renderLiveStatus(data, view.state);
  renderTimeline(view.state, shownT);
  renderOngoing(shownT);
  renderWords(shownT);
}

function renderClock(t) {
  const duration = callDuration();
  setText($('t-cur'), clock(Math.min(t, duration)));
  setText($('t-dur'), clock(duration));
}

// --- transcript ---

function renderTranscript(st, t) {
  const box = $('transcript');
  const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 48;
  const items = [];
  for (const line of st.lines) {
    items.push({ key: `${line.speaker}@${line.start_s}`, at: line.start_s, line });
  }
  for (const alert of st.alerts) {
    if (alert.kind === 'silence') items.push({ key: `gap:${alert.id}`, at: alert.start_s, alert });
  }
  items.sort((a, b) => a.at - b.at);
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

function updateGapLen(node, t) {
  const alert = node._alert;
  const len = alert.end_s == null ? Math.max(0, t - alert.start_s) : alert.end_s - alert.start_s;
  setText(node.querySelector('.gap-len'), alert.end_s == null
    ? `Silence since ${clock(alert.start_s)} · ${secs(len)} so far`
    : `${secs(len)} of silence · ${clock(alert.start_s)}`);
}

function renderWords(t) {
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

// --- alert cards ---

function renderCards(st, t) {
  const box = $('cards');
  const alerts = [...st.alerts].sort((a, b) => b.start_s - a.start_s || (a.id < b.id ? 1 : -1));
  const keep = new Set(alerts.map((a) => a.id));
  for (const card of [...box.children]) if (!keep.has(card.dataset.alertId)) card.remove();
  const existing = new Map([...box.children].map((card) => [card.dataset.alertId, card]));
  const fresh = [];
  alerts.forEach((alert, index) => {
    let card = existing.get(alert.id);
    if (!card) {
      card = h('article', {
        class: `card ${alert.polarity}`,
        'data-alert-id': alert.id,
        'data-kind': alert.kind,
        'data-polarity': alert.polarity,
        'data-detected-s': alert.detected_s,
        'data-shown-at-s': (Number.isFinite(t) ? t : 0).toFixed(3),
      });
      fresh.push(alert);
    }
    fillCard(card, alert, t);
    if (box.children[index] !== card) box.insertBefore(card, box.children[index] || null);
  });
  for (const alert of fresh) {
    const card = box.querySelector(`[data-alert-id="${CSS.escape(alert.id)}"]`);
    if (card && !view.announced.has(alert.id)) {
      card.classList.add('fresh');
      setTimeout(() => card.classList.remove('fresh'), 2400);
    }
    if (!view.announced.has(alert.id)) {
      view.announced.add(alert.id);
      announce(`${POLARITY[alert.polarity]?.label || 'Coach'} alert at ${clock(alert.detected_s)}: ${alert.title}.`);
    }
  }
  if (fresh.length && box.scrollHeight > box.clientHeight) box.scrollTop = 0;
  const coach = alerts.filter((a) => a.polarity === 'coach').length;
  const praise = alerts.filter((a) => a.polarity === 'praise').length;
  const counts = $('moment-counts');
  counts.replaceChildren(
    h('span', { class: 'count coach' }, icon('bulb'), `${coach} to coach`),
    h('span', { class: 'count praise' }, icon('star'), `${praise} to praise`),
  );
  const empty = $('cards-empty');
  empty.hidden = alerts.length > 0;
  setText(empty, st.ended ? 'Nothing to flag in this call: no long silences, no news left unacknowledged.'
    : 'Nothing yet. Moments appear here as the call plays.');
}

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

  const quotes = alert.quotes && alert.quotes.length
    ? alert.quotes
    : alert.quote ? [{ speaker: alert.speaker || 'mixed', text: alert.quote, start_s: alert.start_s, end_s: alert.end_s }] : [];
  const quoteNodes = [];
  quotes.forEach((quote, i) => {
    if (i > 0 && alert.pause_s != null && quotes[i - 1].speaker !== quote.speaker) {
      quoteNodes.push(h('div', { class: 'pause-note' }, h('span', { text: `${secs(alert.pause_s)} pause` })));
    }
    quoteNodes.push(h('figure', { class: `quote ${quote.speaker}` },
      h('figcaption', {},
        h('span', { class: 'who', text: SPEAKER_LABELS[quote.speaker] || quote.speaker }),
        h('button', {
          class: 'ts', type: 'button', 'aria-label': `Play the quote from ${clock(quote.start_s)}`,
          onclick: () => seek(quote.start_s, { play: true }),
        }, clock(quote.start_s))),
      h('blockquote', { text: `“${quote.text}”` })));
  });
  if (ongoing && alert.kind === 'silence') {
    quoteNodes.push(h('div', { class: 'pause-note live' }, h('span', {}, 'no reply yet')));
  }

  card.replaceChildren(...[
    h('header', { class: 'card-head' },
      h('span', { class: 'pill' }, icon(pol.icon), pol.label),
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
    quoteNodes.length ? h('div', { class: 'quotes' }, quoteNodes) : null,
    alert.suggestion ? h('section', { class: 'advice' }, h('h4', { text: pol.advice }), h('p', { text: alert.suggestion })) : null,
    alert.why ? h('section', { class: 'why' }, h('h4', { text: 'Why it matters' }), h('p', { text: alert.why })) : null,
  ].filter(Boolean));
  card._alert = alert;
  updateOngoing(card, t);
}

function updateOngoing(card, t) {
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

function renderOngoing(t) {
  for (const card of document.querySelectorAll('#cards .card.ongoing')) updateOngoing(card, t);
  for (const node of document.querySelectorAll('#transcript .gap-line.ongoing')) updateGapLen(node, t);
}

function renderErrors(st) {
  const box = $('call-banner');
  const info = currentInfo();
  if (info && info.status !== 'ready' && info.status !== 'live') return; // the call's own banner stands
  if (!st.errors.length) {
    if (box.dataset.from === 'events') box.hidden = true; // the playhead went back before the error
    return;
  }
  const last = st.errors[st.errors.length - 1];
  box.hidden = false;
  box.dataset.from = 'events';
  box.className = 'call-banner error';
  box.replaceChildren(icon('warn'), h('span', {}, h('strong', { text: `${last.fatal ? 'The call stopped' : 'A problem'} at ${clock(last.at_s || 0)}: ` }), last.message));
}

// --- timeline ---

const tl = {
  pieces: new Map(), // key -> element in #tl-layer
};

function pct(seconds, duration) {
  return `${Math.min(100, Math.max(0, (seconds / duration) * 100)).toFixed(3)}%`;
}

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

function renderTimeline(st, t) {
  const duration = callDuration();
  renderAxis(duration);
  const now = Math.min(t, duration);
  const want = new Map();
  if (st) {
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
      want.set(`mark:${alert.id}`, { cls: `tl-marker ${alert.polarity}`, start: alert.start_s, alert });
    }
  }
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
      if (piece.alert) {
        const alert = piece.alert;
        const pol = POLARITY[alert.polarity] || POLARITY.coach;
        node = h('button', {
          type: 'button', class: piece.cls, 'data-alert-id': alert.id,
          'aria-label': `${pol.label}: ${alert.title}. Jump to ${clock(alert.start_s)}`,
          title: `${pol.label} · ${clock(alert.start_s)} · ${alert.title}`,
          onclick: (ev) => { ev.stopPropagation(); replayMoment(alert); },
          onpointerdown: (ev) => ev.stopPropagation(),
        }, icon(pol.icon));
      } else {
        node = h('div', { class: piece.cls }, piece.label ? h('span', { class: 'tl-gap-label' }) : null);
      }
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

function setupTimeline() {
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

// ---------------------------------------------------------------------------------------------------
// Start

function start() {
  setupPlayer();
  setupLiveAudio();
  setupKeyboard();
  setupTimeline();
  $('back').addEventListener('click', () => { location.hash = ''; });
  window.addEventListener('hashchange', routeFromHash);
  routeFromHash();
  link.connect();
  requestAnimationFrame(frame);
  // A hidden tab gets no animation frames, but its audio plays on: keep the page (and the screen reader's
  // announcements) in step a few times a second.
  setInterval(() => { if (document.hidden) render(); }, 250);
}

start();
