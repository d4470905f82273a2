// The join screen: name and room (or the meeting named by a join link), the audio check (devices,
// a live meter, a test sound), and what happened last (left, ended, refused, an expired link).
import { $ } from "../dom.js";
import { t, locale, errorText } from "../locale.js";
import * as media from "../media.js";
import { EchoTest } from "../echo.js";

let heard = false;

export function showJoinMessage(text) {
  $("join-message").textContent = text;
}

function showLevel(percent) {
  $("level-bar").style.width = `${percent}%`;
  $("level").setAttribute("aria-valuenow", String(percent));
  if (percent > 25 && !heard) {
    heard = true;
    $("mic-message").textContent = t("micWorking");
  }
}

/// The meter back at rest (the microphone is closed).
export function resetMeter() {
  media.stopMeter();
  heard = false;
  showLevel(0);
  $("mic-message").textContent = t("micHint");
}

export function microphoneError(error) {
  if (!window.isSecureContext) return t("insecure");
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return t("micDenied");
    case "NotFoundError":
    case "OverconstrainedError":
      return t("micMissing");
    case "NotReadableError":
      return t("micBusy");
    default:
      return t("failed", { reason: (error && error.message) || String(error) });
  }
}

/// Opens the microphone for the check (and the call), lists the devices, runs the meter.
export async function testMicrophone() {
  const stream = await media.openMicrophone();
  media.startMeter(stream, showLevel);
  await fillDevices();
  return stream;
}

async function fillDevices() {
  const { inputs, outputs } = await media.listDevices();
  for (const [select, devices, fallback] of [[$("microphone"), inputs, "microphoneN"], [$("speaker"), outputs, "speakerN"]]) {
    const chosen = select.value;
    const options = [new Option(t("systemDefault"), "")];
    devices.forEach((d, i) => options.push(new Option(d.label || t(fallback, { n: i + 1 }), d.deviceId)));
    select.replaceChildren(...options);
    select.value = options.some((o) => o.value === chosen) ? chosen : "";
  }
  $("speaker").closest("div").hidden = !media.canChooseOutput();
}

let echo = null; // the running echo test

/// Ends the echo test (before the join, or when the person stops it).
export function stopEchoTest() {
  if (echo) echo.stop();
  echo = null;
}

function renderEcho(state, detail) {
  const button = $("echo-test");
  const running = state === "connecting" || state === "running";
  button.textContent = t(running ? "echoStop" : "echoTest");
  button.setAttribute("aria-pressed", String(running));
  const message = $("echo-message");
  message.hidden = state === "stopped";
  if (state === "connecting") message.textContent = t("echoConnecting");
  else if (state === "running") message.textContent = t("echoRunning");
  else if (state === "failed") {
    message.textContent = detail && detail.code ? errorText(detail) : t("failed", { reason: (detail && detail.message) || String(detail) });
  }
  if (state === "stopped" || state === "failed") echo = null;
}

/// Starts or stops the echo test: the microphone opens (and the meter runs), a token for the room
/// is fetched as for the join, and the server plays the voice back a second later.
async function toggleEcho(getToken) {
  if (echo) return stopEchoTest();
  showJoinMessage("");
  let stream;
  try {
    stream = await testMicrophone();
  } catch (error) {
    return showJoinMessage(microphoneError(error));
  }
  let grant;
  try {
    grant = await getToken();
  } catch (error) {
    return showJoinMessage(error.message);
  }
  if (!grant) return;
  echo = new EchoTest({ token: grant.token, stream, audioElement: $("echo-audio"), onState: renderEcho });
  echo.start();
}

/// A token from a meeting's join URL (BigBlueButton API): its room, name and expiry are readable (it
/// is signed, not secret); it is kept for this tab only and taken out of the address bar, so a copied
/// link does not hand one's place to somebody else.
export function grantFromURL() {
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || sessionStorage.getItem("plenum.token");
  if (!token) return null;
  try {
    const body = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
    const grant = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(body), (c) => c.charCodeAt(0))));
    sessionStorage.setItem("plenum.token", token);
    if (params.has("token")) {
      params.delete("token");
      history.replaceState(null, "", `${location.pathname}${params.size ? `?${params}` : ""}`);
    }
    return { token, room: grant.room, roomName: grant.room, name: grant.name, expires: grant.expires };
  } catch {
    return null;
  }
}

/// The errors a BigBlueButton join redirect brought (`errors=[{"key","message"}]`), as text.
function redirectErrors() {
  const raw = new URLSearchParams(location.search).get("errors");
  if (!raw) return null;
  try {
    const list = JSON.parse(raw);
    const first = Array.isArray(list) ? list[0] : null;
    if (!first) return null;
    const known = { meetingForciblyEnded: "meetingGone", notFound: "meetingGone", invalidMeetingIdentifier: "meetingGone",
      maxParticipantsReached: "meetingFull", guestDeniedAccess: "denied", missingParamFullName: "needName" };
    return known[first.key] ? t(known[first.key]) : String(first.message || first.key);
  } catch {
    return null;
  }
}

/// No way in from here (the meeting ended, the link expired, we were removed): no join buttons.
export function closeTheDoor(closed) {
  $("join-actions").hidden = closed;
  $("join-fields").hidden = closed;
  $("ended-actions").hidden = !closed;
}

export function setUpJoin({ onJoin, grant, getToken }) {
  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    onJoin(true);
  });
  $("join-listen").addEventListener("click", () => onJoin(false));
  $("mic-test").addEventListener("click", async () => {
    try {
      await testMicrophone();
    } catch (error) {
      showJoinMessage(microphoneError(error));
    }
  });
  $("microphone").addEventListener("change", async () => {
    media.chooseInput($("microphone").value);
    if (!media.currentMicrophone()) return;
    media.closeMicrophone();
    await testMicrophone().catch((error) => showJoinMessage(microphoneError(error)));
  });
  $("speaker").addEventListener("change", () => {
    media.chooseOutput($("speaker").value, $("remote-audio"));
    media.chooseOutput($("speaker").value, $("echo-audio"));
  });
  $("echo-test").addEventListener("click", () => toggleEcho(getToken));
  $("speaker-test").addEventListener("click", () => media.playTestSound());
  locale.addEventListener("change", () => {
    if (grant && grant.name) $("joining-as").textContent = t("joiningAs", { name: grant.name });
    if (!heard) $("mic-message").textContent = t("micHint");
    $("echo-test").textContent = t(echo ? "echoStop" : "echoTest");
  });

  const params = new URLSearchParams(location.search);
  $("room").value = params.get("room") || "";
  $("name").value = params.get("name") || localStorage.getItem("plenum.name") || "";
  if (grant) {
    $("room").value = grant.room;
    $("room-fields").hidden = true;
    if (grant.name) {
      $("name").value = grant.name;
      $("name-field").hidden = true;
      $("joining-as").hidden = false;
      $("joining-as").textContent = t("joiningAs", { name: grant.name });
    }
    // An expired link says so before anything else happens (not after the microphone opened).
    if (grant.expires && grant.expires * 1000 < Date.now()) {
      sessionStorage.removeItem("plenum.token");
      showJoinMessage(errorText({ code: "token-expired" }));
      closeTheDoor(true);
      return;
    }
  }
  const refused = redirectErrors();
  if (refused) showJoinMessage(refused);
  ($("name").value ? $("room").value ? $("join-mic") : $("room") : $("name")).focus();
  if (!window.isSecureContext) showJoinMessage(t("insecure"));
}
