// What the page says outside the panels: toasts everybody sees (refusals), announcements for screen
// readers, and the page's own dialogs (instead of the browser's confirm() and prompt()).
import { $ } from "../dom.js";
import { t } from "../locale.js";
import { store } from "../store.js";

let toastTimer = null;

/// A notice everybody sees for a few seconds (a refused request), also read out (role=status).
export function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 5000);
}

export function announce(text) {
  $("announcer").textContent = "";
  // A new node each time, so the same words twice are read twice.
  requestAnimationFrame(() => ($("announcer").textContent = text));
}

/// Comings and goings for screen readers: one by one for the first 20 people of the meeting, then a
/// summary at most every 10 s (a lecture hall filling up must not drown everything else).
const arrivals = { count: 0, pending: { joined: 0, left: 0 }, timer: null };

function arrival({ name, joined }) {
  arrivals.count += 1;
  if (arrivals.count <= 20) return announce(t(joined ? "joined" : "leftRoom", { name }));
  arrivals.pending[joined ? "joined" : "left"] += 1;
  if (arrivals.timer) return;
  arrivals.timer = setTimeout(() => {
    const { joined: j, left: l } = arrivals.pending;
    arrivals.pending = { joined: 0, left: 0 };
    arrivals.timer = null;
    announce(t("arrivalSummary", { joined: j, left: l }));
  }, 10000);
}

/// Asks a question in the page's own dialog: resolves true or false, or (with `value`) the text
/// typed, or null when cancelled.
export function ask(question, { value = null, confirmLabel = t("ok"), danger = false } = {}) {
  const dialog = $("ask-dialog");
  const input = $("ask-input");
  $("ask-text").textContent = question;
  $("ask-input-label").textContent = question;
  input.hidden = value === null;
  input.value = value ?? "";
  $("ask-ok").textContent = confirmLabel;
  $("ask-ok").classList.toggle("danger", danger);
  $("ask-ok").classList.toggle("primary", !danger);
  dialog.returnValue = "";
  dialog.showModal();
  if (value !== null) input.select();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const ok = dialog.returnValue === "ok";
      resolve(value === null ? ok : ok ? input.value : null);
    }, { once: true });
  });
}

export function setUpNotices() {
  store.addEventListener("toast", (event) => showToast(event.detail));
  store.addEventListener("announce", (event) => announce(event.detail));
  store.addEventListener("arrival", (event) => arrival(event.detail));
  // Enter in the text field answers OK.
  $("ask-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      $("ask-dialog").close("ok");
    }
  });
}
