// One participation in a room: the signalling WebSocket (reopened and resumed when it drops, see
// docs/signalling.md) and the peer connection. It turns the server's messages into the store's
// state; it draws nothing.
import { store } from "./store.js";
import { t, errorText } from "./locale.js";

/// The signalling protocol version this page speaks (sent in `join`).
const PROTOCOL_VERSION = 1;

export class Session {
  constructor({ name, room, roomName, token, stream, audioElement }) {
    Object.assign(this, { name, room, roomName, token, stream, audioElement });
    this.session = null; // handle to resume after the socket drops
    this.ended = false;
    this.restartTimer = null;
    this.answerTimer = null;
    this.reconnectDelay = 500;
    this.qualityTimer = null;
    // Video (issue 15): our camera's transceiver, the receive slots (mid → the camera id they carry,
    // null when free) and the cameras waiting for a slot. One renegotiation at a time.
    this.camera = null; // { stream, transceiver, published }
    this.screen = null; // a shared screen: { stream, transceiver, published }
    this.slots = new Map();
    this.wanted = [];
    this.negotiating = false;
    this.again = false;
  }

  start() {
    store.set({ status: "statusConnecting", listenOnly: !this.stream, joinedAt: Date.now() });
    this.pc = this.makePeerConnection();
    this.openSocket(() => this.sendJoin());
  }

  async sendJoin() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.send({ type: "join", version: PROTOCOL_VERSION, token: this.token, name: this.name, sdp: this.pc.localDescription.sdp });
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
      if (event.track.kind === "video") {
        // A receive slot's track: the same for every camera the slot carries over time.
        const videos = new Map(store.state.videoTracks);
        videos.set(event.transceiver.mid, event.track);
        store.set({ videoTracks: videos });
        return;
      }
      this.audioElement.srcObject = event.streams[0] || new MediaStream([event.track]);
      this.audioElement.play().catch(() => {});
    };
    pc.oniceconnectionstatechange = () => this.onIceState(pc.iceConnectionState);
    return pc;
  }

  onIceState(state) {
    if (this.ended || store.state.phase === "waiting") return;
    if (state === "connected" || state === "completed") {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
      store.set({ status: "statusConnected" });
      this.watchQuality();
    } else if (state === "disconnected" || state === "failed") {
      store.set({ status: "statusReconnecting", quality: null });
      // A short outage heals by itself; after 2 s (or at once on failure) restart ICE on the new network.
      if (!this.restartTimer) {
        this.restartTimer = setTimeout(() => this.restartIce(), state === "failed" ? 0 : 2000);
      }
    }
  }

  /// The connection's quality every 3 s from WebRTC's own statistics: round-trip time and loss of
  /// what we receive (good under 150 ms and 2 %, poor over 400 ms or 10 %).
  watchQuality() {
    if (this.qualityTimer) return;
    let previous = null;
    this.qualityTimer = setInterval(async () => {
      if (this.ended || !this.pc) return;
      const report = await this.pc.getStats().catch(() => null);
      if (!report) return;
      let rtt = null;
      let received = 0;
      let lost = 0;
      for (const entry of report.values()) {
        if (entry.type === "candidate-pair" && entry.nominated && entry.currentRoundTripTime !== undefined) rtt = entry.currentRoundTripTime;
        if (entry.type === "inbound-rtp" && entry.kind === "audio") {
          received += entry.packetsReceived || 0;
          lost += entry.packetsLost || 0;
        }
      }
      const delta = previous ? { received: received - previous.received, lost: lost - previous.lost } : null;
      previous = { received, lost };
      const loss = delta && delta.received + delta.lost > 0 ? delta.lost / (delta.received + delta.lost) : 0;
      const quality = (rtt ?? 0) > 0.4 || loss > 0.1 ? "poor" : (rtt ?? 0) > 0.15 || loss > 0.02 ? "fair" : "good";
      if (quality !== store.state.quality) store.set({ quality });
    }, 3000);
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
      store.set({ status: "statusReconnecting", quality: null });
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

  /// Offers again on the joined session (a camera started or stopped, slots changed); the server
  /// answers with `renegotiated`. The server is always the answerer, so offers never cross (no glare).
  async renegotiate() {
    if (this.negotiating) {
      this.again = true;
      return;
    }
    this.negotiating = true;
    try {
      // Cameras waiting for a slot take a free one, or a new receive-only transceiver (its mid is
      // known once the offer is set).
      const added = [];
      for (const id of this.wanted) {
        const free = [...this.slots.entries()].find(([, stream]) => stream === null);
        if (free) this.slots.set(free[0], id);
        else added.push({ id, transceiver: this.pc.addTransceiver("video", { direction: "recvonly" }) });
      }
      this.wanted = [];
      await this.pc.setLocalDescription(await this.pc.createOffer());
      for (const { id, transceiver } of added) if (transceiver.mid) this.slots.set(transceiver.mid, id);
      const message = { type: "renegotiate", sdp: this.pc.localDescription.sdp, subscriptions: Object.fromEntries(this.slots) };
      if (this.screen && this.screen.transceiver.mid) message.screen = this.screen.transceiver.mid;
      this.send(message);
    } catch (error) {
      console.warn("renegotiate", error);
      this.finishNegotiation();
    }
  }

  async onRenegotiated(sdp) {
    try {
      await this.pc.setRemoteDescription({ type: "answer", sdp });
      if (this.camera) this.camera.published = true;
      if (this.screen) this.screen.published = true;
    } catch (error) {
      console.warn("renegotiated", error);
    }
    this.publishSlots();
    this.finishNegotiation();
  }

  /// One negotiation ended (answered, refused or failed): what was asked for meanwhile is offered now.
  finishNegotiation() {
    this.negotiating = false;
    if (this.again) {
      this.again = false;
      this.renegotiate();
    }
  }

  /// The server refused our offer (a camera the meeting does not allow now): the offer is rolled
  /// back, a camera it would have started goes off again, and queued changes are offered anew.
  async onRenegotiateRefused(message) {
    try {
      await this.pc.setLocalDescription({ type: "rollback" });
    } catch (error) {
      console.warn("rollback", error);
    }
    if (this.camera && !this.camera.published) await this.dropCamera();
    if (this.screen && !this.screen.published) this.dropScreen();
    store.emit("toast", errorText(message));
    this.finishNegotiation();
  }

  /// Pauses or resumes the others' cameras here (to save bandwidth; a shared screen still comes):
  /// their slots are freed, so the server sends nothing on them.
  setIncomingVideo(on) {
    store.set({ incomingVideo: on });
    this.onCameras(store.state.cameras || []);
  }

  /// The room's cameras changed: slots of cameras gone are freed, new cameras are asked for.
  onCameras(cameras) {
    store.set({ cameras });
    const paused = !store.state.incomingVideo;
    const others = cameras.filter((c) => c.member !== store.state.memberId && !(paused && c.kind !== "screen")).map((c) => c.id);
    let changed = false;
    for (const [mid, id] of this.slots) {
      if (id !== null && !others.includes(id)) {
        this.slots.set(mid, null);
        changed = true;
      }
    }
    const carried = new Set(this.slots.values());
    this.wanted = others.filter((id) => !carried.has(id));
    if (changed || this.wanted.length) this.renegotiate();
    this.publishSlots();
  }

  /// What the stage shows: which slot (mid) carries whose camera.
  publishSlots() {
    const shown = new Map();
    for (const [mid, id] of this.slots) {
      const camera = (store.state.cameras || []).find((c) => c.id === id);
      if (camera) shown.set(mid, { member: camera.member, kind: camera.kind || "camera" });
    }
    store.set({ videoSlots: shown });
  }

  /// Turns our camera on with the stream its preview captured, sent on a transceiver of its own at
  /// the chosen profile's bit rate.
  async startCamera(stream, profile) {
    const track = stream.getVideoTracks()[0];
    track.contentHint = "motion";
    const transceiver = this.pc.addTransceiver(track, {
      direction: "sendonly", streams: [stream], sendEncodings: [{ maxBitrate: profile.maxBitrate, maxFramerate: profile.frameRate }],
    });
    this.camera = { stream, transceiver, published: false };
    store.set({ cameraOn: true, localVideo: stream });
    await this.renegotiate();
  }

  /// Turns it off: the capture ends (the browser's camera light goes off) and the m-line goes inactive.
  async stopCamera() {
    if (!this.camera) return;
    await this.dropCamera();
    await this.renegotiate();
  }

  /// The camera off here (capture ended, its m-line inactive from the next offer on).
  async dropCamera() {
    const camera = this.camera;
    this.camera = null;
    for (const track of camera.stream.getTracks()) track.stop();
    await camera.transceiver.sender.replaceTrack(null).catch(() => {});
    try {
      camera.transceiver.direction = "inactive";
    } catch {} // a transceiver that a rollback stopped
    store.set({ cameraOn: false, localVideo: null });
  }

  /// Shares a screen, a window or a tab (the browser asks which): sharp text at a low frame rate
  /// (content hint "detail"), on a transceiver of its own. The browser's own "Stop sharing" ends it too.
  async startScreen() {
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 5, max: 10 }, width: { max: 2560 }, height: { max: 1600 } },
      audio: false, // a shared tab's sound does not reach the room yet: nothing is captured for nothing
    });
    const track = stream.getVideoTracks()[0];
    track.contentHint = "detail";
    track.addEventListener("ended", () => this.stopScreen());
    // 2 Mbit/s at most: sharp enough for text at 1440p and 5 fps, and under the server's cap (4 Mbit/s).
    const transceiver = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream], sendEncodings: [{ maxBitrate: 2_000_000 }] });
    this.screen = { stream, transceiver, published: false };
    store.set({ screenOn: true, localScreen: stream });
    await this.renegotiate();
  }

  async stopScreen() {
    if (!this.screen) return;
    this.dropScreen();
    await this.renegotiate();
  }

  dropScreen() {
    const screen = this.screen;
    this.screen = null;
    for (const track of screen.stream.getTracks()) track.stop();
    screen.transceiver.sender.replaceTrack(null).catch(() => {});
    try {
      screen.transceiver.direction = "inactive";
    } catch {} // a transceiver that a rollback stopped
    store.set({ screenOn: false, localScreen: null });
  }

  /// The server no longer knows the session: join again with the same token and a new connection.
  async rejoin() {
    this.pc.close();
    if (this.camera) for (const track of this.camera.stream.getTracks()) track.stop();
    if (this.screen) for (const track of this.screen.stream.getTracks()) track.stop();
    this.camera = null;
    this.screen = null;
    this.slots = new Map();
    store.set({ participants: new Map(), cameraOn: false, localVideo: null, screenOn: false, localScreen: null,
      videoTracks: new Map(), videoSlots: new Map() });
    this.pc = this.makePeerConnection();
    await this.sendJoin();
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /// Updates one participant (and tells the views).
  patchParticipant(id, patch) {
    const p = store.state.participants.get(id);
    if (!p) return null;
    Object.assign(p, patch);
    store.set({ participants: store.state.participants });
    return p;
  }

  async onMessage(message) {
    const state = store.state;
    switch (message.type) {
      case "answer": {
        clearTimeout(this.answerTimer);
        const participants = !message.restart || message.participants
          ? new Map((message.participants || []).map((p) => [p.id, p])) : state.participants;
        try {
          await this.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        } catch (error) {
          console.warn("answer", error);
        }
        this.session = message.session;
        const me = participants.get(message.memberId);
        // The server's word on our microphone (muted on start, or by the lock) is what the bar shows.
        if (me && me.muted && !state.muted) this.setMuted(true, false);
        else if (state.muted) this.send({ type: "mute", muted: true });
        store.set({
          phase: "room",
          memberId: message.memberId,
          role: message.role || "viewer",
          roomName: message.roomName || state.roomName,
          permissions: new Set(message.permissions || []),
          participants,
          lock: message.lock || {},
          chat: message.chat || [],
          welcome: state.breakout ? "" : message.welcome ? welcomeText(message.welcome) : "",
          mainWelcome: message.welcome ? welcomeText(message.welcome) : state.mainWelcome,
          presenter: message.presenter ?? null,
          logoutURL: message.logoutURL ?? null,
          disabledFeatures: message.disabledFeatures || [],
        });
        if (state.status === "statusWaiting" || state.status === "statusConnecting") {
          const connected = ["connected", "completed"].includes(this.pc.iceConnectionState);
          store.set({ status: connected ? "statusConnected" : "statusConnecting" });
        }
        break;
      }
      case "renegotiated":
        this.onRenegotiated(message.sdp);
        break;
      case "cameras":
        this.onCameras(message.cameras || []);
        break;
      case "screen-stopped":
        store.emit("toast", t("screenStopped"));
        this.stopScreen();
        break;
      case "camera-stopped":
        // A moderator stopped our camera, or locked the viewers' cameras: it goes off here too.
        store.emit("toast", t(message.reason === "moderator" ? "cameraStoppedByModerator" : "camerasLockedNotice"));
        this.stopCamera();
        break;
      case "participants":
        // The list anew: the "see other viewers" lock changed what we may see.
        store.set({ participants: new Map((message.participants || []).map((p) => [p.id, p])) });
        break;
      case "participant-joined":
        state.participants.set(message.id, message);
        store.set({ participants: state.participants });
        store.emit("arrival", { name: message.name, joined: true });
        break;
      case "participant-left": {
        const gone = state.participants.get(message.id);
        state.participants.delete(message.id);
        store.set({ participants: state.participants });
        if (gone) store.emit("arrival", { name: gone.name, joined: false });
        break;
      }
      case "talking":
        this.patchParticipant(message.id, { talking: message.talking });
        break;
      case "muted":
        this.patchParticipant(message.id, { muted: message.muted });
        if (message.id === state.memberId && message.muted && !state.muted) {
          this.setMuted(true, false);
          store.emit("announce", t("mutedByModerator"));
        }
        break;
      case "renamed":
        this.patchParticipant(message.id, { name: message.name });
        break;
      case "hand":
        this.patchParticipant(message.id, { hand: message.raised });
        break;
      case "connection":
        this.patchParticipant(message.id, { reconnecting: message.reconnecting });
        break;
      case "waiting":
        store.set({ phase: "waiting", status: "statusWaiting" });
        break;
      case "denied":
        this.finish("denied");
        break;
      case "guests":
        store.set({ guests: message.guests || [] });
        break;
      case "moved":
        // The bridge moved us (a breakout room, or back): the same connection, another room.
        store.set({
          participants: new Map((message.participants || []).map((p) => [p.id, p])),
          chat: message.chat || [],
          unread: 0,
          breakout: message.breakout,
          // A breakout room is not the meeting: its welcome (and dial-in number) stays in the main room.
          welcome: message.breakout ? "" : state.mainWelcome,
          roomName: message.roomName || message.room,
          room: message.room || state.room,
        });
        store.emit("announce", message.breakout ? message.breakout.name : message.roomName);
        break;
      case "breakout":
        store.set({ breakout: message });
        break;
      case "breakouts":
        store.set({ breakouts: message, helpRequests: message.active ? state.helpRequests : [] });
        break;
      case "help":
        store.set({ helpRequests: state.helpRequests.concat([message]).slice(-5) });
        store.emit("announce", t("helpRequest", { name: message.name, room: message.room }));
        break;
      case "you":
        store.set({ role: message.role, permissions: new Set(message.permissions || []) });
        break;
      case "role":
        this.patchParticipant(message.id, { role: message.role });
        break;
      case "presenter":
        store.set({ presenter: message.id ?? null });
        break;
      case "lock":
        store.set({ lock: message });
        break;
      case "chat":
        state.chat.push(message);
        store.set({ chat: state.chat });
        store.emit("chat-message", message);
        break;
      case "chat-deleted":
        store.set({ chat: state.chat.filter((m) => m.id !== message.id) });
        break;
      case "removed":
        this.finish("removed");
        break;
      case "meeting-ended":
        this.finish("meetingEnded");
        break;
      case "error":
        // By code, never by English text: a refused chat message while waiting is no failed join.
        if (message.code === "session-expired") return this.rejoin();
        // A refused unmute (microphones locked): the microphone stays as the server has it.
        if (message.request === "mute" && store.me) this.setMuted(!!store.me.muted, false);
        if (message.request === "renegotiate") return this.onRenegotiateRefused(message);
        if (message.request === "join" || (!message.request && message.code.startsWith("connection-"))) {
          this.finish(null, errorText(message), message.code);
        } else {
          store.emit("toast", errorText(message));
        }
        break;
    }
  }

  setMuted(muted, tellServer = true) {
    if (this.stream) for (const track of this.stream.getAudioTracks()) track.enabled = !muted;
    if (tellServer) this.send({ type: "mute", muted });
    store.set({ muted });
  }

  /// The server ended our participation (or refused it): the page says why.
  finish(key, text, code) {
    this.end();
    store.emit("ended", { text: text ?? t(key), final: key !== null || code === "meeting-ended" || code === "token-expired", code });
  }

  /// Leaves: tells the server (so the others see us gone at once), closes everything.
  end() {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.answerTimer);
    clearInterval(this.qualityTimer);
    if (this.socket) {
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: "leave" }));
      this.socket.close();
    }
    if (this.pc) this.pc.close();
    if (this.camera) for (const track of this.camera.stream.getTracks()) track.stop();
    if (this.screen) for (const track of this.screen.stream.getTracks()) track.stop();
    this.camera = null;
    this.screen = null;
    this.audioElement.srcObject = null;
  }
}

/// The meeting's welcome comes from the API caller and may carry markup: only its text is shown.
function welcomeText(html) {
  return (new DOMParser().parseFromString(html, "text/html").body.textContent || "").trim();
}
