// callcoach: the coach's listening page, as native ES modules: no build step, no framework, no network
// beyond the callcoach server itself. This entry starts each part and routes the server's messages.
//
// The page keeps every event the server sent for a call (state.js) and draws the call at one instant
// (render.js): the player's position for a replay (player.js), everything received for a live call, whose
// audio plays through the Web Audio API (live-audio.js). Imports are relative, so the modules load from
// wherever the page serves this one.

import { notify } from './notices.js';
import { state, view, dataFor } from './state.js';
import { startSocket } from './socket.js';
import { reportPlayback, setupPlayer, setupKeyboard } from './player.js';
import { liveFrame, setupLiveAudio } from './live-audio.js';
import { setupLiveStatus } from './live-status.js';
import { setupTimeline } from './timeline.js';
import { updateCalls, renderCallList, setupCallList } from './calls.js';
import { selectCall, followCallList, applyLiveMode, liveCallEnded, setupRouting } from './open-call.js';
import { startRendering } from './render.js';

/** Every message from the server, to the part of the page it concerns. */
function handleMessage(msg) {
  switch (msg.type) {
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

function start() {
  setupPlayer();
  setupLiveAudio();
  setupLiveStatus();
  setupKeyboard();
  setupTimeline();
  setupCallList({ select: selectCall });
  setupRouting();
  startSocket(handleMessage);
  startRendering();
}

start();
