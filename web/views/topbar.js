// The top bar: the meeting's name and number, the time in the meeting, that nothing is recorded,
// the connection's state and quality, the language.
import { $ } from "../dom.js";
import { t, locale, language, setLanguage } from "../locale.js";
import { store } from "../store.js";

function renderTitle() {
  const { room, roomName, phase, breakout } = store.state;
  const inMeeting = phase !== "join";
  $("room-title").textContent = inMeeting ? (breakout ? breakout.name : roomName || room) : "";
  $("room-number").textContent = inMeeting && room && roomName && roomName !== room ? room : "";
  document.title = inMeeting && (roomName || room) ? `${breakout ? breakout.name : roomName || room} · Plenum` : "Plenum";
}

function renderStatus() {
  const { status, quality } = store.state;
  const element = $("status");
  const words = status ? t(status) : "";
  element.textContent = status === "statusConnected" && quality && quality !== "good" ? `${words} · ${t(`quality-${quality}`)}` : words;
  element.title = element.textContent;
  element.dataset.state = status || "";
  element.dataset.quality = status === "statusConnected" ? quality || "good" : "";
}

function renderElapsed() {
  const { joinedAt, phase } = store.state;
  const shown = phase === "room" && joinedAt;
  $("elapsed").hidden = !shown;
  $("recording").hidden = phase !== "room";
  if (!shown) return;
  const seconds = Math.floor((Date.now() - joinedAt) / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  $("elapsed").textContent = h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  $("elapsed").setAttribute("aria-label", t("elapsed", { time: $("elapsed").textContent }));
}

export function setUpTopBar() {
  store.watch(["room", "roomName", "phase", "breakout"], renderTitle);
  store.watch(["status", "quality"], renderStatus);
  store.watch(["phase", "joinedAt"], renderElapsed);
  setInterval(renderElapsed, 1000);
  $("language").value = language();
  $("language").addEventListener("change", () => setLanguage($("language").value));
  locale.addEventListener("change", () => {
    $("language").value = language();
    renderTitle();
    renderStatus();
    renderElapsed();
  });
}
