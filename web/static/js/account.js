// Who is logged in: the server's `welcome` names them (the header shows it, lead controls follow the role),
// "Log out", and the way back to the login page when the login session is gone (the websocket is refused,
// then `GET /api/me` answers 401).

import { $, h, setText } from './dom.js';
import { notify } from './notices.js';
import { state, view } from './state.js';

const ROLE_LABELS = { lead: 'Team lead', admin: 'Admin', coach: 'Coach', agent: 'Agent' };

let onChange = () => {};

/** Wire "Log out"; `changed` runs whenever who is logged in becomes known or changes. */
export function setupAccount({ changed = () => {} } = {}) {
  onChange = changed;
  $('logout').addEventListener('click', logout);
}

/** The server's `welcome` (first on every connection), or `/api/me`'s answer. */
export function setMe(me) {
  const next = {
    user: String(me.user || ''),
    name: String(me.name || me.user || ''),
    role: String(me.role || 'coach'),
    teams: Array.isArray(me.teams) ? me.teams : [],
  };
  const before = state.me;
  state.me = next;
  renderWhoami();
  if (!before || before.user !== next.user || before.role !== next.role) {
    view.dirty = true; // pin toggles come and go with the role
    onChange();
  }
}

export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

function renderWhoami() {
  const me = state.me;
  const box = $('account');
  box.hidden = !me;
  if (!me) return;
  const role = ROLE_LABELS[me.role] || me.role;
  const who = $('whoami');
  who.dataset.user = me.user;
  who.dataset.role = me.role;
  // Notes and pins are for coaches: an agent's page leaves their controls out (the server refuses them anyway).
  document.body.dataset.role = me.role;
  who.title = `Logged in as ${me.name} (${me.user})${me.teams.length ? ` · team ${me.teams.join(', ')}` : ''}`;
  if (who.dataset.sig === `${me.name}|${role}`) return;
  who.dataset.sig = `${me.name}|${role}`;
  who.replaceChildren(
    h('span', { class: 'avatar', 'aria-hidden': 'true', text: initials(me.name) }),
    h('span', { class: 'sr-only', text: 'Logged in as ' }),
    h('span', { class: 'whoami-text' },
      h('span', { class: 'whoami-name', text: me.name }),
      h('span', { class: 'sr-only', text: ', ' }),
      h('span', { class: 'whoami-role', text: role })),
  );
}

async function logout() {
  const button = $('logout');
  button.disabled = true;
  setText(button, 'Logging out…');
  try {
    await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' });
  } catch (err) {
    button.disabled = false;
    setText(button, 'Log out');
    notify('error', 'Could not log out', `The server could not be reached (${err && err.message ? err.message : err}). Try again.`);
    return;
  }
  location.assign('/login');
}

/** The login page, coming back here (the open call and session included) once logged in. */
export function toLogin() {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`);
}

let checking = false;
/** The socket closed: if it was for want of a login (401 from /api/me), go and log in. */
export async function checkLogin() {
  if (checking) return;
  checking = true;
  try {
    const resp = await fetch('/api/me', { credentials: 'same-origin', cache: 'no-store' });
    if (resp.status === 401) {
      toLogin();
      return;
    }
    if (resp.ok && !state.me) setMe(await resp.json());
  } catch {
    // The server is down: the socket retries, and this is asked again when it closes next.
  } finally {
    checking = false;
  }
}
