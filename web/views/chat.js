// The chat: the meeting's welcome, public and private messages (text only, never HTML), unread
// counts, locks shown where they apply.
import { $, iconButton } from "../dom.js";
import { t, language, locale } from "../locale.js";
import { store } from "../store.js";

/// Whether the newest message can be seen: the chat tab open, scrolled to its end, the page visible.
function chatInView() {
  const list = $("messages");
  return document.visibilityState === "visible" && !$("panel-chat").hidden && isSidePanelShown() &&
    list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

function isSidePanelShown() {
  return getComputedStyle($("side-panel")).display !== "none";
}

function messageItem(m, index, firstUnread, session) {
  const state = store.state;
  const li = document.createElement("li");
  li.className = "chat-message";
  li.dataset.id = m.id;
  if (index === firstUnread && state.unread > 0) li.classList.add("first-unread");
  if (m.to !== undefined) li.classList.add("private");
  const head = document.createElement("span");
  head.className = "from";
  const who = document.createElement("strong");
  who.textContent = m.fromName;
  head.append(who);
  const meta = document.createElement("span");
  meta.className = "meta";
  const time = new Date(m.time).toLocaleTimeString(language(), { hour: "2-digit", minute: "2-digit" });
  const recipient = m.to !== undefined ? state.participants.get(m.to) : null;
  meta.textContent = m.to === undefined ? time
    : `${time} · ${m.from === state.memberId ? t("privateTo", { name: recipient ? recipient.name : "?" }) : t("privateFrom")}`;
  head.append(meta);
  li.append(head);
  const text = document.createElement("p");
  text.className = "text";
  text.textContent = m.text;
  li.append(text);
  if (store.may("moderateChat")) {
    li.append(iconButton(t("deleteMessage"), "remove", "delete-message", () => session.send({ type: "chat-delete", messageId: m.id })));
  }
  return li;
}

function renderMessages(session) {
  const state = store.state;
  const list = $("messages");
  const wasAtEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const firstUnread = state.chat.length - state.unread;
  const items = [];
  if (state.welcome) {
    const li = document.createElement("li");
    li.className = "chat-message welcome";
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = state.welcome;
    li.append(text);
    items.push(li);
  }
  state.chat.forEach((m, index) => items.push(messageItem(m, index, firstUnread, session)));
  list.replaceChildren(...items);
  if (wasAtEnd) list.scrollTop = list.scrollHeight;
}

function renderUnread() {
  const { unread } = store.state;
  $("unread").hidden = unread === 0;
  $("unread").textContent = t("unread", { count: unread });
  $("unread-bar").hidden = unread === 0;
  $("unread-bar").textContent = String(unread);
  $("show-chat").setAttribute("aria-label", unread ? `${t("chat")} (${t("unread", { count: unread })})` : t("chat"));
}

/// Recipients (the other browsers: phones cannot read) and the locks.
function renderForm() {
  const state = store.state;
  const select = $("chat-to");
  const chosen = select.value;
  const privateLocked = state.lock.privateChat && state.role !== "moderator";
  const options = [new Option(t("everybody"), "")];
  for (const p of state.participants.values()) {
    if (p.id === state.memberId || p.kind !== "browser") continue;
    // A locked private chat still reaches moderators.
    if (privateLocked && p.role !== "moderator") continue;
    options.push(new Option(p.name, String(p.id)));
  }
  select.replaceChildren(...options);
  select.value = options.some((o) => o.value === chosen) ? chosen : "";
  const publicLocked = state.lock.publicChat && state.role !== "moderator";
  const toEverybody = select.value === "";
  const locked = publicLocked && toEverybody;
  $("chat-locked").hidden = !locked;
  $("chat-text").disabled = locked;
  $("chat-form").querySelector("button[type=submit]").disabled = locked;
  select.hidden = options.length === 1;
}

function markRead() {
  if (store.state.unread && chatInView()) store.set({ unread: 0 });
}

/// `peer.send` reaches the current session.
export function setUpChat(peer) {
  store.watch(["chat", "welcome", "permissions", "unread"], () => renderMessages(peer));
  store.watch(["unread"], renderUnread);
  store.watch(["participants", "lock", "role", "memberId"], renderForm);
  store.addEventListener("chat-message", () => {
    if (!chatInView()) store.set({ unread: store.state.unread + 1 });
  });
  locale.addEventListener("change", () => {
    renderMessages(peer);
    renderUnread();
    renderForm();
  });
  $("chat-to").addEventListener("change", renderForm);
  $("messages").addEventListener("scroll", markRead);
  $("chat-text").addEventListener("focus", markRead);
  document.addEventListener("visibilitychange", markRead);
  store.addEventListener("panel-shown", markRead);
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-text").value.trim();
    if (!text) return;
    const to = $("chat-to").value;
    peer.send(to ? { type: "chat", text, to: Number(to) } : { type: "chat", text });
    $("chat-text").value = "";
  });
}
