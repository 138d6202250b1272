// A live call's line in the player: whether the coach hears it ("Click to listen" while the browser holds
// the audio), the level meter, and the note once the call ended while the coach listened.

import { $, setText, setStyle } from './dom.js';
import { clock } from './format.js';
import { notify } from './notices.js';
import { state, currentInfo } from './state.js';
import { audio } from './player.js';
import { liveAudio } from './live-audio.js';

/** "Click to listen": the browser's autoplay block lifts on the coach's click. */
export function setupLiveStatus() {
  $('listen').addEventListener('click', () => {
    liveAudio.resume().catch((err) => notify('error', 'The browser would not play the call', err ? err.message : ''));
  });
}

/** The live status line and the ended note, every frame: the listening state can change without an event. */
export function renderLiveStatus(data) {
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
