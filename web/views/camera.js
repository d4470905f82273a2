// The camera's preview before it is shared (issue 15): the person picks the camera and the quality
// and sees themselves; nothing leaves the page until "Start camera". The quality profiles are
// BigBlueButton's: low 100, medium 200, high 500 and HD 800 kbit/s.
import { $ } from "../dom.js";
import { t } from "../locale.js";
import { store } from "../store.js";

export const PROFILES = {
  low: { width: 320, height: 180, frameRate: 15, maxBitrate: 100_000 },
  medium: { width: 640, height: 360, frameRate: 24, maxBitrate: 200_000 },
  high: { width: 1280, height: 720, frameRate: 24, maxBitrate: 500_000 },
  hd: { width: 1280, height: 720, frameRate: 30, maxBitrate: 800_000 },
};

/// The choice is remembered in this browser only.
const saved = () => ({ device: localStorage.getItem("plenum.camera") || "", quality: localStorage.getItem("plenum.cameraQuality") || "medium" });

let preview = null; // the MediaStream being previewed

function constraints(device, quality) {
  const p = PROFILES[quality] || PROFILES.medium;
  return {
    video: {
      ...(device ? { deviceId: { exact: device } } : {}),
      width: { ideal: p.width }, height: { ideal: p.height }, aspectRatio: { ideal: 16 / 9 }, frameRate: { ideal: p.frameRate },
    },
  };
}

function stopPreview() {
  if (preview) for (const track of preview.getTracks()) track.stop();
  preview = null;
  $("camera-preview").srcObject = null;
}

async function showPreview() {
  stopPreview();
  preview = await navigator.mediaDevices.getUserMedia(constraints($("camera-device").value, $("camera-quality").value));
  $("camera-preview").srcObject = preview;
  $("camera-preview").play().catch(() => {});
  // Labels are known once the camera is allowed: the list is filled (again) now.
  const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  const current = preview.getVideoTracks()[0]?.getSettings().deviceId || "";
  $("camera-device").replaceChildren(...cameras.map((d, i) => {
    const option = document.createElement("option");
    option.value = d.deviceId;
    option.textContent = d.label || t("cameraNumber", { number: i + 1 });
    option.selected = d.deviceId === current;
    return option;
  }));
}

/// Opens the preview; resolves when the person started the camera or cancelled.
export async function openCameraPreview(session) {
  const dialog = $("camera-dialog");
  const { device, quality } = saved();
  $("camera-quality").value = PROFILES[quality] ? quality : "medium";
  if (device) $("camera-device").replaceChildren(Object.assign(document.createElement("option"), { value: device }));
  try {
    await showPreview();
  } catch (error) {
    if (device) {
      // The remembered camera is gone: any camera will do.
      $("camera-device").replaceChildren();
      await showPreview();
    } else {
      throw error;
    }
  }
  dialog.returnValue = "";
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
  if (dialog.returnValue !== "start" || !preview) return stopPreview();
  localStorage.setItem("plenum.camera", $("camera-device").value);
  localStorage.setItem("plenum.cameraQuality", $("camera-quality").value);
  const stream = preview;
  preview = null;
  $("camera-preview").srcObject = null;
  await session.startCamera(stream, PROFILES[$("camera-quality").value] || PROFILES.medium);
}

export function setUpCamera() {
  for (const id of ["camera-device", "camera-quality"]) {
    $(id).addEventListener("change", () => showPreview().catch(() => store.emit("toast", t("cameraMissing"))));
  }
}
