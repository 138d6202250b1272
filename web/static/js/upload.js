// Uploading recordings from the call list, for leads and admins: a file picker (a real
// <input type=file multiple> behind its label) and the whole sidebar as a drop zone. Files go up one at a
// time, each in its own request (POST /api/recordings, docs/protocol.md) so that each shows its own upload
// progress and outcome: kept (the call list then shows it analysing) or refused with the server's reason,
// while the rest of the batch goes on. Coaches and agents get none of it (the server refuses them too).

import { $, h, setText } from './dom.js';

const ACCEPT = 'audio/*,.wav,.flac,.ogg,.opus,.oga,.mp3';
let me = null;
let queue = Promise.resolve(); // uploads run one after another, in the order they were given

/** Ask who is logged in; a lead or an admin gets the upload box above the call list. */
export async function setupUpload() {
  try {
    const resp = await fetch('/api/me', { credentials: 'same-origin', cache: 'no-store' });
    me = resp.ok ? await resp.json() : null;
  } catch {
    me = null;
  }
  const may = Boolean(me) && (me.role === 'lead' || me.role === 'admin');
  document.body.dataset.upload = may ? 'on' : 'off';
  if (!may) return;
  renderBox();
  setupDropZone(document.querySelector('.sidebar'));
}

function renderBox() {
  const input = h('input', {
    type: 'file', id: 'upload-input', class: 'upload-input', multiple: true, accept: ACCEPT,
    'data-testid': 'upload-input', 'aria-describedby': 'upload-hint',
    onchange: (e) => { uploadAll([...e.target.files]); e.target.value = ''; },
  });
  const box = h('section', { class: 'upload', id: 'upload', 'aria-labelledby': 'upload-heading' },
    h('h2', { class: 'sr-only', id: 'upload-heading', text: 'Upload recordings' }),
    h('div', { class: 'upload-row' },
      input,
      h('label', { class: 'btn upload-pick', for: 'upload-input' }, uploadIcon(), 'Upload recordings'),
      teamChoice()),
    h('label', { class: 'upload-channel' }, 'Agent is the ',
      h('select', { id: 'upload-channel', 'data-testid': 'upload-channel' },
        h('option', { value: '', text: 'usual' }),
        h('option', { value: 'left', text: 'left' }),
        h('option', { value: 'right', text: 'right' })),
      ' channel'),
    h('p', { class: 'upload-hint muted', id: 'upload-hint', text: 'Or drop WAV, FLAC, OGG or MP3 files on the list.' }),
    h('ul', { class: 'upload-list', id: 'upload-list', 'data-testid': 'upload-list', 'aria-live': 'polite' }));
  $('upload')?.remove();
  const list = $('call-list');
  list.parentElement.insertBefore(box, list);
}

/** A lead of one team uploads to it; of several, picks one; an admin names any (default: the server's). */
function teamChoice() {
  const teams = Array.isArray(me.teams) ? me.teams : [];
  if (me.role === 'lead' && teams.length === 1) {
    return h('span', { class: 'upload-team muted', 'data-team': teams[0], text: `to ${teams[0]}` });
  }
  if (me.role === 'lead') {
    return h('label', { class: 'upload-team' }, h('span', { class: 'sr-only', text: 'Team' }),
      h('select', { id: 'upload-team', 'data-testid': 'upload-team' }, ...teams.map((t) => h('option', { value: t, text: t }))));
  }
  return h('label', { class: 'upload-team' }, h('span', { class: 'sr-only', text: 'Team (empty: the default team)' }),
    h('input', { id: 'upload-team', 'data-testid': 'upload-team', type: 'text', size: 10, placeholder: 'team', maxlength: 64 }));
}

function uploadIcon() {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'btn-icon');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.innerHTML = '<path d="M12 15V4M7.5 8.5 12 4l4.5 4.5"/><path d="M4.5 14.5v4A1.5 1.5 0 0 0 6 20h12a1.5 1.5 0 0 0 1.5-1.5v-4"/>';
  return svg;
}

function setupDropZone(zone) {
  if (!zone) return;
  const carriesFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
  zone.addEventListener('dragover', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    zone.classList.add('drop-target');
  });
  zone.addEventListener('dragleave', (e) => {
    if (!zone.contains(e.relatedTarget)) zone.classList.remove('drop-target');
  });
  zone.addEventListener('drop', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    zone.classList.remove('drop-target');
    uploadAll([...e.dataTransfer.files]);
  });
}

/** Each file gets its line at once, then goes up in turn (the choices as they are now go with it). */
function uploadAll(files) {
  const team = $('upload-team')?.value.trim() || '';
  const channel = $('upload-channel').value;
  for (const file of files) {
    const item = fileItem(file);
    $('upload-list').append(item);
    queue = queue.then(() => send(file, item, team, channel));
  }
}

function fileItem(file) {
  return h('li', { class: 'upload-item', 'data-testid': 'upload-item', 'data-name': file.name, 'data-state': 'waiting' },
    h('div', { class: 'upload-item-top' },
      h('span', { class: 'upload-name', text: file.name, title: file.name }),
      h('span', { class: 'upload-pct muted', text: 'waiting' })),
    h('progress', { class: 'upload-progress', max: 100, value: 0, 'aria-label': `Uploading ${file.name}` }),
    h('p', { class: 'upload-outcome', 'data-testid': 'upload-outcome' }));
}

/** One file's request, its upload progress shown as it goes; resolves once its outcome is shown. */
function send(file, item, team, channel) {
  return new Promise((resolve) => {
    const form = new FormData();
    if (team) form.append('team', team);
    if (channel) form.append('agent_channel', channel);
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/recordings');
    xhr.responseType = 'json';
    item.dataset.state = 'uploading';
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) showProgress(item, Math.floor((100 * e.loaded) / e.total));
    });
    xhr.addEventListener('load', () => { showOutcome(item, xhr.status, xhr.response); resolve(); });
    xhr.addEventListener('error', () => { refused(item, 'The upload broke off: check the connection and try again.'); resolve(); });
    xhr.send(form);
  });
}

function showProgress(item, pct) {
  item.querySelector('progress').value = pct;
  setText(item.querySelector('.upload-pct'), `${pct} %`);
}

function showOutcome(item, status, body) {
  const outcome = status === 200 && body && Array.isArray(body.files) ? body.files[0] : null;
  if (outcome && outcome.call_id) {
    item.dataset.state = 'done';
    item.dataset.callId = outcome.call_id;
    showProgress(item, 100);
    setText(item.querySelector('.upload-outcome'), `Added to ${outcome.team}: analysing it now.`);
    return;
  }
  const error = outcome?.error || body || {};
  const why = error.message || `The server answered ${status}.`;
  item.dataset.code = error.code || String(status);
  refused(item, why);
}

function refused(item, why) {
  item.dataset.state = 'refused';
  item.querySelector('progress').hidden = true;
  setText(item.querySelector('.upload-pct'), 'refused');
  const outcome = item.querySelector('.upload-outcome');
  outcome.setAttribute('role', 'alert');
  setText(outcome, why);
}
