// The replay's <audio> player: play, pause, seek, speed, volume and the keyboard, the playback reports
// the server follows, and the instant and length the rest of the page draws a call at. A live call has no
// player (live-audio.js plays it); its volume and mute still come from here.

import { $, setText } from './dom.js';
import { clock } from './format.js';
import { notify } from './notices.js';
import { state, view, currentInfo, isLive, showsAll } from './state.js';
import { link } from './socket.js';

const SEEK_STEP_S = 5;
const REPORT_EVERY_MS = 250; // playback reports while playing (~4 a second)

export const audio = () => $('audio');

/** The instant the page shows: the playhead, or every event (Infinity) when all of the call is shown. */
export function viewTime() {
  if (showsAll() || state.reviewAll) return Infinity;
  return audio().currentTime || 0;
}

/** A live call's timeline spans the call so far, with room ahead, growing in steps (not every frame). */
function liveSpanS(now) {
  const step = now < 120 ? 10 : now < 600 ? 30 : 60;
  return Math.max(30, Math.ceil((now * 1.1 + 2) / step) * step);
}

/** The length the clock and the timeline show: the recording's, or a live call's span so far. */
export function callDuration() {
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
/** The server releases a replay's events as the player reaches them: tell it where the player is. */
export function reportPlayback(force) {
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

/** Move a replay's playhead, within the recording, and tell the server at once; the view follows. */
export function seek(seconds, { play = false } = {}) {
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
export function replayMoment(alert, { play = false } = {}) {
  seek(alert.start_s, { play });
  // The card comes back with the alert's first revision.
  const data = state.data.get(state.currentId);
  const returnsAt = Math.min(...(data?.events || [])
    .filter((e) => e.type === 'alert' && e.id === alert.id)
    .map((e) => e.detected_s), alert.detected_s);
  state.replaying = returnsAt > alert.start_s ? { alert, returnsAt } : null;
}

/** The note in the player while the card the coach jumped back from is away (until its alert is detected again). */
export function renderReplayHint(t) {
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

export function setupPlayer() {
  const player = audio();
  followPlayer(player);
  $('play').addEventListener('click', togglePlay);
  setupVolume(player);
  setupSpeed(player);
  renderPlayState();
}

/** Whatever the player does is reported to the server and shown on the play button. */
function followPlayer(player) {
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
}

/** Volume and mute, kept across visits (live audio follows them too: see live-audio.js). */
function setupVolume(player) {
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
}

/** Playback speed, kept across visits; applied again to each recording the player loads. */
function setupSpeed(player) {
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

/** Space plays or pauses, the arrows move 5 s, unless the coach is typing (or on a slider, for the arrows). */
export function setupKeyboard() {
  let spaceHandled = false;
  document.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (!state.currentId || showsAll() || isTyping(ev.target)) return;
    if (ev.target instanceof Element && ev.target.closest('form')) return; // a form's own keys (the note's)
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

/** The coach is typing in a field: the page's single-key shortcuts stay out of the way. */
export function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !['range', 'checkbox', 'radio', 'button', 'submit', 'reset'].includes(target.type);
  }
  return false;
}
