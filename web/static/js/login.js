// The login and invite pages: post the form as JSON, show the server's message, go on when it says yes.

const form = document.querySelector("#login-form, #invite-form");
const error = document.getElementById("error");
const submit = form.querySelector("button[type=submit]");

function showError(message, field) {
  error.textContent = message.charAt(0).toUpperCase() + message.slice(1);
  error.hidden = false;
  for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}

// Where to go after logging in: a path on this server only, never another site. The value is parsed as
// the browser will navigate to it (tabs and newlines dropped, a backslash read as "/"), so "/<tab>/host"
// and "/\\host" are seen for what they are: another host.
function nextPath() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  let url;
  try {
    url = new URL(next, location.origin);
  } catch {
    return "/";
  }
  return url.origin === location.origin ? url.pathname + url.search + url.hash : "/";
}

async function post(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    return { ok: false, message: "The server cannot be reached: check that callcoach is running, then try again." };
  }
  if (response.ok) return { ok: true };
  let message = `The server answered ${response.status}.`;
  try {
    message = (await response.json()).message || message;
  } catch {
    // not JSON: keep the status line
  }
  return { ok: false, message };
}

async function logIn() {
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username) return showError("Enter your username.", form.username);
  if (!password) return showError("Enter your password.", form.password);
  const result = await post("/api/login", { username, password });
  if (result.ok) return location.assign(nextPath());
  form.password.value = "";
  showError(result.message, form.password);
}

async function acceptInvite() {
  const password = form.password.value;
  if (password.length < 8) return showError("A password needs at least 8 characters.", form.password);
  if (form.confirm.value !== password) return showError("The two passwords differ: type the same one twice.", form.confirm);
  const token = decodeURIComponent(location.pathname.split("/").pop() || "");
  const result = await post("/api/invite", { token, password });
  if (result.ok) return location.assign("/");
  showError(result.message, form.password);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  submit.disabled = true;
  try {
    await (form.id === "login-form" ? logIn() : acceptInvite());
  } finally {
    submit.disabled = false;
  }
});
