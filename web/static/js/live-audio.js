// Listening live: a live call's audio frames (`frame` messages, 0.1 s of 16-bit PCM per speaker) played
// through the Web Audio API a short jitter buffer behind the newest frame. The call's "now" is the newest
// audio time received. `window.callcoach.liveAudio` exposes the clock for tests.

import { state } from './state.js';
import { audio } from './player.js';

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
export const liveAudio = {
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

/** A live frame: it moves the call's "now" (even where the browser cannot play it), then plays. */
export function liveFrame(msg) {
  const data = state.data.get(msg.call);
  if (!data || msg.call !== state.currentId || !data.live) return;
  const b64 = msg.pcm_b64 || '';
  const bytes = (b64.length * 3) / 4 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
  const end = msg.start_s + bytes / 2 / msg.sample_rate;
  if (end > data.audioEdgeS) data.audioEdgeS = end;
  liveAudio.frame(msg);
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
      level: () => liveAudio.level, // 0..1, what the meter shows
    },
  });
}
