// The render loop: a requestAnimationFrame loop draws the open call at its instant, deriving the view
// again only when the instant crosses an event's moment or an event arrives (`view.dirty`); the clock,
// timeline and ongoing counters move every frame.

import { $, setText } from './dom.js';
import { clock } from './format.js';
import { state, view, derive, showsAll, upperBound } from './state.js';
import { audio, viewTime, callDuration, reportPlayback, renderReplayHint } from './player.js';
import { renderLiveStatus } from './live-status.js';
import { renderTranscript, renderWords, updateGapLen } from './transcript.js';
import { renderCards, updateOngoing } from './alerts.js';
import { renderTimeline } from './timeline.js';
import { renderErrors } from './open-call.js';
import { renderPinned } from './pins.js';
import { renderSession } from './session.js';

function frame() {
  requestAnimationFrame(frame);
  render();
}

/** Draw the open call at its instant; the panes only when what exists at that instant changed. */
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
    renderPinned(view.state);
    renderErrors(view.state);
    renderSession();
  }
  const player = audio();
  if (!all && !player.paused) reportPlayback(false);
  renderClock(shownT);
  renderReplayHint(shownT);
  renderLiveStatus(data);
  renderTimeline(view.state, shownT);
  renderOngoing(shownT);
  renderWords(shownT);
}

function renderClock(t) {
  const duration = callDuration();
  setText($('t-cur'), clock(Math.min(t, duration)));
  setText($('t-dur'), clock(duration));
}

function renderOngoing(t) {
  for (const card of document.querySelectorAll('#cards .card.ongoing')) updateOngoing(card, t);
  for (const node of document.querySelectorAll('#transcript .gap-line.ongoing')) updateGapLen(node, t);
}

/** Draw every animation frame from now on. */
export function startRendering() {
  requestAnimationFrame(frame);
  // A hidden tab gets no animation frames, but its audio plays on: keep the page (and the screen reader's
  // announcements) in step a few times a second.
  setInterval(() => { if (document.hidden) render(); }, 250);
}
