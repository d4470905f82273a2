// The browser's audio devices: the microphone (opened only when the person asks, closed when the
// call ends), its level meter, the device lists and the speaker test.

let microphone = null; // the MediaStream, once allowed
let meter = null; // { context, frame }
let chosenInput = "";
let chosenOutput = "";

export const currentMicrophone = () => microphone;

/// Opens the microphone (the chosen device, or the default); a repeated call returns the same stream.
export async function openMicrophone() {
  if (microphone) return microphone;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw { name: "SecurityError" };
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (chosenInput) audio.deviceId = { exact: chosenInput };
  microphone = await navigator.mediaDevices.getUserMedia({ audio });
  return microphone;
}

/// Stops capturing: the tracks end (the browser's recording indicator goes off) and the meter stops.
export function closeMicrophone() {
  stopMeter();
  if (microphone) for (const track of microphone.getTracks()) track.stop();
  microphone = null;
}

/// Measures `stream` and calls `onLevel(percent)` about 60 times a second until `stopMeter`.
export function startMeter(stream, onLevel) {
  stopMeter();
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  meter = { context, frame: 0 };
  const draw = () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const dbfs = 10 * Math.log10(sum / samples.length + 1e-12);
    onLevel(Math.max(0, Math.min(100, Math.round((dbfs + 60) * (100 / 60)))));
    if (meter) meter.frame = requestAnimationFrame(draw);
  };
  draw();
}

export function stopMeter() {
  if (!meter) return;
  cancelAnimationFrame(meter.frame);
  meter.context.close().catch(() => {});
  meter = null;
}

/// The microphones and speakers the browser names (labels only once a microphone was allowed).
export async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return { inputs: [], outputs: [] };
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    inputs: devices.filter((d) => d.kind === "audioinput" && d.deviceId && d.deviceId !== "default"),
    outputs: devices.filter((d) => d.kind === "audiooutput" && d.deviceId && d.deviceId !== "default"),
  };
}

/// Chooses the microphone for the next `openMicrophone` (an open one is reopened by the caller).
export function chooseInput(deviceId) {
  chosenInput = deviceId;
}

/// Chooses the speaker for `element` (where the browser can: `setSinkId`).
export async function chooseOutput(deviceId, element) {
  chosenOutput = deviceId;
  if (element && element.setSinkId) await element.setSinkId(deviceId).catch(() => {});
}

export const canChooseOutput = () => "setSinkId" in HTMLMediaElement.prototype;

/// A short two-note chime on the chosen speaker, so the person knows they can hear the meeting.
export async function playTestSound() {
  const context = new AudioContext();
  const destination = context.createMediaStreamDestination();
  const element = new Audio();
  element.srcObject = destination.stream;
  if (chosenOutput && element.setSinkId) await element.setSinkId(chosenOutput).catch(() => {});
  await element.play().catch(() => {});
  const now = context.currentTime;
  for (const [frequency, start] of [[660, 0], [880, 0.35]]) {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0, now + start);
    gain.gain.linearRampToValueAtTime(0.3, now + start + 0.03);
    gain.gain.linearRampToValueAtTime(0, now + start + 0.3);
    oscillator.connect(gain).connect(destination);
    oscillator.start(now + start);
    oscillator.stop(now + start + 0.32);
  }
  setTimeout(() => {
    element.srcObject = null;
    context.close().catch(() => {});
  }, 900);
}
