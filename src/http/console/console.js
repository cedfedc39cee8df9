// The avb dev console (src/http/console.rs). Everything the server sends is written with textContent,
// except the port table, which the server renders with every string HTML-escaped. No polling: the state
// arrives over server-sent events (/api/v2/system/events).
"use strict";

const $ = (id) => document.getElementById(id);
let state = {
  mode: document.body.dataset.mode,
  auth_required: document.body.dataset.authRequired === "true",
  switchable: true,
};

function render() {
  const target = state.mode === "sandbox" ? "live" : "sandbox";
  $("toggle").textContent = `Switch to ${target}`;
  $("toggle").dataset.target = target;
  $("toggle").disabled = !state.switchable;
  $("token-row").hidden = !state.auth_required;
}

function apply(next) {
  state = next;
  document.body.dataset.mode = next.mode;
  $("badge").textContent = next.badge;
  $("badge").className = `badge ${next.mode}`;
  $("environment").textContent = next.environment;
  $("ports").innerHTML = next.html; // rendered by the server, every string escaped
  render();
}

function showProblems(title, problems) {
  const box = $("problems");
  box.replaceChildren();
  const heading = document.createElement("p");
  heading.className = "refused";
  heading.textContent = title;
  box.append(heading);
  if (problems.length) {
    const list = document.createElement("ul");
    for (const problem of problems) {
      const item = document.createElement("li");
      item.textContent = problem;
      list.append(item);
    }
    box.append(list);
  }
}

async function switchMode(event) {
  event.preventDefault();
  const target = $("toggle").dataset.target;
  const headers = { "content-type": "application/json" };
  const token = $("token").value.trim();
  if (token) headers.authorization = `Bearer ${token}`;
  $("toggle").disabled = true;
  $("outcome").textContent = `switching to ${target}…`;
  $("problems").replaceChildren();
  try {
    const response = await fetch("/api/v2/system/dev-mode", {
      method: "POST",
      headers,
      body: JSON.stringify({ mode: target }),
    });
    let body = {};
    try {
      body = await response.json();
    } catch {
      body = { error: `HTTP ${response.status} without a JSON body` };
    }
    if (response.ok) {
      // The badge follows the server's next event, not this answer.
      $("outcome").textContent = `the server switched to ${body.mode}`;
    } else {
      $("outcome").textContent = `refused (HTTP ${response.status})`;
      showProblems(String(body.error ?? "refused"), Array.isArray(body.problems) ? body.problems.map(String) : []);
    }
  } catch (error) {
    $("outcome").textContent = "the request failed";
    showProblems(String(error), []);
  } finally {
    render();
  }
}

function connect() {
  const events = new EventSource("/api/v2/system/events");
  events.addEventListener("open", () => { $("feed").textContent = "live updates: connected"; });
  events.addEventListener("error", () => { $("feed").textContent = "live updates: reconnecting…"; });
  events.addEventListener("state", (event) => {
    try {
      apply(JSON.parse(event.data));
      $("feed").textContent = `live updates: connected (${state.viewers} open)`;
    } catch (error) {
      $("feed").textContent = `live updates: unreadable event (${error})`;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  render();
  $("switch").addEventListener("submit", switchMode);
  connect();
});
