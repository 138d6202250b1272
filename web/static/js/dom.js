// Small DOM helpers: building elements (`h`), the page's inline icons, and writes that skip the DOM when
// nothing changed (the page re-renders many times a second; unchanged text and styles cost nothing then).

const ICONS = {
  bulb: '<path d="M9.5 18.5h5M10.5 21h3"/><path d="M12 3.2a6.3 6.3 0 0 0-3.9 11.2c.8.7 1.2 1.4 1.3 2.3h5.2c.1-.9.5-1.6 1.3-2.3A6.3 6.3 0 0 0 12 3.2z"/>',
  star: '<path d="M12 3.5l2.6 5.3 5.9.9-4.3 4.1 1 5.8L12 16.9l-5.2 2.7 1-5.8-4.3-4.1 5.9-.9z"/>',
  play: '<path class="fill" d="M8 5.5v13a1 1 0 0 0 1.5.86l10.5-6.5a1 1 0 0 0 0-1.72L9.5 4.64A1 1 0 0 0 8 5.5z"/>',
  close: '<path d="M6 6l12 12M18 6L6 18"/>',
  warn: '<path d="M12 4 2.8 19.5h18.4z"/><path d="M12 10v4.5M12 17.2v.1"/>',
  pause: '<path d="M9 6v12M15 6v12"/>',
  pin: '<path d="M9.5 3.5h5l-.8 5.2 3.3 3.3v1.5H7v-1.5l3.3-3.3z"/><path d="M12 13.5V21"/>',
  note: '<path d="M5 5.5h14a1.5 1.5 0 0 1 1.5 1.5v8.5a1.5 1.5 0 0 1-1.5 1.5h-7.5L7 20.5V17H5a1.5 1.5 0 0 1-1.5-1.5V7A1.5 1.5 0 0 1 5 5.5z"/><path d="M8 10h8M8 13h5"/>',
  plus: '<path d="M12 5v14M5 12h14"/>',
  flag: '<path d="M6 21V4"/><path d="M6 4.5h11.5l-2.6 4 2.6 4H6"/>',
};

export const $ = (id) => document.getElementById(id);

/** An element: `class`, `text`, `on…` listeners and attributes from `attrs`; null children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function icon(name, cls = 'icon') {
  const span = document.createElement('span');
  span.className = cls;
  span.setAttribute('aria-hidden', 'true');
  span.innerHTML = `<svg viewBox="0 0 24 24">${ICONS[name]}</svg>`;
  return span;
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function setStyle(node, prop, value) {
  if (node.style[prop] !== value) node.style[prop] = value;
}
