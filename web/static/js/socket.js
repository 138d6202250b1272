// The websocket to the server: reconnects with backoff and picks up where it left off (after_seq = the last
// seq received), subscribing again to the open call. Messages go to the handler main.js gives it, a live
// call's audio (binary messages, as ArrayBuffers) to its `audio` handler; `onOpen`
// runs on every (re)connection once the call is subscribed again (the listening session rejoins there), and
// `onClose` whenever the socket closes, opened or not (a socket refused for want of a login never opens).

import { $, setText } from './dom.js';
import { notify } from './notices.js';
import { state, dataFor } from './state.js';

const PROTOCOL_VERSION = 1;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

let onMessage = () => {};
let onOpen = () => {};
let onClose = () => {};
let onAudio = () => {};

/** Connect, and hand every message from the server to `handler` (main.js routes them), audio to `audio`. */
export function startSocket(handler, { open = () => {}, close = () => {}, audio = () => {} } = {}) {
  onMessage = handler;
  onOpen = open;
  onClose = close;
  onAudio = audio;
  link.connect();
}

export const link = {
  ws: null,
  attempt: 0,
  timer: null,

  connect() {
    clearTimeout(this.timer);
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    ws.binaryType = 'arraybuffer'; // live audio is read with a DataView, at once: no Blob to wait for
    this.ws = ws;
    setConnection('connecting', this.attempt ? 'Reconnecting…' : 'Connecting…');
    ws.addEventListener('open', () => {
      this.attempt = 0;
      setConnection('open', 'Connected');
      if (state.currentId) subscribe(state.currentId);
      onOpen();
    });
    ws.addEventListener('message', (msg) => {
      if (msg.data instanceof ArrayBuffer) {
        onAudio(msg.data);
        return;
      }
      let data;
      try {
        data = JSON.parse(msg.data);
      } catch {
        notify('error', 'Unreadable message from the server', String(msg.data).slice(0, 120));
        return;
      }
      onMessage(data);
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      state.subscribed = null;
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] * (0.8 + Math.random() * 0.4);
      this.attempt += 1;
      setConnection('closed', `Offline, retrying in ${Math.max(1, Math.round(delay / 1000))} s`);
      this.timer = setTimeout(() => this.connect(), delay);
      onClose();
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

/** Follow a call: the server sends the events after the last one this page has, so a reconnect repeats none. */
export function subscribe(callId) {
  const data = dataFor(callId);
  state.subscribed = null; // playback is reported once the server confirms (a refused call gets none)
  link.send({ type: 'subscribe', call_id: callId, after_seq: data.lastSeq });
}
