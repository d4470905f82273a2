// The join screen's echo test: the microphone goes to the server and comes back a second later,
// through everything a meeting uses (ICE, DTLS-SRTP, the jitter buffer, talk detection, Opus), so
// the person hears what the others would hear. A private room on the server: nobody else is in it,
// and it touches no meeting. Its own WebSocket and peer connection, closed before the join.

/// The signalling protocol version (as in session.js).
const PROTOCOL_VERSION = 1;

export class EchoTest {
  /// `onState(state, detail)`: "connecting", "running" (detail: seconds the server allows),
  /// "stopped", or "failed" (detail: the server's refusal `{code, message}` or an Error).
  constructor({ token, stream, audioElement, onState }) {
    Object.assign(this, { token, stream, audioElement, onState });
    this.stopped = false;
    this.timer = null;
  }

  async start() {
    this.onState("connecting");
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.pc = pc;
    for (const track of this.stream.getAudioTracks()) pc.addTrack(track, this.stream);
    pc.ontrack = (event) => {
      this.audioElement.srcObject = event.streams[0] || new MediaStream([event.track]);
      this.audioElement.play().catch(() => {});
    };
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === "failed") this.fail(new Error("ICE failed"));
    };
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws`);
    this.socket = socket;
    socket.onopen = async () => {
      await pc.setLocalDescription(await pc.createOffer());
      if (this.stopped) return;
      socket.send(JSON.stringify({ type: "echo", version: PROTOCOL_VERSION, token: this.token, sdp: pc.localDescription.sdp }));
    };
    socket.onmessage = async (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "echo-answer") {
        await pc.setRemoteDescription({ type: "answer", sdp: message.sdp }).catch((error) => this.fail(error));
        if (this.stopped) return;
        this.onState("running", message.seconds);
        // The server ends the test then; stop first, so the page says so.
        this.timer = setTimeout(() => this.stop(), Math.max(1, (message.seconds || 60) - 1) * 1000);
      } else if (message.type === "error") {
        this.fail(message);
      }
    };
    socket.onclose = () => {
      if (!this.stopped) this.stop();
    };
  }

  fail(reason) {
    if (this.stopped) return;
    this.close();
    this.onState("failed", reason);
  }

  stop() {
    if (this.stopped) return;
    this.close();
    this.onState("stopped");
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) {
      this.socket.onclose = null;
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: "leave" }));
      this.socket.close();
    }
    if (this.pc) this.pc.close();
    this.audioElement.srcObject = null;
  }
}
