// The JSON endpoints as the coaching pages call them: one place for the login redirect and the error text.

/**
 * Call `method path` with an optional JSON `body`; the answer's JSON, or an Error carrying the server's
 * message. A 401 sends the browser to the login page, to come back here.
 */
export async function api(method, path, body) {
  const resp = await fetch(path, {
    method,
    credentials: 'same-origin',
    cache: 'no-store',
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (resp.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    throw new Error('log in first');
  }
  const answer = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(answer.message || `the server answered ${resp.status}`);
  return answer;
}
