// The Plenum web client: join screen with a microphone check, then the room (participants, mute,
// leave), over the signalling protocol in docs/signalling.md. Plain modern JavaScript, no libraries,
// nothing loaded from anywhere but this server.
import { strings, errors, pickLanguage, format } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let language = pickLanguage();
const t = (key, values) => format(strings[language][key] ?? strings.en[key] ?? key, values);
/// A refusal from the server in the reader's language, by its code (docs/signalling.md); a code this
/// page does not know yet shows the server's English text.
const errorText = (error) => {
  const text = (errors[language] || errors.en)[error.code] ?? errors.en[error.code];
  return text ? format(text, { seconds: error.retryAfter ?? "" }) : t("failed", { reason: error.message || error.code });
};
/// The signalling protocol version this page speaks (sent in `join`).
const PROTOCOL_VERSION = 1;

// ---- Language ------------------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = language;
  $("language").value = language;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of document.querySelectorAll("[data-i18n-aria-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nAriaLabel));
  }
  for (const element of document.querySelectorAll("[data-i18n-placeholder]")) {
    element.setAttribute("placeholder", t(element.dataset.i18nPlaceholder));
  }
  if (call) {
    renderParticipants();
    renderGuests();
    renderChat();
    renderControls();
    setStatus(call.statusKey);
  }
}

$("language").addEventListener("change", () => {
  language = $("language").value;
  localStorage.setItem("plenum.language", language);
  applyLanguage();
});

// ---- Microphone ---------------------------------------------------------------------------------

let microphone = null; // the MediaStream, once allowed
let meter = null;

function microphoneError(error) {
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

async function openMicrophone() {
  if (microphone) return microphone;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw { name: "SecurityError" };
  microphone = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  startMeter(microphone);
  return microphone;
}

function startMeter(stream) {
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let heard = false;
  const draw = () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const dbfs = 10 * Math.log10(sum / samples.length + 1e-12);
    const percent = Math.max(0, Math.min(100, Math.round((dbfs + 60) * (100 / 60))));
    $("level-bar").style.width = `${percent}%`;
    $("level").setAttribute("aria-valuenow", String(percent));
    if (percent > 25 && !heard) {
      heard = true;
      $("mic-message").textContent = t("micWorking");
    }
    meter = requestAnimationFrame(draw);
  };
  draw();
}

$("mic-test").addEventListener("click", async () => {
  try {
    await openMicrophone();
  } catch (error) {
    showJoinMessage(microphoneError(error));
  }
});

// ---- Joining ------------------------------------------------------------------------------------

let call = null;

function showJoinMessage(text) {
  $("join-message").textContent = text;
}

function setStatus(key) {
  if (call) call.statusKey = key;
  $("status").textContent = key ? t(key) : "";
  $("status").dataset.state = key || "";
}

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

/// A token from a meeting's join URL (BigBlueButton API): its room and name are readable (it is signed,
/// not secret); it is kept for this tab only and taken out of the address bar, so a copied link does
/// not hand one's place to somebody else.
function grantFromURL() {
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
    return { token, room: grant.room, roomName: grant.room, name: grant.name };
  } catch {
    return null;
  }
}
const urlGrant = grantFromURL();

async function join(withMicrophone) {
  showJoinMessage("");
  const name = urlGrant && urlGrant.name ? urlGrant.name : $("name").value.trim();
  const room = urlGrant ? urlGrant.room : $("room").value.trim();
  if (!name) return showJoinMessage(t("needName")), $("name").focus();
  if (!room) return showJoinMessage(t("needRoom")), $("room").focus();
  if (!window.RTCPeerConnection) return showJoinMessage(t("noWebRTC"));
  localStorage.setItem("plenum.name", name);
  let stream = null;
  if (withMicrophone) {
    try {
      stream = await openMicrophone();
    } catch (error) {
      return showJoinMessage(microphoneError(error));
    }
  }
  let grant = urlGrant;
  if (!grant) {
    try {
      grant = await requestToken(room, $("pin").value.trim());
    } catch (error) {
      return showJoinMessage(error.message);
    }
  }
  call = new Call({ name, room: grant.room, roomName: grant.roomName, token: grant.token, stream });
  $("join-view").hidden = true;
  $("room-view").hidden = false;
  $("room-title").textContent = grant.roomName && grant.roomName !== grant.room ? `${grant.roomName} · ${grant.room}` : grant.room;
  if (!urlGrant) history.replaceState(null, "", `?room=${encodeURIComponent(grant.room)}${language === "de" ? "&lang=de" : ""}`);
  applyLanguage();
  call.start();
}

$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  join(true);
});
$("join-listen").addEventListener("click", () => join(false));

// ---- The call -----------------------------------------------------------------------------------

/// One participation: the peer connection, the signalling socket (reopened and resumed when it drops),
/// and the room's participants.
class Call {
  constructor({ name, room, roomName, token, stream }) {
    Object.assign(this, { name, room, roomName, token, stream });
    this.participants = new Map();
    this.chat = [];
    this.guests = [];
    this.breakout = null; // the breakout room we are in
    this.breakouts = null; // the rooms, for moderators
    this.waiting = false;
    this.unread = 0;
    this.lock = {};
    this.memberId = null;
    this.role = "viewer";
    this.permissions = new Set();
    this.session = null; // handle to resume after the socket drops
    this.muted = false;
    this.ended = false;
    this.statusKey = "statusConnecting";
    this.restartTimer = null;
    this.reconnectDelay = 500;
  }

  start() {
    setStatus("statusConnecting");
    this.pc = this.makePeerConnection();
    this.openSocket(async () => {
      await this.pc.setLocalDescription(await this.pc.createOffer());
      this.send({ type: "join", version: PROTOCOL_VERSION, token: this.token, name: this.name, sdp: this.pc.localDescription.sdp });
    });
  }

  makePeerConnection() {
    // No STUN or TURN servers: the server is ICE-lite with public host candidates, and nothing may
    // be contacted but this server.
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    if (this.stream) {
      for (const track of this.stream.getAudioTracks()) pc.addTrack(track, this.stream);
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    pc.ontrack = (event) => {
      const audio = $("remote-audio");
      audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      audio.play().catch(() => {});
    };
    pc.oniceconnectionstatechange = () => this.onIceState(pc.iceConnectionState);
    return pc;
  }

  onIceState(state) {
    if (this.ended || this.waiting) return;
    if (state === "connected" || state === "completed") {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
      setStatus("statusConnected");
    } else if (state === "disconnected" || state === "failed") {
      setStatus("statusReconnecting");
      // A short outage heals by itself; after 2 s (or at once on failure) restart ICE on the new network.
      if (!this.restartTimer) {
        this.restartTimer = setTimeout(() => this.restartIce(), state === "failed" ? 0 : 2000);
      }
    }
  }

  async restartIce() {
    this.restartTimer = null;
    if (this.ended) return;
    this.pc.restartIce();
    const offer = await this.pc.createOffer({ iceRestart: true });
    await this.pc.setLocalDescription(offer);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.send({ type: "restart", sdp: offer.sdp });
      // After a network change the old TCP connection may look open but be dead: without an answer
      // soon, give it up and resume on a new one.
      clearTimeout(this.answerTimer);
      this.answerTimer = setTimeout(() => this.abandonSocket(), 3000);
    } // otherwise the reopened socket resumes with a fresh restart offer
    // Try again if this restart does not connect either.
    this.restartTimer = setTimeout(() => this.restartIce(), 8000);
  }

  abandonSocket() {
    const old = this.socket;
    this.socket = null;
    if (old) {
      old.onclose = old.onmessage = null;
      try { old.close(); } catch {}
    }
    this.reopen();
  }

  openSocket(onOpen) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws`);
    this.socket = socket;
    socket.onopen = () => {
      this.reconnectDelay = 500;
      onOpen();
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(message);
    };
    socket.onclose = () => {
      if (this.ended || socket !== this.socket) return;
      setStatus("statusReconnecting");
      setTimeout(() => this.reopen(), this.reconnectDelay);
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, 5000);
    };
  }

  /// The socket dropped (a network change ends TCP): resume the session on a new one, with an ICE
  /// restart so media finds the new path as well.
  reopen() {
    if (this.ended) return;
    this.openSocket(async () => {
      if (!this.session) return this.rejoin();
      this.pc.restartIce();
      const offer = await this.pc.createOffer({ iceRestart: true });
      await this.pc.setLocalDescription(offer);
      this.send({ type: "resume", session: this.session, sdp: offer.sdp });
      clearTimeout(this.answerTimer);
      this.answerTimer = setTimeout(() => this.abandonSocket(), 3000);
    });
  }

  /// The server no longer knows the session: join again with the same token and a new connection.
  async rejoin() {
    this.pc.close();
    this.participants.clear();
    rows.clear();
    this.pc = this.makePeerConnection();
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.send({ type: "join", version: PROTOCOL_VERSION, token: this.token, name: this.name, sdp: this.pc.localDescription.sdp });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  async onMessage(message) {
    switch (message.type) {
      case "answer":
        clearTimeout(this.answerTimer);
        this.waiting = false;
        $("waiting-notice").hidden = true;
        this.memberId = message.memberId;
        this.role = message.role || "viewer";
        if (message.roomName) {
          $("room-title").textContent = message.roomName !== this.room ? `${message.roomName} · ${this.room}` : this.room;
        }
        this.permissions = new Set(message.permissions || []);
        this.session = message.session;
        if (!message.restart || message.participants) {
          this.participants.clear();
          for (const p of message.participants || []) this.participants.set(p.id, p);
        }
        try {
          await this.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        } catch (error) {
          console.warn("answer", error);
        }
        if (this.muted) this.send({ type: "mute", muted: true });
        if (message.lock) this.lock = message.lock;
        this.chat = message.chat || [];
        this.welcome = message.welcome ? welcomeText(message.welcome) : "";
        renderParticipants();
        renderChat();
        renderControls();
        renderBreakout();
        break;
      case "participant-joined":
        this.participants.set(message.id, message);
        announce(t("joined", { name: message.name }));
        renderParticipants();
        renderChat();
        renderBreakout();
        break;
      case "participant-left": {
        const gone = this.participants.get(message.id);
        this.participants.delete(message.id);
        if (gone) announce(t("leftRoom", { name: gone.name }));
        renderParticipants();
        break;
      }
      case "talking":
      case "muted":
      case "renamed":
      case "hand": {
        const p = this.participants.get(message.id);
        if (!p) break;
        if (message.type === "talking") p.talking = message.talking;
        if (message.type === "muted") {
          p.muted = message.muted;
          if (message.id === this.memberId && message.muted && !this.muted) {
            this.setMuted(true, false);
            announce(t("mutedByModerator"));
          }
        }
        if (message.type === "renamed") p.name = message.name;
        if (message.type === "hand" && message.id === this.memberId) setTimeout(renderControls);
        if (message.type === "hand") p.hand = message.raised;
        renderParticipants();
        break;
      }
      case "waiting":
        this.waiting = true;
        setStatus("statusWaiting");
        $("waiting-notice").hidden = false;
        renderChat();
        break;
      case "denied":
        this.end();
        sessionStorage.removeItem("plenum.token");
        showJoinMessage(t("denied"));
        break;
      case "guests":
        this.guests = message.guests || [];
        renderGuests();
        break;
      case "moved":
        // The bridge moved us (a breakout room, or back): the same connection, another room.
        this.participants.clear();
        rows.clear();
        for (const p of message.participants || []) this.participants.set(p.id, p);
        this.chat = message.chat || [];
        this.unread = 0;
        this.breakout = message.breakout;
        $("room-title").textContent = message.roomName || message.room;
        announce(message.breakout ? message.breakout.name : message.roomName);
        renderParticipants();
        renderChat();
        renderBreakout();
        break;
      case "breakout":
        this.breakout = message;
        renderBreakout();
        break;
      case "breakouts":
        this.breakouts = message;
        if (!message.active) this.helpRequests = [];
        renderBreakout();
        break;
      case "help":
        this.helpRequests = (this.helpRequests || []).concat([message]).slice(-5);
        announce(t("helpRequest", { name: message.name, room: message.room }));
        renderBreakout();
        break;
      case "you":
        this.role = message.role;
        this.permissions = new Set(message.permissions || []);
        renderParticipants();
        renderControls();
        break;
      case "role": {
        const p = this.participants.get(message.id);
        if (p) p.role = message.role;
        renderParticipants();
        break;
      }
      case "lock":
        this.lock = message;
        renderChat();
        break;
      case "chat":
        this.chat.push(message);
        if (!chatInView()) this.unread += 1;
        renderChat();
        break;
      case "chat-deleted":
        this.chat = this.chat.filter((m) => m.id !== message.id);
        renderChat();
        break;
      case "removed":
      case "meeting-ended":
        this.end();
        sessionStorage.removeItem("plenum.token");
        showJoinMessage(t(message.type === "removed" ? "removed" : "meetingEnded"));
        break;
      case "error":
        // By code, never by English text: a refused chat message while waiting is no failed join.
        if (message.code === "session-expired") return this.rejoin();
        if (message.request === "join" || (!message.request && message.code.startsWith("connection-"))) {
          this.end();
          showJoinMessage(errorText(message));
        } else {
          showToast(errorText(message));
        }
        break;
    }
  }

  setMuted(muted, tellServer = true) {
    this.muted = muted;
    if (this.stream) for (const track of this.stream.getAudioTracks()) track.enabled = !muted;
    if (tellServer) this.send({ type: "mute", muted });
    renderControls();
  }

  end() {
    this.ended = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.answerTimer);
    if (this.socket) {
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: "leave" }));
      this.socket.close();
    }
    if (this.pc) this.pc.close();
    $("remote-audio").srcObject = null;
    $("waiting-notice").hidden = true;
    $("guests-box").hidden = true;
    $("breakout-panel").hidden = true;
    $("breakout-banner").hidden = true;
    $("room-view").hidden = true;
    $("join-view").hidden = false;
    $("room-title").textContent = "";
    setStatus("");
    call = null;
  }
}

// ---- Rendering ----------------------------------------------------------------------------------

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("icon");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `icons.svg#${name}`);
  svg.append(use);
  return svg;
}

/// A list row for a person: the phone or browser symbol and the name (as text, never HTML).
function personRow(className, kind, name) {
  const li = document.createElement("li");
  li.className = className;
  li.dataset.kind = kind || "other";
  li.append(icon(kind === "phone" ? "phone" : "browser"));
  const span = document.createElement("span");
  span.className = "name";
  span.textContent = name;
  li.append(span);
  return li;
}

/// A small button that shows only an icon: its label is for screen readers and the tooltip.
function iconButton(label, iconName, className, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `small ${className}`;
  button.setAttribute("aria-label", label);
  button.title = label;
  button.append(icon(iconName));
  button.addEventListener("click", onClick);
  return button;
}

/// Rows are kept by participant and rebuilt only when what they show changes: talking only toggles a
/// class, so a row's buttons never vanish under the pointer or the keyboard focus.
const rows = new Map();

function renderParticipants() {
  if (!call) return;
  const list = $("participants");
  const people = [...call.participants.values()].sort((a, b) =>
    a.id === call.memberId ? -1 : b.id === call.memberId ? 1 : a.name.localeCompare(b.name));
  const permissions = [...call.permissions].sort().join();
  const items = people.map((p) => {
    const signature = JSON.stringify([p.name, p.muted, p.role, p.kind, p.number, p.hand, p.id === call.memberId, !!call.stream,
      permissions, language]);
    let li = rows.get(p.id);
    if (!li || li.dataset.signature !== signature) {
      li = buildRow(p);
      li.dataset.signature = signature;
      rows.set(p.id, li);
    }
    const talking = !!p.talking && !p.muted;
    li.classList.toggle("talking", talking);
    li.querySelector(".talking-text").textContent = talking ? t("talking") : "";
    return li;
  });
  for (const id of rows.keys()) if (!call.participants.has(id)) rows.delete(id);
  const current = [...list.children];
  if (current.length !== items.length || current.some((node, i) => node !== items[i])) list.replaceChildren(...items);
  $("count").textContent = `(${people.length})`;
}

function buildRow(p) {
  const li = personRow("participant", p.kind, p.name);
  li.dataset.id = p.id;
  const details = [];
  if (p.id === call.memberId) details.push(t("you"));
  if (p.kind === "phone") details.push(p.number && !p.name.includes(p.number) ? `${t("phone")} ${p.number}` : t("phone"));
  if (p.id === call.memberId && !call.stream) details.push(t("listening"));
  if (p.role === "moderator") details.push(t("moderator"));
  if (details.length) {
    const small = document.createElement("span");
    small.className = "details";
    small.textContent = details.join(" · ");
    li.append(small);
  }
  const state = document.createElement("span");
  state.className = "state";
  if (p.hand) {
    const hand = icon("hand");
    hand.classList.add("hand");
    state.append(hand);
    state.append(srOnly(t("handRaised")));
  }
  if (p.muted) {
    state.append(icon("mic-off"));
    state.append(srOnly(t("muted")));
  }
  const talking = srOnly("");
  talking.classList.add("talking-text");
  state.append(talking);
  li.append(state);
  const actions = moderatorActions(p);
  if (actions.childElementCount) li.append(actions);
  return li;
}

/// The buttons a participant's row offers to someone allowed to use them (the server checks again).
function moderatorActions(p) {
  const box = document.createElement("span");
  box.className = "actions-inline";
  if (p.id === call.memberId) return box;
  const may = (permission) => call.permissions.has(permission);
  const add = (label, iconName, onClick, extraClass = "") => box.append(iconButton(label, iconName, extraClass, onClick));
  const name = p.name;
  if (may("muteOthers") && !p.muted) {
    add(t("muteParticipant", { name }), "mic-off", () => call.send({ type: "mute", id: p.id, muted: true }), "mute-other");
  }
  if (may("rename")) {
    add(t("renameParticipant", { name }), "edit", () => {
      const fresh = prompt(t("newName", { name }), name);
      if (fresh && fresh.trim()) call.send({ type: "rename", id: p.id, name: fresh.trim() });
    }, "rename");
  }
  if (may("promote") && p.kind === "browser") {
    const up = p.role !== "moderator";
    add(t(up ? "makeModerator" : "makeViewer", { name }), up ? "star" : "star-off",
        () => call.send({ type: up ? "promote" : "demote", id: p.id }), "role");
  }
  if (may("remove")) {
    add(t("removeParticipant", { name }), "remove", () => {
      if (confirm(t("confirmRemove", { name }))) call.send({ type: "remove", id: p.id });
    }, "remove danger");
  }
  return box;
}

// ---- The waiting room (moderators) ----------------------------------------------------------

function renderGuests() {
  if (!call) return;
  const box = $("guests-box");
  box.hidden = call.guests.length === 0 || !call.permissions.has("admitGuests");
  const items = call.guests.map((g) => {
    const li = personRow("participant guest", g.kind, g.name);
    li.dataset.guest = g.id;
    const actions = document.createElement("span");
    actions.className = "actions-inline";
    for (const [allow, label, iconName, extra] of [[true, "admit", "check", "admit"], [false, "deny", "remove", "deny danger"]]) {
      actions.append(iconButton(t(label, { name: g.name }), iconName, extra, () => call.send({ type: "admit", guest: g.id, allow })));
    }
    li.append(actions);
    return li;
  });
  $("guests").replaceChildren(...items);
}

// ---- Breakout rooms ------------------------------------------------------------------------------

function timeLeft(endsAt) {
  const seconds = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/// The time left, once a second: only the two texts change, so no button is redrawn under the focus.
function renderCountdowns() {
  if (!call) return;
  if (call.breakout) {
    $("breakout-banner").textContent = t("inBreakout", { name: call.breakout.name, time: timeLeft(call.breakout.endsAt) });
  }
  if (call.breakouts && call.breakouts.active) $("breakout-left").textContent = timeLeft(call.breakouts.endsAt);
}

function renderBreakout() {
  if (!call) return;
  $("breakout-banner").hidden = !call.breakout;
  renderCountdowns();
  const panel = $("breakout-panel");
  const manages = call.permissions.has("manageBreakouts");
  const active = !!(call.breakouts && call.breakouts.active);
  if (manages && !active) renderAssignments();
  const choosing = !manages && active && call.breakouts.freeJoin && !call.breakout;
  panel.hidden = !manages && !choosing;
  $("breakout-heading").textContent = choosing ? t("chooseRoom") : t("breakoutRooms");
  for (const element of panel.querySelectorAll(".moderator-only")) element.hidden = !manages;
  $("help").hidden = !call.breakout;
  $("help-requests").replaceChildren(...(call.helpRequests || []).map((h) => {
    const li = document.createElement("li");
    li.textContent = t("helpRequest", { name: h.name, room: h.room });
    return li;
  }));
  $("breakout-setup").hidden = active;
  $("breakout-running").hidden = !active;
  if (active) {
    const items = call.breakouts.rooms.map((room) => {
      const li = document.createElement("li");
      li.className = "participant breakout-room";
      li.dataset.sequence = room.sequence;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = room.name;
      li.append(name);
      const details = document.createElement("span");
      details.className = "details";
      details.textContent = `${t("people", { count: room.members.length })} · ${room.voiceBridge}`;
      li.append(details);
      li.append(iconButton(t("joinRoom", { name: room.name }), "browser", "visit", () =>
        call.send({ type: manages ? "breakouts-visit" : "breakouts-choose", sequence: room.sequence })));
      return li;
    });
    $("breakout-rooms").replaceChildren(...items);
  }
}

setInterval(renderCountdowns, 1000);

/// By hand: a choice per participant (a room, or at random); kept while the list is redrawn.
const assignments = new Map();

function renderAssignments() {
  const count = Math.max(1, Math.min(16, Number($("breakout-count").value) || 2));
  const people = [...call.participants.values()].filter((p) => p.role !== "moderator" && p.id !== call.memberId);
  const list = $("breakout-assign");
  if (list.contains(document.activeElement)) return; // never redraw under the keyboard
  list.replaceChildren(...people.map((p) => {
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

$("breakout-count").addEventListener("change", () => call && renderAssignments());

$("breakout-start").addEventListener("click", () => {
  if (!call) return;
  const count = Math.max(1, Math.min(16, Number($("breakout-count").value) || 2));
  const minutes = Math.max(1, Math.min(240, Number($("breakout-minutes").value) || 15));
  // Everybody but the moderators, shuffled, dealt round the rooms.
  const people = [...call.participants.values()].filter((p) => p.role !== "moderator" && p.id !== call.memberId).map((p) => p.id);
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
  call.send({ type: "breakouts-start", seconds: minutes * 60, rooms, freeJoin });
});
$("breakout-message-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("breakout-message").value.trim();
  if (call && text) call.send({ type: "breakouts-message", text });
  $("breakout-message").value = "";
});
$("help").addEventListener("click", () => {
  if (!call) return;
  call.send({ type: "help" });
  announce(t("helpAsked"));
});
$("breakout-extend").addEventListener("click", () => call && call.send({ type: "breakouts-extend", seconds: 300 }));
$("breakout-end").addEventListener("click", () => call && call.send({ type: "breakouts-end" }));
$("breakout-main").addEventListener("click", () => call && call.send({ type: "breakouts-visit", sequence: 0 }));

// ---- Chat ---------------------------------------------------------------------------------------

/// Whether the newest message can be seen: the chat list scrolled to its end and the page visible.
function chatInView() {
  const list = $("messages");
  return document.visibilityState === "visible" && list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

/// The meeting's welcome comes from the API caller and may carry markup: only its text is shown.
function welcomeText(html) {
  return (new DOMParser().parseFromString(html, "text/html").body.textContent || "").trim();
}

function renderChat() {
  if (!call) return;
  const list = $("messages");
  const wasAtEnd = chatInView();
  const firstUnread = call.chat.length - call.unread;
  const welcome = [];
  if (call.welcome) {
    const li = document.createElement("li");
    li.className = "chat-message welcome";
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = call.welcome;
    li.append(text);
    welcome.push(li);
  }
  const items = welcome.concat(call.chat.map((m, index) => {
    const li = document.createElement("li");
    li.className = "chat-message";
    li.dataset.id = m.id;
    if (index === firstUnread && call.unread > 0) li.classList.add("first-unread");
    if (m.to !== undefined) li.classList.add("private");
    const head = document.createElement("span");
    head.className = "from";
    const who = document.createElement("strong");
    who.textContent = m.fromName; // text, never HTML
    head.append(who);
    const meta = document.createElement("span");
    meta.className = "meta";
    const time = new Date(m.time).toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" });
    const recipient = m.to !== undefined ? call.participants.get(m.to) : null;
    meta.textContent = m.to === undefined ? time
      : `${time} · ${m.from === call.memberId ? t("privateTo", { name: recipient ? recipient.name : "?" }) : t("privateFrom")}`;
    head.append(meta);
    li.append(head);
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = m.text;
    li.append(text);
    if (call.permissions.has("moderateChat")) {
      li.append(iconButton(t("deleteMessage"), "remove", "delete-message", () => call.send({ type: "chat-delete", messageId: m.id })));
    }
    return li;
  }));
  list.replaceChildren(...items);
  if (wasAtEnd) list.scrollTop = list.scrollHeight;
  $("unread").hidden = call.unread === 0;
  $("unread").textContent = t("unread", { count: call.unread });
  // Recipients: the other browsers (phones cannot read).
  const select = $("chat-to");
  const chosen = select.value;
  const options = [new Option(t("everybody"), "")];
  for (const p of call.participants.values()) {
    if (p.id !== call.memberId && p.kind === "browser") options.push(new Option(p.name, String(p.id)));
  }
  select.replaceChildren(...options);
  select.value = options.some((o) => o.value === chosen) ? chosen : "";
  const moderator = call.role === "moderator";
  const publicLocked = call.lock.publicChat && !moderator;
  $("chat-locked").hidden = !publicLocked || call.waiting;
  // A guest in the waiting room is not in the meeting yet: nothing to chat with.
  $("chat-waiting").hidden = !call.waiting;
  $("chat-text").disabled = call.waiting;
  $("chat-form").querySelector("button[type=submit]")?.toggleAttribute("disabled", call.waiting);
}

function markChatRead() {
  if (call && call.unread && chatInView()) {
    call.unread = 0;
    renderChat();
  }
}

$("messages").addEventListener("scroll", markChatRead);
$("chat-text").addEventListener("focus", markChatRead);
document.addEventListener("visibilitychange", markChatRead);
$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("chat-text").value.trim();
  if (!call || !text) return;
  const to = $("chat-to").value;
  call.send(to ? { type: "chat", text, to: Number(to) } : { type: "chat", text });
  $("chat-text").value = "";
});

function srOnly(text) {
  const span = document.createElement("span");
  span.className = "sr-only";
  span.textContent = text;
  return span;
}

function renderControls() {
  if (!call) return;
  $("mute-all").hidden = !call.permissions.has("muteOthers");
  const me = call.participants.get(call.memberId);
  const raised = !!(me && me.hand);
  $("hand").setAttribute("aria-pressed", String(raised));
  $("hand-label").textContent = raised ? t("lowerHand") : t("raiseHand");
  $("end-meeting").hidden = !call.permissions.has("endMeeting");
  const button = $("mute");
  button.disabled = !call.stream;
  button.setAttribute("aria-pressed", String(call.muted));
  $("mute-label").textContent = call.muted ? t("unmute") : t("mute");
  $("mute-icon").setAttribute("href", call.muted ? "icons.svg#mic-off" : "icons.svg#mic");
}

function announce(text) {
  $("announcer").textContent = text;
}

/// A notice everybody sees for a few seconds (a refused request), not only screen readers.
let toastTimer = null;
function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 5000);
}

$("mute").addEventListener("click", () => call && call.stream && call.setMuted(!call.muted));
$("hand").addEventListener("click", () => {
  if (!call) return;
  const me = call.participants.get(call.memberId);
  call.send({ type: "hand", raised: !(me && me.hand) });
});
$("mute-all").addEventListener("click", () => call && call.send({ type: "mute-all", muted: true }));
$("end-meeting").addEventListener("click", () => {
  if (call && confirm(t("confirmEnd"))) call.send({ type: "end-meeting" });
});
$("leave").addEventListener("click", () => {
  if (!call) return;
  call.end();
  showJoinMessage(t("statusLeft"));
});
document.addEventListener("keydown", (event) => {
  const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement;
  if (!typing && !event.ctrlKey && !event.metaKey && !event.altKey && event.key.toLowerCase() === "m" && call && call.stream) {
    event.preventDefault();
    call.setMuted(!call.muted);
  }
});
window.addEventListener("beforeunload", () => call && call.end());

// ---- Start --------------------------------------------------------------------------------------

const params = new URLSearchParams(location.search);
$("room").value = params.get("room") || "";
$("name").value = params.get("name") || localStorage.getItem("plenum.name") || "";
if (urlGrant) {
  $("room").value = urlGrant.room;
  $("room-fields").hidden = true;
  if (urlGrant.name) {
    $("name").value = urlGrant.name;
    $("name-field").hidden = true;
    $("joining-as").hidden = false;
  }
}
applyLanguage();
if (urlGrant && urlGrant.name) $("joining-as").textContent = t("joiningAs", { name: urlGrant.name });
($("name").value ? $("room").value ? $("join-mic") : $("room") : $("name")).focus();
if (!window.isSecureContext) showJoinMessage(t("insecure"));
