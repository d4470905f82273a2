// The participant list (with each person's state and, for those allowed, their actions) and the
// waiting room's guests.
import { $, icon, iconButton, personRow, srOnly } from "../dom.js";
import { t, language, locale } from "../locale.js";
import { store } from "../store.js";
import { ask } from "./notices.js";

/// Rows are kept by participant and rebuilt only when what they show changes: talking only toggles a
/// class, so a row's buttons never vanish under the pointer or the keyboard focus.
const rows = new Map();

function renderParticipants(session) {
  const state = store.state;
  const list = $("participants");
  const people = [...state.participants.values()].sort((a, b) =>
    a.id === state.memberId ? -1 : b.id === state.memberId ? 1 : a.name.localeCompare(b.name));
  const permissions = [...state.permissions].sort().join();
  // Who shows a camera (the ones we may see: the server sends only those).
  const filming = new Set((state.cameras || []).filter((c) => c.kind !== "screen").map((c) => c.member));
  if (state.cameraOn) filming.add(state.memberId);
  const items = people.map((p) => {
    const camera = filming.has(p.id);
    const signature = JSON.stringify([p.name, p.muted, p.role, p.kind, p.number, p.hand, p.reconnecting, p.id === state.memberId,
      state.listenOnly, permissions, state.presenter === p.id, camera, language()]);
    let li = rows.get(p.id);
    if (!li || li.dataset.signature !== signature) {
      li = buildRow(p, session, camera);
      li.dataset.signature = signature;
      rows.set(p.id, li);
    }
    const talking = !!p.talking && !p.muted;
    li.classList.toggle("talking", talking);
    li.querySelector(".talking-text").textContent = talking ? t("talking") : "";
    return li;
  });
  for (const id of rows.keys()) if (!state.participants.has(id)) rows.delete(id);
  const current = [...list.children];
  if (current.length !== items.length || current.some((node, i) => node !== items[i])) list.replaceChildren(...items);
  $("count").textContent = `(${people.length})`;
  $("viewers-hidden").hidden = !(state.lock.hideViewers && state.role !== "moderator");
}

function buildRow(p, session, camera) {
  const state = store.state;
  const li = personRow("participant", p.kind, p.name);
  li.dataset.id = p.id;
  const details = [];
  if (p.id === state.memberId) details.push(t("you"));
  if (p.kind === "phone") details.push(p.number && !p.name.includes(p.number) ? `${t("phone")} ${p.number}` : t("phone"));
  if (p.id === state.memberId && state.listenOnly) details.push(t("listening"));
  if (p.role === "moderator") details.push(t("moderator"));
  if (state.presenter === p.id) details.push(t("presenter"));
  if (p.reconnecting) {
    details.push(t("reconnectingShort"));
    li.classList.add("reconnecting");
  }
  if (details.length) {
    const small = document.createElement("span");
    small.className = "details";
    small.textContent = details.join(" · ");
    li.append(small);
  }
  const status = document.createElement("span");
  status.className = "state";
  if (p.hand) {
    const hand = icon("hand");
    hand.classList.add("hand");
    status.append(hand, srOnly(t("handRaised")));
  }
  if (camera) {
    const lens = icon("camera");
    lens.classList.add("camera");
    status.append(lens, srOnly(t("cameraOnShort")));
  }
  if (p.muted) status.append(icon("mic-off"), srOnly(t("muted")));
  const talking = srOnly("");
  talking.classList.add("talking-text");
  status.append(talking);
  li.append(status);
  const actions = actionsFor(p, session, camera);
  if (actions.childElementCount) li.append(actions);
  return li;
}

/// What a participant's row offers to someone allowed to use it (the server checks again): muting at
/// once, the rest (rename, role, remove) in the row's own menu.
function actionsFor(p, session, camera) {
  const box = document.createElement("span");
  box.className = "actions-inline";
  if (p.id === store.state.memberId) return box;
  const may = (permission) => store.may(permission);
  const name = p.name;
  if (may("muteOthers") && !p.muted) {
    box.append(iconButton(t("muteParticipant", { name }), "mic-off", "mute-other",
      () => session.send({ type: "mute", id: p.id, muted: true })));
  }
  const items = [];
  const item = (label, className, onClick) => {
    const button = document.createElement("button");
    button.type = "button";
    button.setAttribute("role", "menuitem");
    button.className = className;
    button.textContent = label;
    button.addEventListener("click", () => {
      closeMenus();
      onClick();
    });
    items.push(button);
  };
  // A moderator stops a camera; nobody but its owner ever starts one.
  if (may("muteOthers") && camera) {
    item(t("stopCameraOf", { name }), "stop-camera", () => session.send({ type: "stop-camera", id: p.id }));
  }
  if (may("rename")) {
    item(t("renameParticipant", { name }), "rename", async () => {
      const fresh = await ask(t("newName", { name }), { value: name, confirmLabel: t("rename") });
      if (fresh && fresh.trim()) session.send({ type: "rename", id: p.id, name: fresh.trim() });
    });
  }
  if (may("promote") && p.kind === "browser") {
    const up = p.role !== "moderator";
    item(t(up ? "makeModerator" : "makeViewer", { name }), "role", () => session.send({ type: up ? "promote" : "demote", id: p.id }));
  }
  if (may("assignPresenter") && p.kind === "browser" && store.state.presenter !== p.id) {
    item(t("makePresenter", { name }), "presenter", () => session.send({ type: "presenter", id: p.id }));
  }
  if (may("remove")) {
    item(t("removeParticipant", { name }), "remove danger", async () => {
      if (await ask(t("confirmRemove", { name }), { confirmLabel: t("remove"), danger: true })) session.send({ type: "remove", id: p.id });
    });
  }
  if (items.length) {
    const menu = document.createElement("span");
    menu.className = "menu row-menu";
    menu.setAttribute("role", "menu");
    menu.hidden = true;
    menu.append(...items);
    const opener = iconButton(t("actionsFor", { name }), "more", "participant-actions", () => {
      const open = menu.hidden;
      closeMenus();
      menu.hidden = !open;
      opener.setAttribute("aria-expanded", String(open));
      if (open) items[0].focus();
    });
    opener.setAttribute("aria-haspopup", "menu");
    opener.setAttribute("aria-expanded", "false");
    menu.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        closeMenus();
        opener.focus();
      }
    });
    box.append(opener, menu);
  }
  return box;
}

function closeMenus() {
  for (const menu of document.querySelectorAll(".row-menu")) menu.hidden = true;
  for (const opener of document.querySelectorAll(".participant-actions")) opener.setAttribute("aria-expanded", "false");
}

function renderGuests(session) {
  const state = store.state;
  $("guests-box").hidden = state.guests.length === 0 || !store.may("admitGuests");
  $("guests").replaceChildren(...state.guests.map((g) => {
    const li = personRow("participant guest", g.kind, g.name);
    li.dataset.guest = g.id;
    const actions = document.createElement("span");
    actions.className = "actions-inline";
    for (const [allow, label, iconName, extra] of [[true, "admit", "check", "admit"], [false, "deny", "remove", "deny danger"]]) {
      actions.append(iconButton(t(label, { name: g.name }), iconName, extra, () => session.send({ type: "admit", guest: g.id, allow })));
    }
    li.append(actions);
    return li;
  }));
}

/// `peer.send` reaches the current session (the list outlives a rejoin).
export function setUpParticipants(peer) {
  store.watch(["participants", "memberId", "permissions", "presenter", "listenOnly", "role", "lock", "cameras", "cameraOn"],
    () => renderParticipants(peer));
  store.watch(["guests", "permissions"], () => renderGuests(peer));
  locale.addEventListener("change", () => {
    rows.clear();
    renderParticipants(peer);
    renderGuests(peer);
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".row-menu, .participant-actions")) closeMenus();
  });
}
