// The client's state in one place: the session writes it, the views read it and listen for the
// keys they show. `set` merges a patch and tells the listeners which keys changed.

export class Store extends EventTarget {
  constructor() {
    super();
    this.reset();
  }

  /// Back to nothing: the join screen, no meeting.
  reset() {
    this.state = {
      phase: "join", // join | waiting | room
      status: "", // an i18n key: statusConnecting, statusConnected, statusReconnecting, statusWaiting
      room: "",
      roomName: "",
      memberId: null,
      role: "viewer",
      permissions: new Set(),
      participants: new Map(),
      guests: [],
      chat: [],
      unread: 0,
      lock: {},
      welcome: "",
      mainWelcome: "", // the meeting's, shown again back from a breakout room
      logoutURL: null, // where the meeting sends its people when they leave
      breakout: null, // the breakout room we are in
      breakouts: null, // the rooms, for moderators
      helpRequests: [],
      presenter: null,
      muted: false,
      listenOnly: false,
      joinedAt: null,
      quality: null, // good | fair | poor, from the connection's statistics
      panel: "participants", // the side panel's tab
      sheetOpen: false, // on phones the side panel is a sheet
      disabledFeatures: [], // what the meeting's create switched off: cameras, screenshare, chat, breakoutRooms
      cameras: [], // the room's published cameras: { id, member }
      cameraOn: false,
      incomingVideo: true, // false: the others' cameras are paused here (bandwidth)
      localVideo: null, // our camera's MediaStream (the self view)
      screenOn: false,
      localScreen: null, // the screen we share (its preview)
      videoTracks: new Map(), // receive slot (mid) → its track
      videoSlots: new Map(), // receive slot (mid) → { member, kind } of the camera or screen it carries
    };
  }

  set(patch) {
    Object.assign(this.state, patch);
    this.dispatchEvent(new CustomEvent("change", { detail: new Set(Object.keys(patch)) }));
  }

  /// Calls `render(state)` now and whenever one of `keys` changes (or the language does: "language").
  watch(keys, render) {
    this.addEventListener("change", (event) => {
      if (keys.some((key) => event.detail.has(key))) render(this.state);
    });
    render(this.state);
  }

  /// A one-off happening the views show (a toast, an announcement, the end of the meeting).
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get me() {
    return this.state.participants.get(this.state.memberId);
  }

  may(permission) {
    return this.state.permissions.has(permission);
  }
}

export const store = new Store();
