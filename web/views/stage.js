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

export function setUpStage() {
  store.watch(["participants", "memberId"], render);
  locale.addEventListener("change", render);
  // The hold after the last word ends by itself.
  setInterval(() => lastSpeaker && Date.now() >= lastSpeaker.until && render(), 500);
}
