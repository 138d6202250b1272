// How the page words things: times into the call, dates, call titles, and the labels for kinds, speakers,
// sources and the two polarities of an alert. Pure functions and tables, no DOM.

export const SOURCE_LABELS = { twilio: 'Twilio', freeswitch: 'FreeSWITCH', asterisk: 'Asterisk', soundcard: 'sound card' };

// The kinds of alert the server's detectors raise (label, polarity, icon), as its `welcome` lists them: a
// new detector needs no change here.
let KINDS = {};

/** Take the server's list of alert kinds (from `welcome`). */
export function setKinds(kinds) {
  KINDS = Object.fromEntries((Array.isArray(kinds) ? kinds : []).map((k) => [k.kind, k]));
}

export const SPEAKER_LABELS = { agent: 'Agent', customer: 'Customer', mixed: 'Both speakers' };
export const POLARITY = {
  coach: { label: 'Coach', advice: 'Try instead', icon: 'bulb' },
  praise: { label: 'Praise', advice: 'Keep doing', icon: 'star' },
};

/** mm:ss into the call, floored, as the server words its titles. */
export function clock(seconds) {
  const whole = Math.max(0, Math.floor((Number.isFinite(seconds) ? seconds : 0) + 1e-6));
  return `${String(Math.floor(whole / 60)).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
}

export const secs = (seconds) => `${seconds.toFixed(1)} s`;

/** The icon the server names for an alert's kind, else its polarity's. */
export function kindIcon(kind, polarity) {
  return KINDS[kind]?.icon || (POLARITY[polarity] || POLARITY.coach).icon;
}

export function kindLabel(kind) {
  if (KINDS[kind]?.label) return KINDS[kind].label;
  const words = String(kind).replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A recording's file name as a coach reads it: "bereavement_cold.wav" → "Bereavement cold". */
export function displayTitle(info) {
  const raw = (info.title || info.call_id || '').trim();
  if (info.source !== 'file') return raw;
  const words = raw.replace(/\.(wav|flac|ogg|mp3)$/i, '').replace(/[_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function formatDate(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(undefined, {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
  });
}
