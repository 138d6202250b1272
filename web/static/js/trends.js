// The trends section of the agent's page and the team's page: the two findings in words ("Recurring:
// Cold reply (4 of 6 calls)"), then per kind of moment a row of small bars, one per week of the period,
// oldest on the left, coach kinds in the coach colour and praise in the praise colour. Built from the
// `trends` object of /api/agents/{username} or /api/teams/{team} (see docs/protocol.md).

import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text = '') {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text) node.textContent = text;
  return node;
}

const shortDate = (iso) => new Date(`${iso}T00:00:00Z`).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

/** The findings and one row per kind; `what` names whose trends they are ("Bo's", "the team's"). */
export function trendsSection(trends, what) {
  const weeks = trends.weeks.length;
  const findings = h('div', { class: 'findings', 'data-testid': 'findings' },
    finding(trends.recurring, 'recurring'), finding(trends.steady, 'steady'));
  const intro = h('p', { class: 'muted small', text:
    `${what} moments per week over the last ${weeks} week${weeks === 1 ? '' : 's'} (${shortDate(trends.weeks[0])} to now), ${trends.calls} call${trends.calls === 1 ? '' : 's'}.` });
  if (!trends.kinds.length) return h('div', { class: 'trends' }, findings, intro, h('p', { class: 'muted empty', text: 'No moments in the period.' }));
  const max = Math.max(1, ...trends.kinds.flatMap((k) => k.per_week));
  const rows = trends.kinds.map((k) => h('li', { class: `trend ${k.polarity}`, 'data-kind': k.kind },
    h('span', { class: 'trend-label' }, h('span', { class: `swatch ${k.polarity}` }), k.label),
    sparkBars(k, trends.weeks, max),
    h('span', { class: 'trend-count muted small', text: `${k.moments} on ${k.calls} call${k.calls === 1 ? '' : 's'}` })));
  return h('div', { class: 'trends' }, findings, intro, h('ol', { class: 'trend-rows', 'data-testid': 'trend-rows' }, ...rows));
}

function finding(found, which) {
  return h('p', { class: `finding ${which}${found.kind ? '' : ' none'}`, 'data-testid': `finding-${which}`, 'data-kind': found.kind || '', text: found.said });
}

/** One bar per week, all rows on one scale so that a taller bar is more moments anywhere on the page. */
function sparkBars(kind, weeks, max) {
  const barW = 12, gap = 3, height = 28, width = weeks.length * (barW + gap);
  const root = svg('svg', { class: 'spark', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'data-testid': 'spark', 'data-per-week': kind.per_week.join(','),
    'aria-label': `${kind.label}: ${kind.per_week.join(', ')} per week, oldest first` });
  kind.per_week.forEach((n, i) => {
    const barH = n ? Math.max(3, (n / max) * (height - 2)) : 1;
    const rect = svg('rect', { class: n ? 'bar' : 'bar zero', x: i * (barW + gap), y: height - barH, width: barW, height: barH, rx: 1.5 });
    rect.append(svg('title', {}, `week of ${shortDate(weeks[i])}: ${n}`));
    root.append(rect);
  });
  return root;
}
