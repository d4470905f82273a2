"""Join time for a browser (issue 4's benchmark): from the WebSocket opening to the first audible audio
frame (the "you are alone" announcement), median of 20 joins with aiortc. Run by scripts/bench-webrtc-join.sh
inside a network namespace."""
import asyncio
import json
import statistics
import time

import numpy as np
import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from peers import SERVER_IP, Server
from test_webrtc import ToneTrack


async def join_once(server: Server) -> float:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(ToneTrack(440))
    first_audio = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track):
        async def pull():
            try:
                while not first_audio.done():
                    frame = await track.recv()
                    if np.abs(frame.to_ndarray()).max() > 500:
                        first_audio.set_result(time.perf_counter())
            except Exception:
                pass
        asyncio.ensure_future(pull())

    await pc.setLocalDescription(await pc.createOffer())
    started = time.perf_counter()
    token = server.token("3001")
    async with websockets.connect(server.ws_url, ssl=server.ssl_context()) as ws:
        await ws.send(json.dumps({"type": "join", "token": token, "name": "bench", "sdp": pc.localDescription.sdp}))
        answer = json.loads(await ws.recv())
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        heard = await asyncio.wait_for(first_audio, timeout=10)
    await pc.close()
    return (heard - started) * 1000


def main():
    server = Server()
    try:
        times = []
        for _ in range(20):
            times.append(asyncio.run(join_once(server)))
            time.sleep(0.3)
        print(f"browser join, WebSocket open to first audio (aiortc, 20 joins): median {statistics.median(times):.0f} ms, "
              f"min {min(times):.0f} ms, max {max(times):.0f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
