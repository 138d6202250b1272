// Listening sessions: a lead opens one on the call, coaches join it (an invite link, `#call=ID&session=SID`),
// and everyone in it sees who is listening. In a replay the lead's player drives everyone's: the lead's
// page sends `session_playback` on play, pause, seek and speed changes and every few seconds while playing;
// the other pages follow each `playback_sync` (a seek when more than SYNC_TOLERANCE_S off, play or pause to
// match). Each page still reports its own player to the server (player.js), which keeps releasing its
// events. The server forgets a socket's sessions when it drops: the page joins again on reconnect.

import { $, h, setText } from './dom.js';
import { announce, notify } from './notices.js';
import { state, view, canLead, isLive, showsAll } from './state.js';
import { link } from './socket.js';
import { audio, seek } from './player.js';
import { initials } from './account.js';

const SYNC_TOLERANCE_S = 0.3; // a follower this close to the lead's position is left alone while playing
const SYNC_EVERY_MS = 5000; // the lead's position while playing, for drift
const SYNC_MIN_GAP_MS = 120; // a drag on the timeline is sent at most this often (and its last position)

export const session = {
  id: null, // the session this page is in
  callId: null,
  participants: [], // [{user, name, role, lead}]
  joining: null, // a session id asked for (join_session sent, no presence yet)
  rejoining: false, // joining again after a reconnect
  starting: null, // the call a start_session was sent for
  wanted: null, // {callId, sessionId} from the address, joined once that call is open
  lastSync: null, // the lead's player as last heard: {position_s, playing, by, at}
  needsGesture: false, // the browser would not start the player without a click
  rateSet: false, // this page set its player's speed to the lead's
  sentAt: 0,
  sendTimer: null,
  endedAt: -Infinity, // when the server said the session was gone
};

export function setupSession() {
  $('session-start').addEventListener('click', startSession);
  $('session-leave').addEventListener('click', () => leaveSession({ announceIt: true }));
  $('session-invite').addEventListener('click', copyInvite);
  const player = audio();
  for (const type of ['play', 'pause', 'seeking', 'seeked', 'ratechange', 'ended']) {
    player.addEventListener(type, () => { if (amLeadHere()) queueSync(); });
  }
  player.addEventListener('loadedmetadata', () => { if (following()) applySync(); });
  player.addEventListener('play', () => {
    if (!session.needsGesture) return;
    session.needsGesture = false; // the coach's click let the player start: catch up with the lead
    if (following()) applySync();
    renderSession();
  });
  setInterval(() => {
    const p = audio();
    if (amLeadHere() && !p.paused && !p.ended && performance.now() - session.sentAt >= SYNC_EVERY_MS - 50) sendSync();
  }, 500);
  renderSession();
}

/** Am I this session's lead (the participant marked lead is me)? */
export function amLead() {
  if (!session.id) return false;
  const lead = session.participants.find((p) => p.lead);
  return Boolean(lead && state.me && lead.user === state.me.user);
}

function leadOf() {
  return session.participants.find((p) => p.lead) || null;
}

/** The lead of a session on the open replay, whose player everyone follows. */
function amLeadHere() {
  return amLead() && !session.rejoining && session.callId === state.currentId && !isLive() && !showsAll()
    && !state.reviewAll;
}

/** A member (not the lead) of a session on the open replay. */
function following() {
  return Boolean(session.id) && !amLead() && session.callId === state.currentId && !isLive() && !state.audioFailed;
}

// ---------- starting, joining, leaving ----------

function startSession() {
  const callId = state.currentId;
  if (!callId || session.id || session.starting) return;
  if (link.send({ type: 'start_session', call_id: callId })) {
    session.starting = callId;
  } else {
    notify('error', 'Not connected', 'The listening session can start once the page is connected again.');
  }
  renderSession();
}

/** The address named a session (an invite link): join it once its call is open. */
export function wantSession(callId, sessionId) {
  if (session.id === sessionId || session.joining === sessionId) return;
  session.wanted = { callId, sessionId };
  joinWanted();
}

function joinWanted() {
  const wanted = session.wanted;
  if (!wanted || state.currentId !== wanted.callId) return;
  if (session.id && session.id !== wanted.sessionId) leaveSession({ keepAddress: true });
  session.wanted = null;
  session.joining = wanted.sessionId;
  session.callId = wanted.callId;
  link.send({ type: 'join_session', session_id: wanted.sessionId }); // else sent when the socket opens
  renderSession();
}

/** The open call changed (open-call.js): join the session the address asked for. */
export function callOpened() {
  joinWanted();
  renderSession();
}

/** The coach left the call: they leave its session too. */
export function callLeft() {
  if (session.id || session.joining) leaveSession({ keepAddress: true });
  session.starting = null;
  renderSession();
}

/** Leave: the server is told, the page is on its own again, the address loses the session. */
export function leaveSession({ announceIt = false, keepAddress = false } = {}) {
  const id = session.id || session.joining;
  if (id) link.send({ type: 'leave_session', session_id: id });
  const callId = session.callId;
  endSession();
  if (!keepAddress && callId && callId === state.currentId) setAddress(callId, null);
  if (announceIt) announce('You left the listening session. Your player is your own again.');
}

/** Out of session mode (the speed the coach chose comes back if the lead's had replaced it). */
function endSession() {
  session.id = null;
  session.callId = null;
  session.participants = [];
  session.joining = null;
  session.rejoining = false;
  session.starting = null;
  session.lastSync = null;
  session.needsGesture = false;
  clearTimeout(session.sendTimer);
  if (session.rateSet) {
    const player = audio();
    player.playbackRate = Number($('speed').value) || 1;
    session.rateSet = false;
  }
  view.dirty = true;
  renderSession();
}

function setAddress(callId, sessionId) {
  const hash = `#call=${encodeURIComponent(callId)}${sessionId ? `&session=${encodeURIComponent(sessionId)}` : ''}`;
  if (location.hash !== hash) history.replaceState(history.state, '', hash);
}

/** The socket (re)opened: the server forgot this page's session with the old socket. */
export function socketOpened() {
  if (session.id) {
    session.joining = session.id;
    session.rejoining = true;
    link.send({ type: 'join_session', session_id: session.id });
  } else if (session.joining) {
    link.send({ type: 'join_session', session_id: session.joining });
  } else {
    joinWanted();
  }
  session.starting = null;
  renderSession();
}

// ---------- server messages ----------

/** Who is in the session now: sent when it starts, and to everyone whenever someone joins or leaves. */
export function handlePresence(msg) {
  const mine = msg.session_id === session.id || msg.session_id === session.joining
    || (session.starting && msg.call_id === session.starting && !session.id);
  if (!mine) return;
  if (msg.call_id !== state.currentId) {
    // The coach moved on before the answer came.
    link.send({ type: 'leave_session', session_id: msg.session_id });
    return;
  }
  const first = session.id !== msg.session_id;
  const started = Boolean(session.starting);
  const rejoined = session.rejoining;
  const before = new Map(session.participants.map((p) => [p.user, p]));
  session.id = msg.session_id;
  session.callId = msg.call_id;
  session.joining = null;
  session.rejoining = false;
  session.starting = null;
  session.participants = Array.isArray(msg.participants) ? msg.participants : [];
  const now = new Set(session.participants.map((p) => p.user));
  const me = state.me ? state.me.user : null;
  if (first) {
    setAddress(msg.call_id, msg.session_id);
    if (session.lastSync && following()) applySync();
    const lead = leadOf();
    announce(started ? 'Listening session started. Copy the invite link for your coaches.'
      : `You joined ${lead && lead.user !== me ? `${lead.name}'s` : 'the'} listening session.`);
  } else if (!rejoined) {
    const joined = session.participants.filter((p) => !before.has(p.user) && p.user !== me).map((p) => p.name);
    const left = [...before.values()].filter((p) => !now.has(p.user) && p.user !== me).map((p) => p.name);
    if (joined.length) announce(`${joined.join(', ')} joined the listening session.`);
    if (left.length) announce(`${left.join(', ')} left the listening session.`);
  }
  // Someone new: the lead's position, so that they start where everyone is.
  if (amLeadHere() && session.participants.some((p) => !before.has(p.user) && p.user !== me)) sendSync();
  renderSession();
}

/** The lead's player: follow it. */
export function handlePlaybackSync(msg) {
  // A joiner may hear where the lead stands before its presence arrives: kept, and followed once in.
  if (msg.session_id !== (session.id || session.joining) || amLead()) return;
  const at = performance.now();
  session.lastSync = {
    position_s: Number(msg.position_s) || 0, playing: Boolean(msg.playing), by: msg.by, at,
    rate: Number(msg.rate) > 0 ? Number(msg.rate) : 1,
  };
  if (following()) {
    matchRate(session.lastSync);
    applySync();
  }
  renderSession();
}

/** A refusal about sessions: true if handled here (else main.js shows it as a notice). */
export function handleSessionError(msg) {
  const wasStarting = session.starting;
  if (wasStarting) {
    session.starting = null;
    renderSession();
  }
  if (msg.code === 'unknown_session' && !session.id && !session.joining
    && performance.now() - session.endedAt < 5000) {
    return true; // a message sent before the news arrived: said once already
  }
  if (msg.code === 'unknown_session' && (session.id || session.joining)) {
    const wasIn = Boolean(session.id);
    const callId = session.callId;
    endSession();
    session.endedAt = performance.now();
    if (callId && callId === state.currentId) setAddress(callId, null);
    notify('info', wasIn ? 'The listening session has ended' : 'That listening session has ended',
      'Everyone left it (or the server restarted). You are listening on your own now; a lead can start a new one.');
    announce('The listening session has ended.');
    return true;
  }
  if (msg.code === 'forbidden_call' && session.joining && !session.id) {
    const callId = session.callId;
    endSession();
    if (callId && callId === state.currentId) setAddress(callId, null);
    notify('error', 'You cannot join that listening session', msg.message || '');
    return true;
  }
  return false;
}

// ---------- the lead's player ----------

function queueSync() {
  const wait = SYNC_MIN_GAP_MS - (performance.now() - session.sentAt);
  clearTimeout(session.sendTimer);
  if (wait <= 0) sendSync();
  else session.sendTimer = setTimeout(sendSync, wait);
}

function sendSync() {
  clearTimeout(session.sendTimer);
  if (!amLeadHere()) return;
  const player = audio();
  const sent = link.send({
    type: 'session_playback',
    session_id: session.id,
    position_s: Math.round((player.currentTime || 0) * 1000) / 1000,
    playing: !player.paused && !player.ended,
    rate: player.playbackRate || 1,
  });
  if (sent) session.sentAt = performance.now();
}

// ---------- following the lead ----------

/** Where the lead's player is now, from their last report. */
function leadPositionS(sync) {
  if (!sync.playing) return sync.position_s;
  return sync.position_s + ((performance.now() - sync.at) / 1000) * sync.rate;
}

function applySync() {
  const sync = session.lastSync;
  if (!sync || !following()) return;
  const player = audio();
  if (!player.getAttribute('src')) return;
  const target = leadPositionS(sync);
  const off = Math.abs((player.currentTime || 0) - target);
  // Playing, small differences are left alone (a seek is heard); paused, everyone stands on the same spot.
  if (off > SYNC_TOLERANCE_S || (!sync.playing && off > 0.001)) seek(target);
  if (sync.playing && (player.paused || player.ended)) {
    const promise = player.play();
    if (promise) {
      promise.then(() => {
        session.needsGesture = false;
        renderSession();
      }, (err) => {
        if (err && err.name === 'NotAllowedError') {
          session.needsGesture = true; // the browser wants a click first: the play button follows
          renderSession();
        }
      });
    }
  } else if (!sync.playing && !player.paused) {
    player.pause();
  }
}

/** The lead's speed is everyone's (the coach's own choice comes back when the session ends). */
function matchRate(sync) {
  const player = audio();
  if (Math.abs(player.playbackRate - sync.rate) > 0.001) {
    player.playbackRate = sync.rate;
    session.rateSet = sync.rate !== (Number($('speed').value) || 1);
  }
}

// ---------- the invite ----------

export function inviteLink() {
  if (!session.id || !session.callId) return '';
  return `${location.origin}/#call=${encodeURIComponent(session.callId)}&session=${encodeURIComponent(session.id)}`;
}

async function copyInvite() {
  const url = inviteLink();
  if (!url) return;
  let copied = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(url);
      copied = true;
    }
  } catch {
    copied = false;
  }
  if (!copied) copied = copyWithSelection(url);
  const button = $('session-invite');
  if (copied) {
    setText(button.querySelector('.btn-text'), 'Link copied');
    button.classList.add('done');
    announce('Invite link copied. Paste it to your coaches: it opens this call and joins the session.');
    clearTimeout(button._reset);
    button._reset = setTimeout(() => {
      setText(button.querySelector('.btn-text'), 'Copy invite link');
      button.classList.remove('done');
    }, 2200);
  } else {
    notify('info', 'Copy this invite link', url, { timeout: 30000 });
  }
}

/** The clipboard API needs a secure page: a selected text field copied the old way works elsewhere. */
function copyWithSelection(text) {
  const field = h('textarea', { class: 'sr-only', readonly: true, 'aria-hidden': 'true' });
  field.value = text;
  document.body.append(field);
  field.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  field.remove();
  $('session-invite').focus();
  return ok;
}

// ---------- the session bar ----------

/** The session bar: start (leads), who is listening, following the lead, invite and leave. */
export function renderSession() {
  const open = Boolean(state.currentId);
  const inSession = Boolean(session.id) && session.callId === state.currentId;
  const joining = !inSession && Boolean(session.joining) && session.callId === state.currentId;
  const start = $('session-start');
  start.hidden = !open || !canLead() || inSession || joining;
  start.disabled = Boolean(session.starting);
  start.setAttribute('aria-busy', session.starting ? 'true' : 'false');
  setText(start.querySelector('.btn-text'), session.starting ? 'Starting…' : 'Start listening session');
  $('session-live').hidden = !(inSession || joining);
  $('session-invite').hidden = !inSession;
  $('session-invite').dataset.link = inviteLink();
  $('session-leave').hidden = !(inSession || joining);
  $('call').classList.toggle('in-session', inSession);
  setText($('session-tag-text'), joining ? 'Joining the listening session…'
    : session.rejoining ? 'Reconnecting to the session…' : 'Listening session');
  renderPresence(inSession);
  renderFollowing(inSession);
}

function renderPresence(inSession) {
  const list = $('presence');
  const people = inSession ? session.participants : [];
  const me = state.me ? state.me.user : null;
  const sig = JSON.stringify([people, me]);
  if (list.dataset.sig === sig) return;
  list.dataset.sig = sig;
  list.setAttribute('aria-label', `Listening now: ${people.length} ${people.length === 1 ? 'person' : 'people'}`);
  // The lead first, then in the order they came; each person keeps their element (no flicker on changes).
  const ordered = [...people].sort((x, y) => Number(Boolean(y.lead)) - Number(Boolean(x.lead)));
  const keep = new Set(ordered.map((p) => p.user));
  for (const li of [...list.children]) if (!keep.has(li.dataset.user)) li.remove();
  ordered.forEach((p, index) => {
    const name = p.user === me ? `${p.name} (you)` : p.name;
    const itemSig = `${name}|${Boolean(p.lead)}`;
    let li = list.querySelector(`:scope > li[data-user="${CSS.escape(p.user)}"]`);
    if (li && li.dataset.sig !== itemSig) {
      li.remove();
      li = null;
    }
    if (!li) {
      li = h('li', {
        class: `person${p.lead ? ' lead' : ''}${p.user === me ? ' me' : ''}`,
        'data-user': p.user,
        'data-lead': String(Boolean(p.lead)),
        'data-sig': itemSig,
        title: `${p.name}${p.lead ? ', leading the session' : ''}${p.user === me ? ' (you)' : ''}`,
      },
      h('span', { class: 'avatar', 'aria-hidden': 'true', text: initials(p.name) }),
      h('span', { class: 'person-name', text: name }),
      p.lead ? h('span', { class: 'lead-tag', text: 'Lead' }) : null);
    }
    if (list.children[index] !== li) list.insertBefore(li, list.children[index] || null);
  });
}

function firstName(name) {
  return String(name || 'the lead').trim().split(/\s+/)[0];
}

function renderFollowing(inSession) {
  const box = $('following');
  let text = '';
  let kind = 'following';
  if (inSession && !amLead() && !isLive()) {
    const lead = leadOf();
    const byName = lead ? lead.name
      : session.participants.find((p) => session.lastSync && p.user === session.lastSync.by)?.name;
    if (!lead) {
      text = 'The lead has left: your player is your own';
      kind = 'alone';
    } else if (session.needsGesture) {
      text = `${firstName(byName)} is playing: press play to follow`;
      kind = 'gesture';
    } else {
      text = `Following ${firstName(byName)}'s playback`;
    }
  } else if (inSession && amLead() && !isLive() && session.participants.length > 1) {
    text = 'Everyone follows your playback';
    kind = 'leading';
  }
  box.hidden = !text;
  box.dataset.kind = kind;
  setText(box.querySelector('.following-text'), text);
}
