// The open call: opening and leaving it (the address holds it, #call=ID, and #call=ID&session=SID for a
// listening session's invite), switching it between live and replay, and its head: title, details, status
// chip, the links to its sheet and its downloads, and the banner for a failed or unfinished analysis or an
// error in its events.

import { $, h, icon, setText } from './dom.js';
import { clock, displayTitle, formatDate, SOURCE_LABELS } from './format.js';
import { notify, announce } from './notices.js';
import { state, view, dataFor, currentInfo, isLive } from './state.js';
import { link, subscribe } from './socket.js';
import { audio } from './player.js';
import { liveAudio } from './live-audio.js';
import { renderCallList } from './calls.js';
import { session, wantSession, callOpened, callLeft, renderSession } from './session.js';
import { closeNoteForm } from './notes.js';

/** The coach picked a call: the address follows (so Back works), or it opens again if the address has it. */
export function selectCall(callId) {
  if (state.currentId === callId) return; // already open (in its listening session, if any)
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
  callOpened();
  document.title = `${displayTitle(info)} · callcoach`;
  // Focus moves to the call (screen readers announce it; the list item loses its focus ring).
  $('call-title').focus({ preventScroll: true });
}

/** Stop following the call: the server stops sending it, its audio stops. */
function leaveCall() {
  const callId = state.currentId;
  if (!callId) return;
  callLeft();
  closeNoteForm({ restoreFocus: false });
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
  renderSession(); // the session bar goes with the call
}

/** Back to the list (on a phone, the list replaces the call). */
function closeCall() {
  leaveCall();
  view.reset();
  $('layout').dataset.view = 'list';
  $('call').hidden = true;
  $('empty-state').hidden = false;
  document.title = 'callcoach';
  renderCallList();
}

/** The address says which call is open: the back button and the browser's history move through it. */
export function setupRouting() {
  $('back').addEventListener('click', () => { location.hash = ''; });
  window.addEventListener('hashchange', routeFromHash);
  routeFromHash();
}

/** `#call=ID`, or `#call=ID&session=SID` (an invite: open the call and join its listening session). */
function parseAddress(hash) {
  const match = /^#call=([^&]+)(?:&session=([^&]+))?$/.exec(hash);
  if (!match) return { callId: null, sessionId: null };
  const decode = (part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  return { callId: decode(match[1]), sessionId: match[2] ? decode(match[2]) : null };
}

function routeFromHash() {
  const { callId, sessionId } = parseAddress(location.hash);
  if (callId && sessionId) wantSession(callId, sessionId);
  if (callId) {
    if (state.calls.size) openCall(callId);
    else state.wantedId = callId;
  } else if (state.currentId) {
    closeCall();
  }
}

/** The list changed: open the call the address asked for, close one that left it, or follow the open one. */
export function followCallList() {
  if (state.wantedId && state.calls.has(state.wantedId)) {
    const wanted = state.wantedId;
    state.wantedId = null;
    openCall(wanted);
  } else if (state.wantedId) {
    notify('info', 'There is no such call', `"${state.wantedId}" is not in the list: pick a call from it.`);
    state.wantedId = null;
    session.wanted = null;
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

/**
 * A live call has no <audio> player: its own audio plays through `liveAudio` (volume and mute stay), and
 * everything received is shown as it arrives. A replay gets the recording's player.
 */
export function applyLiveMode() {
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
export function liveCallEnded(data, ended) {
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

/** The call's title, details and status chip. */
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
  sheetLink(info.call_id);
  downloadMenu(info.call_id);
  const chip = $('call-status');
  const labels = { analysing: 'Analysing…', ready: 'Ready', live: 'Live', error: 'Error', dropped: 'Cut off' };
  chip.className = `chip ${info.status}`;
  setText(chip, labels[info.status] || info.status);
  renderCallBanner(info);
}

/** The call's coaching sheet (/sheet/ID), a link among the call's actions. */
function sheetLink(callId) {
  let anchor = $('sheet-link');
  if (!anchor) {
    anchor = h('a', { class: 'btn', id: 'sheet-link', 'data-testid': 'sheet-link', title: 'The coaching sheet of this call, to print or share' },
      icon('note'), h('span', { class: 'btn-text', text: 'Coaching sheet' }));
    $('call-actions').prepend(anchor);
  }
  const href = `/sheet/${encodeURIComponent(callId)}`;
  if (anchor.getAttribute('href') !== href) anchor.setAttribute('href', href);
}

// The call's transcript, moments and coaching sheet as files (GET /api/calls/ID/export.FORMAT), which the
// server sends as attachments named after the call; the sheet's PDF is drawn by the server, the same for
// every browser (an agent gets it, as the moments, once they have given their own view).
const DOWNLOADS = [['vtt', 'Subtitles (WebVTT)'], ['srt', 'Subtitles (SRT)'], ['txt', 'Transcript (text)'], ['csv', 'Moments (CSV)'],
  ['pdf', 'Coaching sheet (PDF)']];

/** A small "Download" menu among the call's actions, after the sheet's link. */
function downloadMenu(callId) {
  let menu = $('download-menu');
  if (!menu) {
    const items = DOWNLOADS.map(([format, label]) => h('li', {},
      h('a', { 'data-format': format, 'data-testid': `download-${format}`, download: true, text: label })));
    menu = h('details', { class: 'download-menu', id: 'download-menu', 'data-testid': 'download-menu' },
      h('summary', { class: 'btn', title: "The call's transcript, moments or coaching sheet, as a file" }, h('span', { class: 'btn-text', text: 'Download' })),
      h('ul', { class: 'download-list' }, items));
    $('sheet-link').after(menu);
  }
  for (const anchor of menu.querySelectorAll('a[data-format]')) {
    const href = `/api/calls/${encodeURIComponent(callId)}/export.${anchor.dataset.format}`;
    if (anchor.getAttribute('href') !== href) anchor.setAttribute('href', href);
  }
}

/** A failed or unfinished analysis has a banner of its own; else the banner is for errors among the events. */
function renderCallBanner(info) {
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

/** The last error among the call's events up to the instant, unless the call's own banner stands. */
export function renderErrors(st) {
  const box = $('call-banner');
  const info = currentInfo();
  // A cut-off call is a replay like any other: the error that ends it shows when playback gets there.
  if (info && !['ready', 'live', 'dropped'].includes(info.status)) return; // the call's own banner stands
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
