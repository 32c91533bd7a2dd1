// SmartWorker dashboard: the little JavaScript the pages use. Everything works without it, except
// that the overview then refreshes only on reload and a running fix shows its phase on reload.
"use strict";

// Parts of a page marked data-refresh="URL" are re-fetched every data-every milliseconds.
function refreshParts() {
  document.querySelectorAll("[data-refresh]").forEach((part) => {
    const url = part.dataset.refresh;
    const every = Number(part.dataset.every || 2000);
    let busy = false;
    setInterval(async () => {
      if (busy || document.hidden) return;
      busy = true;
      try {
        const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (answer.ok && new URL(answer.url).pathname === new URL(url, location.href).pathname) {
          part.innerHTML = await answer.text();
          part.dataset.refreshed = String(Date.now());
        }
      } catch (_) {
        // The server is away for a moment: keep the last numbers and try again.
      } finally {
        busy = false;
      }
    }, every);
  });
}

// A running fix's phase arrives as server-sent events; when it ends the page reloads whole.
function followFix() {
  const phase = document.querySelector("[data-events]");
  if (!phase || !window.EventSource) return;
  const events = new EventSource(phase.dataset.events);
  events.onmessage = (message) => {
    const state = JSON.parse(message.data);
    phase.textContent = state.phase;
    const status = document.getElementById("fix-status");
    if (status) status.textContent = state.status.replace("_", " ");
    const count = document.getElementById("fix-candidates");
    if (count) count.textContent = String(state.candidates);
  };
  events.addEventListener("done", () => {
    events.close();
    location.reload();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  refreshParts();
  followFix();
});
