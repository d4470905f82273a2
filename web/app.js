// The Plenum web client: the join screen with an audio check, the waiting screen, and the room (a
// stage, a side panel with participants and chat, a bottom bar), over the signalling protocol in
// docs/signalling.md. Plain modern JavaScript modules, no libraries, no build step, nothing loaded
// from anywhere but this server.
//
//   store.js    the state (an EventTarget); session.js writes it, the views read it
//   session.js  the WebSocket and the peer connection
//   media.js    microphone, meter, devices, test sound
//   locale.js   the language; i18n.js the words
//   views/      one module per part of the page
import { $ } from "./dom.js";
import { t, errorText, language, locale, translatePage } from "./locale.js";
import * as media from "./media.js";
import { Session } from "./session.js";
import { store } from "./store.js";
import { setUpBreakouts } from "./views/breakouts.js";
import { setUpChat } from "./views/chat.js";
import { setUpControls } from "./views/controls.js";
import {
  closeTheDoor, grantFromURL, microphoneError, resetMeter, setUpJoin, showJoinMessage, stopEchoTest,
} from "./views/join.js";
import { setUpNotices } from "./views/notices.js";
import { setUpParticipants } from "./views/participants.js";
import { setUpStage } from "./views/stage.js";
import { setUpTopBar } from "./views/topbar.js";

let session = null;
const current = () => session;
/// What the views send goes to the session of the moment (none between calls).
const peer = { send: (message) => session?.send(message) };
const urlGrant = grantFromURL();

async function requestToken(room, pin) {
  const response = await fetch("/api/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(pin ? { room, pin } : { room }),
    cache: "no-store",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.code ? errorText(body) : response.statusText);
  return body;
}

/// The token for the room on the join screen: the join link's, or one for the number and PIN typed
/// (null, with a message, while the room is missing).
async function tokenForRoom() {
  if (urlGrant) return urlGrant;
  const room = $("room").value.trim();
  if (!room) return showJoinMessage(t("needRoom")), $("room").focus(), null;
  return requestToken(room, $("pin").value.trim());
}

async function join(withMicrophone) {
  showJoinMessage("");
  stopEchoTest();
  const name = urlGrant && urlGrant.name ? urlGrant.name : $("name").value.trim();
  const room = urlGrant ? urlGrant.room : $("room").value.trim();
  if (!name) return showJoinMessage(t("needName")), $("name").focus();
  if (!room) return showJoinMessage(t("needRoom")), $("room").focus();
  if (!window.RTCPeerConnection) return showJoinMessage(t("noWebRTC"));
  localStorage.setItem("plenum.name", name);
  let stream = null;
  if (withMicrophone) {
    try {
      stream = await media.openMicrophone();
    } catch (error) {
      return showJoinMessage(microphoneError(error));
    }
  } else {
    media.closeMicrophone(); // listening only: nothing is captured
  }
  let grant;
  try {
    grant = await tokenForRoom();
  } catch (error) {
    media.closeMicrophone();
    resetMeter();
    return showJoinMessage(error.message);
  }
  media.stopMeter(); // the join screen's meter is not on screen in the room
  store.reset();
  store.set({ phase: "room", room: grant.room, roomName: grant.roomName || grant.room, muted: false });
  session = new Session({ name, room: grant.room, roomName: grant.roomName, token: grant.token, stream, audioElement: $("remote-audio") });
  if (!urlGrant) history.replaceState(null, "", `?room=${encodeURIComponent(grant.room)}${language() === "de" ? "&lang=de" : ""}`);
  session.start();
}

/// Back to the join screen: the call and the microphone closed, the state gone. A meeting with a
/// `logoutURL` offers the way there (as BigBlueButton sends its people there).
function backToJoin(text, final = false) {
  const logoutURL = store.state.logoutURL;
  if (session) session.end();
  session = null;
  media.closeMicrophone();
  resetMeter();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  store.reset();
  store.set({ phase: "join" });
  showJoinMessage(text);
  leaveTo = logoutURL;
  renderLogoutLink();
  if (final) {
    sessionStorage.removeItem("plenum.token");
    closeTheDoor(true);
  } else {
    $("ended-actions").hidden = !logoutURL;
  }
}

let leaveTo = null; // the last meeting's logoutURL

function renderLogoutLink() {
  $("logout-link").href = leaveTo || "/";
  $("logout-link").textContent = leaveTo ? t("continueTo", { host: new URL(leaveTo).host }) : t("backToStart");
}

function renderPhase() {
  const { phase } = store.state;
  document.body.dataset.phase = phase;
  $("join-view").hidden = phase !== "join";
  $("waiting-view").hidden = phase !== "waiting";
  $("room-view").hidden = phase !== "room";
}

translatePage();
// First, so the views' own texts (which depend on state) are written after the static ones.
locale.addEventListener("change", translatePage);
locale.addEventListener("change", renderLogoutLink);
renderLogoutLink();
setUpNotices();
setUpTopBar();
setUpJoin({ onJoin: join, grant: urlGrant, getToken: tokenForRoom });
setUpStage(current);
setUpParticipants(peer);
setUpChat(peer);
setUpBreakouts(peer);
setUpControls(current, () => backToJoin(t("statusLeft")));
store.watch(["phase"], renderPhase);
store.addEventListener("ended", (event) => backToJoin(event.detail.text, event.detail.final && !!urlGrant));
// A closed tab or a page left: the others see us gone at once (the socket's `leave`), not after the
// server's resume window.
window.addEventListener("pagehide", () => {
  stopEchoTest();
  if (session) session.end();
});
// Every module loaded and the page set up (a module that failed to load leaves this unset).
document.documentElement.dataset.client = "ready";
