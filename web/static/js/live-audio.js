// Listening live: a live call's audio (binary websocket messages, one per 0.1 s step with every speaker in
// it, 16-bit PCM at the platform's rate: docs/protocol.md, "Live audio") played through the Web Audio API
// a short jitter buffer behind the newest step. The call's "now" is the newest audio time received.
// `window.callcoach.liveAudio` exposes the clock for tests.

import { state } from './state.js';
import { audio } from './player.js';

// Live audio: each frame plays at (its start_s + a fixed offset) on the AudioContext's clock, the offset
// chosen so that the newest frame sits LIVE_JITTER_S ahead of the playhead. A frame that arrives too late
// for its place, or a schedule that runs too far ahead (a burst after the page stalled), resyncs.
const LIVE_RATE = 8000; // the telephone rate most calls come at; a call at another rate gets its own context
const LIVE_JITTER_S = 0.3;
const LIVE_LATE_S = 0.02; // a step due sooner than this is late: re-buffer from it
const LIVE_MAX_LEAD_S = 1.2; // scheduled further ahead than jitter + this: jump to the newest audio
const LIVE_QUIET_MS = 1500; // no frame for this long: "Waiting for audio…"
// The customer a little to the left and the agent a little to the right, as on the page (the transcript
// puts them on those sides): easy to tell apart on headphones, and both still heard in one ear.
const LIVE_PAN = { customer: -0.35, agent: 0.35, mixed: 0 };

// The binary message's layout (live/audio_wire.py has the same table): a 16-byte head, a speaker code per
// channel, the call id, a zero byte if that ends on an odd byte, then each channel's samples in turn.
const AUDIO_VERSION = 1;
const PCM16 = 1;
const AUDIO_HEAD_BYTES = 16;
const SPEAKER_CODES = ['agent', 'customer', 'mixed'];
const utf8 = new TextDecoder();

/**
 * A live audio message (an ArrayBuffer) → {callId, startS, sampleRate, length, channels: [{speaker,
 * samples}]}, samples in [-1, 1); null for a version or encoding this page does not know, or a malformed one.
 */
export function decodeAudio(buffer) {
  if (buffer.byteLength < AUDIO_HEAD_BYTES) return null;
  const view = new DataView(buffer);
  const count = view.getUint8(2);
  const idLength = view.getUint8(3);
  if (view.getUint8(0) !== AUDIO_VERSION || view.getUint8(1) !== PCM16 || !count || !idLength) return null;
  const idAt = AUDIO_HEAD_BYTES + count;
  const samplesAt = idAt + idLength + ((idAt + idLength) % 2);
  const bytes = buffer.byteLength - samplesAt;
  if (bytes < 0 || bytes % (2 * count)) return null;
  const length = bytes / 2 / count;
  const channels = [];
  for (let c = 0; c < count; c += 1) {
    const samples = new Float32Array(length);
    const at = samplesAt + 2 * length * c; // planar: channel c's samples follow channel c - 1's
    for (let i = 0; i < length; i += 1) samples[i] = view.getInt16(at + 2 * i, true) / 32768;
    channels.push({ speaker: SPEAKER_CODES[view.getUint8(AUDIO_HEAD_BYTES + c)] ?? 'mixed', samples });
  }
  return {
    callId: utf8.decode(new Uint8Array(buffer, idAt, idLength)),
    startS: view.getFloat64(8, true),
    sampleRate: view.getUint32(4, true),
    length,
    channels,
  };
}

/**
 * One AudioContext for the page (made when a live call is first opened, at the rate its audio comes at),
 * and one session per live call listened to. Each step's speakers become an AudioBufferSourceNode each,
 * started at `startS + offset` on the context's clock, so consecutive steps join sample to sample and a
 * skipped step leaves silence in its place.
 * Graph: source → speaker's StereoPannerNode → session bus → analyser (the level meter) → master gain
 * (volume, mute) → speakers.
 */
export const liveAudio = {
  ctx: null,
  ctxRate: null, // the rate the context was asked for (a browser that refuses it makes its own)
  master: null,
  analyser: null,
  levelBuf: null,
  level: 0,
  session: null, // {callId, bus, panners, offset, sources, scheduledEndS, playedS}
  lastFrameAt: 0, // performance.now() of the newest step
  // frames: steps received; scheduled: buffers started (one per speaker per step); late and resyncs: re-buffers.
  stats: { frames: 0, scheduled: 0, late: 0, resyncs: 0 },

  ensureContext(rate = LIVE_RATE) {
    if (this.ctx) return this.ctx;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    let ctx;
    try {
      // At the audio's own rate no buffer is resampled on its own (no clicks where steps join); the
      // browser converts the one mixed stream to the sound card's rate.
      ctx = new Ctx({ sampleRate: rate, latencyHint: 'interactive' });
    } catch {
      ctx = new Ctx({ latencyHint: 'interactive' });
    }
    this.ctx = ctx;
    this.ctxRate = rate;
    this.master = ctx.createGain();
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.levelBuf = new Float32Array(this.analyser.fftSize);
    this.analyser.connect(this.master);
    this.master.connect(ctx.destination);
    ctx.addEventListener('statechange', () => {
      // Re-buffer on resume; a context replaced by one at another rate no longer counts.
      if (ctx === this.ctx && ctx.state !== 'running' && this.session) this.session.offset = null;
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
      callId, bus, panners: new Map(), offset: null, sources: new Set(), scheduledEndS: 0, playedS: 0,
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

  /** A decoded step of the call (`decodeAudio`): every speaker's buffer scheduled at its place. */
  frame(step) {
    const s = this.session;
    if (!s || step.callId !== s.callId) return;
    this.lastFrameAt = performance.now();
    this.stats.frames += 1;
    if (step.sampleRate !== this.ctxRate) this.useRate(step.sampleRate);
    const ctx = this.ctx;
    if (ctx.state !== 'running' || !step.length) return;
    const now = ctx.currentTime;
    // Still on schedule? Every speaker of the step is here at once, so the step is placed as one.
    const at = s.offset === null ? null : step.startS + s.offset;
    if (at === null || at < now + LIVE_LATE_S || at > now + LIVE_JITTER_S + LIVE_MAX_LEAD_S) {
      if (at !== null) this.stats[at < now + LIVE_LATE_S ? 'late' : 'resyncs'] += 1;
      this.resync(step.startS);
    }
    const when = step.startS + s.offset;
    const duration = step.length / step.sampleRate;
    for (const { speaker, samples } of step.channels) {
      const buffer = ctx.createBuffer(1, step.length, step.sampleRate);
      buffer.copyToChannel(samples, 0);
      const src = ctx.createBufferSource();
      src.buffer = buffer;
      src.connect(this.panner(speaker));
      src.startsAt = when;
      src.endsAt = when + duration;
      src.start(when);
      s.sources.add(src);
      src.addEventListener('ended', () => s.sources.delete(src));
      this.stats.scheduled += 1;
    }
    s.scheduledEndS = Math.max(s.scheduledEndS, step.startS + duration);
  },

  /**
   * The call's audio comes at another rate than the context's: a new context at that rate (one that
   * resampled each buffer on its own would click where buffers join). The page has been clicked on by now,
   * so the browser lets the new one play; if not, the page offers "Click to listen" as at the start.
   */
  useRate(rate) {
    const s = this.session;
    const old = this.ctx;
    for (const src of s.sources) src.stop();
    s.sources.clear();
    this.ctx = null;
    old.close().catch(() => {});
    const ctx = this.ensureContext(rate);
    s.bus = ctx.createGain();
    s.bus.connect(this.analyser);
    s.panners = new Map();
    s.offset = null;
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
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

/** A live audio message: it moves the call's "now" (even where the browser cannot play it), then plays. */
export function liveAudioMessage(buffer) {
  const step = decodeAudio(buffer);
  if (!step) return; // a later version's audio: the call is still shown as it happens
  const data = state.data.get(step.callId);
  if (!data || step.callId !== state.currentId || !data.live) return;
  const end = step.startS + step.length / step.sampleRate;
  if (end > data.audioEdgeS) data.audioEdgeS = end;
  liveAudio.frame(step);
}

/** Live audio follows the player's volume and mute; `window.callcoach.liveAudio` is its clock. */
export function setupLiveAudio() {
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
      sampleRate: () => (liveAudio.ctx ? liveAudio.ctx.sampleRate : 0),
      level: () => liveAudio.level, // 0..1, what the meter shows
    },
  });
}
