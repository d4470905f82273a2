// The bottom bar (mute `M`, hand, help in a breakout room, the side panel, moderation, leave), the
// moderators' menu (mute all, lock settings, breakout rooms, end meeting) and the side panel's tabs,
// which on a phone is a sheet over the stage.
import { $ } from "../dom.js";
import { t, locale } from "../locale.js";
import { store } from "../store.js";
import { ask } from "./notices.js";
import { openCameraPreview, setUpCamera } from "./camera.js";

const narrow = window.matchMedia("(max-width: 760px)");

function renderControls() {
  const state = store.state;
  const me = store.me;
  const raised = !!(me && me.hand);
  $("hand").setAttribute("aria-pressed", String(raised));
  $("hand-label").textContent = raised ? t("lowerHand") : t("raiseHand");
  const button = $("mute");
  button.disabled = state.listenOnly;
  button.setAttribute("aria-pressed", String(state.muted));
  $("mute-label").textContent = state.muted ? t("unmute") : t("mute");
  $("mute-icon").setAttribute("href", state.muted ? "icons.svg#mic-off" : "icons.svg#mic");
  const locked = state.lock.microphone && state.role !== "moderator";
  button.title = state.listenOnly ? t("listening") : locked && state.muted ? t("micLockedHint") : "";
  const moderates = ["muteOthers", "lockSettings", "manageBreakouts", "endMeeting"].some((p) => store.may(p));
  $("more").hidden = !moderates;
  $("mute-all").hidden = !store.may("muteOthers");
  $("open-locks").hidden = !store.may("lockSettings");
  $("end-meeting").hidden = !store.may("endMeeting");
  // Cameras start off; the button is there for whoever may share one (issue 15), greyed while the
  // viewers' cameras are locked.
  $("camera").hidden = !store.may("shareCamera") || state.disabledFeatures.includes("cameras");
  const cameraLocked = !!state.lock.camera && state.role !== "moderator" && !state.cameraOn;
  $("camera").disabled = cameraLocked;
  $("camera").title = cameraLocked ? t("camerasLockedHint") : "";
  $("camera").setAttribute("aria-pressed", String(state.cameraOn));
  $("camera-label").textContent = state.cameraOn ? t("stopCamera") : t("startCamera");
  $("camera-icon").setAttribute("href", state.cameraOn ? "icons.svg#camera" : "icons.svg#camera-off");
  // The presenter (or a moderator) shares a screen, from a desktop browser that can (phones cannot,
  // and a phone-sized window has no room for the button).
  const mayShare = (state.role === "moderator" || state.presenter === state.memberId) && !!navigator.mediaDevices?.getDisplayMedia
    && !state.disabledFeatures.includes("screenshare") && !narrow.matches;
  $("share").hidden = !mayShare && !state.screenOn;
  $("share").setAttribute("aria-pressed", String(state.screenOn));
  $("share-label").textContent = state.screenOn ? t("stopSharing") : t("shareScreen");
  // A meeting made without chat has no chat tab.
  const chatOff = state.disabledFeatures.includes("chat");
  $("tab-chat").hidden = $("show-chat").hidden = chatOff;
  if (chatOff && state.panel === "chat") store.set({ panel: "participants" });
}

/// The side panel: which tab, and on phones whether the sheet is open.
function renderPanel() {
  const { panel, sheetOpen } = store.state;
  for (const [name, tab, body] of [["participants", "tab-participants", "panel-participants"], ["chat", "tab-chat", "panel-chat"]]) {
    const selected = panel === name;
    $(tab).setAttribute("aria-selected", String(selected));
    $(tab).tabIndex = selected ? 0 : -1;
    $(body).hidden = !selected;
  }
  document.body.dataset.sheet = sheetOpen ? "open" : "closed";
  $("show-participants").setAttribute("aria-expanded", String(sheetOpen && panel === "participants"));
  $("show-chat").setAttribute("aria-expanded", String(sheetOpen && panel === "chat"));
  store.emit("panel-shown");
}

function showPanel(panel) {
  const { sheetOpen, panel: current } = store.state;
  // On a phone the button toggles the sheet; on a wide screen the panel is always there.
  const open = window.matchMedia("(max-width: 760px)").matches ? !(sheetOpen && current === panel) : true;
  store.set({ panel, sheetOpen: open });
  if (panel === "chat" && open) $("chat-text").focus({ preventScroll: true });
}

function closeMenu() {
  $("more-menu").hidden = true;
  $("more").setAttribute("aria-expanded", "false");
}

export function setUpControls(session, leave) {
  store.watch(["participants", "memberId", "muted", "listenOnly", "permissions", "lock", "role", "cameraOn", "disabledFeatures",
    "presenter", "screenOn"], renderControls);
  $("share").addEventListener("click", async () => {
    const s = session();
    if (!s) return;
    $("share").disabled = true;
    try {
      if (store.state.screenOn) await s.stopScreen();
      else await s.startScreen();
    } catch (error) {
      // Cancelling the browser's picker is no error worth a word.
      if (!error || error.name !== "NotAllowedError") store.emit("toast", t("screenFailed"));
    } finally {
      $("share").disabled = false;
    }
  });
  $("camera").addEventListener("click", async () => {
    const s = session();
    if (!s) return;
    $("camera").disabled = true;
    try {
      if (store.state.cameraOn) await s.stopCamera();
      else await openCameraPreview(s);
    } catch (error) {
      store.emit("toast", error && error.name === "NotAllowedError" ? t("cameraDenied") : t("cameraMissing"));
    } finally {
      renderControls();
    }
  });
  setUpCamera();
  narrow.addEventListener("change", renderControls);
  store.watch(["panel", "sheetOpen"], renderPanel);
  locale.addEventListener("change", renderControls);
  $("mute").addEventListener("click", () => {
    const s = session();
    if (s && s.stream) s.setMuted(!store.state.muted);
  });
  $("hand").addEventListener("click", () => {
    const me = store.me;
    session()?.send({ type: "hand", raised: !(me && me.hand) });
  });
  $("leave").addEventListener("click", leave);
  $("waiting-leave").addEventListener("click", leave);
  $("show-participants").addEventListener("click", () => showPanel("participants"));
  $("show-chat").addEventListener("click", () => showPanel("chat"));
  $("side-close").addEventListener("click", () => store.set({ sheetOpen: false }));
  $("tab-participants").addEventListener("click", () => store.set({ panel: "participants" }));
  $("tab-chat").addEventListener("click", () => store.set({ panel: "chat" }));
  // Arrow keys move between the tabs (the ARIA tabs pattern).
  for (const tab of ["tab-participants", "tab-chat"]) {
    $(tab).addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      const next = store.state.panel === "chat" ? "participants" : "chat";
      store.set({ panel: next });
      $(`tab-${next}`).focus();
    });
  }
  $("more").addEventListener("click", () => {
    const open = $("more-menu").hidden;
    $("more-menu").hidden = !open;
    $("more").setAttribute("aria-expanded", String(open));
    if (open) $("more-menu").querySelector("button:not([hidden])")?.focus();
  });
  $("more-menu").addEventListener("click", closeMenu);
  $("more-menu").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      closeMenu();
      $("more").focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!$("more-menu").hidden && !event.target.closest("#more, #more-menu")) closeMenu();
  });
  $("mute-all").addEventListener("click", () => session()?.send({ type: "mute-all", muted: true }));
  $("end-meeting").addEventListener("click", async () => {
    if (await ask(t("confirmEnd"), { confirmLabel: t("endMeeting"), danger: true })) session()?.send({ type: "end-meeting" });
  });
  $("open-locks").addEventListener("click", () => {
    const lock = store.state.lock;
    $("lock-microphone").checked = !!lock.microphone;
    $("lock-public-chat").checked = !!lock.publicChat;
    $("lock-private-chat").checked = !!lock.privateChat;
    $("lock-hide-viewers").checked = !!lock.hideViewers;
    $("lock-camera").checked = !!lock.camera;
    $("lock-viewers-cameras").checked = !!lock.viewersCameras;
    $("locks-dialog").showModal();
  });
  $("locks-dialog").addEventListener("close", () => {
    if ($("locks-dialog").returnValue !== "apply") return;
    session()?.send({
      type: "lock", microphone: $("lock-microphone").checked,
      publicChat: $("lock-public-chat").checked, privateChat: $("lock-private-chat").checked,
      hideViewers: $("lock-hide-viewers").checked,
      camera: $("lock-camera").checked, viewersCameras: $("lock-viewers-cameras").checked,
    });
  });
  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement ||
      event.target instanceof HTMLTextAreaElement;
    const s = session();
    if (typing || event.ctrlKey || event.metaKey || event.altKey || !s || !s.stream || store.state.phase !== "room") return;
    if (event.key.toLowerCase() === "m") {
      event.preventDefault();
      s.setMuted(!store.state.muted);
    }
  });
}
