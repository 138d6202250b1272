// callcoach: the coach's listening page, as native ES modules: no build step, no framework, no network
// beyond the callcoach server itself. This entry starts each part and routes the server's messages.
//
// The page keeps every event the server sent for a call (state.js) and draws the call at one instant
// (render.js): the player's position for a replay (player.js), everything received for a live call, whose
// audio plays through the Web Audio API (live-audio.js). Who is logged in (account.js) decides what a coach
// may do; listening sessions (session.js) put several coaches on one call, the lead's player driving
// everyone's; notes (notes.js) and pins (pins.js) come back in the call's events like alerts. Imports are
// relative, so the modules load from wherever the page serves this one.

import { notify } from './notices.js';
import { setKinds } from './format.js';
import { state, view, dataFor } from './state.js';
import { startSocket } from './socket.js';
import { reportPlayback, setupPlayer, setupKeyboard } from './player.js';
import { liveAudioMessage, setupLiveAudio } from './live-audio.js';
import { setupLiveStatus } from './live-status.js';
import { setupTimeline } from './timeline.js';
import { updateCalls, renderCallList, setupCallList } from './calls.js';
import { selectCall, followCallList, applyLiveMode, liveCallEnded, setupRouting } from './open-call.js';
import { startRendering } from './render.js';
import { setupAccount, setMe, checkLogin } from './account.js';
import {
  setupSession, renderSession, socketOpened, handlePresence, handlePlaybackSync, handleSessionError,
} from './session.js';
import { setupNotes } from './notes.js';

/** Every message from the server, to the part of the page it concerns. */
function handleMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      setKinds(msg.kinds);
      setMe(msg);
      return;
    case 'presence':
      handlePresence(msg);
      return;
    case 'playback_sync':
      handlePlaybackSync(msg);
      return;
    case 'calls':
      updateCalls(msg.calls || []);
      followCallList();
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
    case 'error':
      if (typeof msg.seq === 'number' && msg.call) break; // an event of a call: stored and shown in place
      if (handleSessionError(msg)) return;
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

function start() {
  setupAccount({ changed: renderSession });
  setupPlayer();
  setupLiveAudio();
  setupLiveStatus();
  setupKeyboard();
  setupTimeline();
  setupCallList({ select: selectCall });
  setupSession();
  setupNotes();
  setupRouting();
  startSocket(handleMessage, { open: socketOpened, close: checkLogin, audio: liveAudioMessage });
  startRendering();
}

start();
