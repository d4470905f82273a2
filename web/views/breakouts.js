// Breakout rooms in a dialog (it never pushes the chat away): moderators set them up and run them;
// participants choose a room when they may; everybody in a room sees its name and time left.
import { $, iconButton, personRow } from "../dom.js";
import { t, locale } from "../locale.js";
import { store } from "../store.js";

function timeLeft(endsAt) {
  const seconds = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/// The time left, once a second: only the two texts change, so no button is redrawn under the focus.
function renderCountdowns() {
  const { breakout, breakouts } = store.state;
  if (breakout) $("breakout-banner").textContent = t("inBreakout", { name: breakout.name, time: timeLeft(breakout.endsAt) });
  if (breakouts && breakouts.active) $("breakout-left").textContent = timeLeft(breakouts.endsAt);
}

/// By hand: a choice per participant (a room, or at random); kept while the list is redrawn.
const assignments = new Map();

function assignable() {
  const state = store.state;
  return [...state.participants.values()].filter((p) => p.role !== "moderator" && p.id !== state.memberId);
}

function roomCount() {
  return Math.max(1, Math.min(16, Number($("breakout-count").value) || 2));
}

function renderAssignments() {
  const count = roomCount();
  const list = $("breakout-assign");
  if (list.contains(document.activeElement)) return; // never redraw under the keyboard
  list.replaceChildren(...assignable().map((p) => {
    const li = personRow("participant assign-row", p.kind, p.name);
    const select = document.createElement("select");
    select.setAttribute("aria-label", t("roomFor", { name: p.name }));
    select.dataset.member = p.id;
    select.append(new Option(t("atRandom"), "0"));
    for (let n = 1; n <= count; n++) select.append(new Option(t("roomN", { n }), String(n)));
    const chosen = assignments.get(p.id) || 0;
    select.value = String(chosen <= count ? chosen : 0);
    select.addEventListener("change", () => assignments.set(p.id, Number(select.value)));
    li.append(select);
    return li;
  }));
}

function render(session) {
  const state = store.state;
  const dialog = $("breakout-panel");
  $("breakout-banner").hidden = !state.breakout;
  renderCountdowns();
  const manages = store.may("manageBreakouts");
  const active = !!(state.breakouts && state.breakouts.active);
  if (manages && !active) renderAssignments();
  const choosing = !manages && active && state.breakouts.freeJoin && !state.breakout;
  $("open-breakouts").hidden = !manages || state.disabledFeatures.includes("breakoutRooms");
  $("breakout-heading").textContent = choosing ? t("chooseRoom") : t("breakoutRooms");
  for (const element of dialog.querySelectorAll(".moderator-only")) element.hidden = !manages;
  $("help").hidden = !state.breakout;
  $("help-requests").replaceChildren(...state.helpRequests.map((h) => {
    const li = document.createElement("li");
    li.textContent = t("helpRequest", { name: h.name, room: h.room });
    return li;
  }));
  $("breakout-setup").hidden = active || !manages;
  $("breakout-running").hidden = !active;
  if (active) {
    $("breakout-rooms").replaceChildren(...state.breakouts.rooms.map((room) => {
      const li = document.createElement("li");
      li.className = "participant breakout-room";
      li.dataset.sequence = room.sequence;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = room.name;
      const details = document.createElement("span");
      details.className = "details";
      details.textContent = `${t("people", { count: room.members.length })} · ${room.voiceBridge}`;
      li.append(name, details, iconButton(t("joinRoom", { name: room.name }), "browser", "visit", () =>
        session.send({ type: manages ? "breakouts-visit" : "breakouts-choose", sequence: room.sequence })));
      return li;
    }));
  }
  // A participant who may choose gets the rooms offered; nobody else gets the dialog unasked.
  if (choosing && !dialog.open) dialog.showModal();
  if (!manages && !choosing && dialog.open) dialog.close();
}

/// `peer.send` reaches the current session.
export function setUpBreakouts(peer) {
  store.watch(["breakout", "breakouts", "helpRequests", "permissions", "participants", "disabledFeatures"], () => render(peer));
  locale.addEventListener("change", () => render(peer));
  setInterval(renderCountdowns, 1000);
  $("open-breakouts").addEventListener("click", () => {
    render(peer);
    $("breakout-panel").showModal();
  });
  $("breakout-count").addEventListener("change", renderAssignments);
  $("breakout-start").addEventListener("click", () => {
    const count = roomCount();
    const minutes = Math.max(1, Math.min(240, Number($("breakout-minutes").value) || 15));
    // Everybody but the moderators, shuffled, dealt round the rooms.
    const people = assignable().map((p) => p.id);
    for (let i = people.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [people[i], people[j]] = [people[j], people[i]];
    }
    const names = $("breakout-names").value.split(",").map((n) => n.trim());
    const rooms = Array.from({ length: count }, (_, i) => ({ name: names[i] || t("roomN", { n: i + 1 }), members: [] }));
    const freeJoin = $("breakout-free").checked;
    // Chosen by hand first; the rest at random (unless they choose themselves).
    const random = [];
    for (const id of people) {
      const room = assignments.get(id) || 0;
      if (room >= 1 && room <= count) rooms[room - 1].members.push(id);
      else random.push(id);
    }
    if (!freeJoin) random.forEach((id, index) => rooms[index % count].members.push(id));
    peer.send({ type: "breakouts-start", seconds: minutes * 60, rooms, freeJoin });
  });
  $("breakout-message-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("breakout-message").value.trim();
    if (text) peer.send({ type: "breakouts-message", text });
    $("breakout-message").value = "";
  });
  $("help").addEventListener("click", () => {
    peer.send({ type: "help" });
    store.emit("announce", t("helpAsked"));
    store.emit("toast", t("helpAsked"));
  });
  $("breakout-extend").addEventListener("click", () => peer.send({ type: "breakouts-extend", seconds: 300 }));
  $("breakout-end").addEventListener("click", () => peer.send({ type: "breakouts-end" }));
  $("breakout-main").addEventListener("click", () => peer.send({ type: "breakouts-visit", sequence: 0 }));
}
