// The centre of the room: for now the person speaking (another than oneself), large (cameras, screen sharing and slides
// land here next). The last speaker stays shown for a moment after they stop, so the stage does not
// flicker between words.
import { $, icon, initials, hue } from "../dom.js";
import { t, locale } from "../locale.js";
import { store } from "../store.js";

let lastSpeaker = null; // { id, until }

function speaker() {
  const { participants, memberId } = store.state;
  // Others, never oneself: one hears oneself, and the stage is for whom one listens to.
  const talking = [...participants.values()].filter((p) => p.talking && !p.muted && p.id !== memberId);
  if (talking.length) {
    const chosen = talking.find((p) => p.id === lastSpeaker?.id) ?? talking[0];
    lastSpeaker = { id: chosen.id, until: Date.now() + 2000 };
    return { person: chosen, talking: true };
  }
  if (lastSpeaker && Date.now() < lastSpeaker.until && participants.has(lastSpeaker.id)) {
    return { person: participants.get(lastSpeaker.id), talking: false };
  }
  return null;
}

function render() {
  const state = store.state;
  const shown = speaker();
  const card = $("speaker-card");
  const others = state.participants.size - 1;
  card.classList.toggle("talking", !!shown?.talking);
  card.classList.toggle("idle", !shown);
  if (shown) {
    const p = shown.person;
    // A phone caller's name is often a masked number: the phone itself stands for it.
    if (p.kind === "phone") $("speaker-avatar").replaceChildren(icon("phone"));
    else $("speaker-avatar").textContent = initials(p.name);
    $("speaker-avatar").style.setProperty("--hue", hue(p.id));
    $("speaker-avatar").dataset.kind = p.kind;
    $("speaker-name").textContent = p.name;
    $("speaker-state").textContent = shown.talking ? t("speaking") : "";
  } else {
    $("speaker-avatar").replaceChildren(icon("people"));
    $("speaker-avatar").style.removeProperty("--hue");
    delete $("speaker-avatar").dataset.kind;
    $("speaker-name").textContent = others <= 0 ? t("aloneHere") : t("nobodySpeaking");
    $("speaker-state").textContent = others <= 0 ? t("aloneHint") : t("inTheRoom", { count: state.participants.size });
  }
}

/// Camera tiles, kept by key (a video element re-given its stream would restart), in a grid that
/// replaces the speaker card while anybody's camera is on: one's own (mirrored, like a mirror) and each
/// receive slot that carries somebody's. The talking ring is the participant's.
const tiles = new Map();

function tile(key, stream, member, self) {
  let figure = tiles.get(key);
  if (!figure) {
    figure = document.createElement("figure");
    figure.className = "tile";
    figure.append(videoElement(), document.createElement("figcaption"));
    tiles.set(key, figure);
  }
  const video = figure.querySelector("video");
  if (video.srcObject !== stream) {
    video.srcObject = stream;
    video.play().catch(() => {});
  }
  const person = store.state.participants.get(member);
  const name = person ? person.name : "";
  figure.querySelector("figcaption").textContent = self ? t("youCamera") : name;
  figure.setAttribute("aria-label", self ? t("youCamera") : t("cameraOf", { name }));
  figure.classList.toggle("self", self);
  figure.classList.toggle("talking", !!person && !!person.talking && !person.muted);
  figure.dataset.member = String(member);
  return figure;
}

/// A participant without a camera in the grid: the avatar (a phone for phone callers, whose name
/// is usually the masked number), the name, the talking ring. Phone callers are in the picture too.
function personTile(p) {
  const key = `person-${p.id}`;
  let figure = tiles.get(key);
  if (!figure) {
    figure = document.createElement("figure");
    figure.className = "tile person";
    const avatar = document.createElement("div");
    avatar.className = "avatar";
    avatar.setAttribute("aria-hidden", "true");
    figure.append(avatar, document.createElement("figcaption"));
    tiles.set(key, figure);
  }
  const avatar = figure.querySelector(".avatar");
  const face = p.kind === "phone" ? "phone" : initials(p.name);
  if (avatar.dataset.face !== face) {
    if (p.kind === "phone") avatar.replaceChildren(icon("phone"));
    else avatar.textContent = face;
    avatar.dataset.face = face;
  }
  avatar.style.setProperty("--hue", hue(p.id));
  const self = p.id === store.state.memberId;
  const name = self ? t("youCamera") : p.name;
  figure.querySelector("figcaption").textContent = name;
  figure.setAttribute("aria-label", p.kind === "phone" ? t("phoneTile", { name }) : t("personTile", { name }));
  figure.classList.toggle("talking", !!p.talking && !p.muted);
  figure.dataset.member = String(p.id);
  figure.dataset.kind = p.kind;
  return figure;
}

let page = 0;

/// Tiles per page: two on a phone, nine (3×3) on a wide screen.
function pageSize() {
  return window.matchMedia("(max-width: 760px)").matches ? 2 : 9;
}

function videoElement() {
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // the sound comes mixed, through the audio element
  return video;
}

/// The shared screen, large: somebody else's, or a preview of our own. Text must stay readable, so
/// it is shown whole (contain), and it can fill the screen.
function renderScreen(stream, member, self) {
  const view = $("screen-view");
  view.hidden = !stream;
  if (!stream) {
    const video = view.querySelector("video");
    if (video) video.srcObject = null;
    return;
  }
  let video = view.querySelector("video");
  if (!video) {
    video = videoElement();
    view.prepend(video);
  }
  if (video.srcObject !== stream) {
    video.srcObject = stream;
    video.play().catch(() => {});
  }
  const person = store.state.participants.get(member);
  const label = self ? t("yourScreen") : t("screenOf", { name: person ? person.name : "" });
  $("screen-caption").textContent = label;
  view.setAttribute("aria-label", label);
  view.dataset.member = String(member);
  view.classList.toggle("self", self);
}

/// One MediaStream per receive slot and track (a new one each render would restart the video).
const slotStreams = new Map();
function slotStream(mid, track) {
  const known = slotStreams.get(mid);
  if (known && known.track === track) return known.stream;
  const stream = new MediaStream([track]);
  slotStreams.set(mid, { track, stream });
  return stream;
}

function renderVideos() {
  const state = store.state;
  const shown = [];
  // Somebody else's screen wins over our own preview (ours is refused while theirs is on).
  let screen = null;
  if (state.localVideo) shown.push(tile("self", state.localVideo, state.memberId, true));
  for (const [mid, { member, kind }] of state.videoSlots) {
    const track = state.videoTracks.get(mid);
    if (!track) continue;
    if (kind === "screen") {
      if (!screen) screen = { stream: slotStream(mid, track), member, self: false };
      continue;
    }
    shown.push(tile(mid, slotStream(mid, track), member, false));
  }
  if (!screen && state.localScreen) screen = { stream: state.localScreen, member: state.memberId, self: true };
  renderScreen(screen?.stream, screen?.member, !!screen?.self);
  // With a screen on the stage the cameras are a strip beside it.
  $("stage").dataset.layout = screen ? "screen" : shown.length ? "grid" : "speaker";
  // Once anybody shows a camera the grid has everybody: the others (phone callers too) as avatars.
  if (shown.length && !screen) {
    const filming = new Set([...state.videoSlots.values()].map((slot) => slot.member));
    if (state.localVideo) filming.add(state.memberId);
    const people = [...state.participants.values()].filter((p) => !filming.has(p.id))
      .sort((a, b) => (a.id === state.memberId ? -1 : b.id === state.memberId ? 1 : a.name.localeCompare(b.name)));
    for (const p of people) shown.push(personTile(p));
  }
  // Pages: the tiles that fit, a pager for the rest.
  const size = screen ? Math.max(1, shown.length) : pageSize(); // beside a screen: one strip, no pages
  const pages = Math.max(1, Math.ceil(shown.length / size));
  page = Math.max(0, Math.min(page, pages - 1));
  const all = shown.length;
  shown.splice(0, shown.length, ...shown.slice(page * size, page * size + size));
  $("grid-pager").hidden = pages <= 1;
  $("grid-page").textContent = t("pageOf", { page: page + 1, pages });
  $("grid-previous").disabled = page === 0;
  $("grid-next").disabled = page >= pages - 1;
  $("stage").dataset.tiles = String(all);
  // Others' cameras can be paused to save bandwidth (the shared screen stays).
  const othersFilming = (state.cameras || []).some((c) => c.kind !== "screen" && c.member !== state.memberId);
  $("incoming-video").hidden = !othersFilming && state.incomingVideo;
  $("incoming-video").setAttribute("aria-pressed", String(!state.incomingVideo));
  $("incoming-video-label").textContent = state.incomingVideo ? t("hideIncomingVideo") : t("showIncomingVideo");
  $("incoming-video-icon").setAttribute("href", state.incomingVideo ? "icons.svg#camera-off" : "icons.svg#camera");
  // Forget video tiles off the page (their streams restart when shown) and people who left; avatars
  // of those still here are kept, so paging back does not rebuild them.
  for (const [key, figure] of tiles) {
    const gone = key.startsWith("person-") ? !state.participants.has(Number(key.slice(7))) : !shown.includes(figure);
    if (gone) tiles.delete(key);
  }
  const grid = $("video-grid");
  const current = [...grid.children];
  if (current.length !== shown.length || current.some((node, i) => node !== shown[i])) grid.replaceChildren(...shown);
  grid.dataset.count = String(shown.length);
  grid.hidden = shown.length === 0;
  $("speaker-card").hidden = shown.length > 0 || !!screen;
}

export function setUpStage(session) {
  store.watch(["localVideo", "localScreen", "videoSlots", "videoTracks", "participants", "memberId", "cameras", "incomingVideo"],
    renderVideos);
  $("grid-previous").addEventListener("click", () => {
    page = Math.max(0, page - 1);
    renderVideos();
  });
  $("grid-next").addEventListener("click", () => {
    page += 1;
    renderVideos();
  });
  window.matchMedia("(max-width: 760px)").addEventListener("change", renderVideos);
  $("incoming-video").addEventListener("click", () => {
    const s = session();
    if (s) s.setIncomingVideo(!store.state.incomingVideo);
  });
  $("screen-full").addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else $("screen-view").requestFullscreen().catch(() => {});
  });
  document.addEventListener("fullscreenchange", () => {
    const full = document.fullscreenElement === $("screen-view");
    $("screen-full").setAttribute("aria-pressed", String(full));
    $("screen-full").setAttribute("aria-label", t(full ? "exitFullScreen" : "fullScreen"));
    $("screen-full-icon").setAttribute("href", full ? "icons.svg#fullscreen-exit" : "icons.svg#fullscreen");
  });
  locale.addEventListener("change", renderVideos);
  store.watch(["participants", "memberId"], render);
  locale.addEventListener("change", render);
  // The hold after the last word ends by itself.
  setInterval(() => lastSpeaker && Date.now() >= lastSpeaker.until && render(), 500);
}
