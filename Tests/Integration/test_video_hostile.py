"""A hostile publisher (issue 15): an aiortc participant whose camera, once negotiated, floods the
server with 10 Mbit/s of valid SRTP on its camera's SSRC. The server forwards no more than the camera's
rate cap to the subscriber, says so once in its log, keeps serving the subscriber, and the publisher's
real camera decodes again once the flood ends."""
import asyncio
import os
import re
import struct
import time

import pytest

pytest.importorskip("aiortc")
pytest.importorskip("bigbluebutton_api_python")

from aiortc import RTCSessionDescription, VideoStreamTrack  # noqa: E402
from bigbluebutton_api_python import BigBlueButton  # noqa: E402

from peers import wait_until  # noqa: E402
from test_meetings import SECRET, Browser, api_url, server, token_from_join_url  # noqa: E402,F401 (server: the fixture)

CAMERA_CAP = 2_000_000 / 8  # bytes per second: VideoPublication.cameraCap


async def publish_camera(publisher: Browser):
    sender = publisher.pc.addTrack(VideoStreamTrack())
    await publisher.pc.setLocalDescription(await publisher.pc.createOffer())
    await publisher.send({"type": "renegotiate", "sdp": publisher.pc.localDescription.sdp})
    answer = await publisher.next("renegotiated", 5)
    await publisher.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    announced = [m for m in publisher.messages if m["type"] == "cameras" and m["cameras"]]
    camera = (announced[-1] if announced else await publisher.next("cameras", 5))["cameras"][0]["id"]
    return sender, camera


async def subscribe(viewer: Browser, camera: str, frames: list):
    viewer.pc.addTransceiver("video", direction="recvonly")

    @viewer.pc.on("track")
    def on_track(track):
        if track.kind != "video":
            return

        async def pull():
            try:
                while True:
                    frame = await track.recv()
                    frames.append((time.time(), frame.width, frame.height))
            except Exception:
                pass

        asyncio.ensure_future(pull())

    await viewer.pc.setLocalDescription(await viewer.pc.createOffer())
    mid = [t.mid for t in viewer.pc.getTransceivers() if t.kind == "video"][0]
    await viewer.send({"type": "renegotiate", "sdp": viewer.pc.localDescription.sdp, "subscriptions": {mid: camera}})
    answer = await viewer.next("renegotiated", 5)
    await viewer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))


async def bytes_received(pc) -> int:
    """Everything the server sent this peer (its audio is about 10 KB/s of it)."""
    return sum(s.bytesReceived for s in (await pc.getStats()).values() if s.type == "transport")


async def wait_until_async(condition, timeout: float, what: str):
    end = time.time() + timeout
    while time.time() < end:
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_publisher_flooding_ten_megabits_is_held_to_the_camera_cap(server):
    client = BigBlueButton(api_url(server), SECRET)
    client.create_meeting("flood", params={"name": "Flood", "attendeePW": "ap", "moderatorPW": "mp"})
    publisher_token = token_from_join_url(server, client.get_join_meeting_url("Mallory", "flood", "ap"))
    viewer_token = token_from_join_url(server, client.get_join_meeting_url("Victor", "flood", "ap"))
    frames: list = []

    async def scenario():
        async with Browser(server, publisher_token) as publisher, Browser(server, viewer_token) as viewer:
            sender, camera = await publish_camera(publisher)
            await subscribe(viewer, camera, frames)
            await wait_until_async(lambda: len(frames) > 10, 15, "the camera decoded by the viewer")
            payload_type = int(re.search(r"a=rtpmap:(\d+) VP8/90000", publisher.pc.remoteDescription.sdp).group(1))
            # One sequence space for the camera's SSRC, the encoder's packets and the flood's alike (the
            # sender's SRTP refuses to protect an index it has passed).
            transport, ssrc = sender.transport, sender._ssrc
            protect = transport._send_rtp
            sequence = [None, 0, 0]  # the next number, the packets renumbered, the encoder's last timestamp

            async def renumbered(data: bytes):
                if len(data) >= 12 and not 192 <= data[1] <= 223 and struct.unpack("!I", data[8:12])[0] == ssrc:
                    if sequence[0] is None:
                        sequence[0] = struct.unpack("!H", data[2:4])[0]  # on from the encoder's own
                    if data[0] & 0x10 == 0x10:  # the encoder's packets carry header extensions, the flood's none
                        sequence[2] = struct.unpack("!I", data[4:8])[0]
                    data = data[:2] + struct.pack("!H", sequence[0]) + data[4:]
                    sequence[0] = (sequence[0] + 1) & 0xFFFF
                    sequence[1] += 1
                await protect(data)

            transport._send_rtp = renumbered
            await wait_until_async(lambda: sequence[1] > 20, 10, "the camera renumbered")
            frames_before = len(frames)
            await wait_until_async(lambda: len(frames) > frames_before + 5, 15, "the renumbered camera decoded")
            before = await bytes_received(viewer.pc)
            sent = 0
            start = time.time()
            seconds, rate, size = 3.0, 1000, 1250  # 10 Mbit/s
            while time.time() < start + seconds:
                burst_end = time.time() + 0.01
                for _ in range(rate // 100):
                    header = struct.pack("!BBHII", 0x80, payload_type, 0, sequence[2], ssrc)  # as if of the frame being sent
                    # A VP8 payload descriptor that starts no partition, then noise: never a key frame.
                    await renumbered(header + b"\x00" + os.urandom(size - len(header) - 1))
                    sent += 1
                await asyncio.sleep(max(0.0, burst_end - time.time()))
            elapsed = time.time() - start
            flooded_at = time.time()
            # What crossed the server during the flood, counted by the viewer once it has arrived.
            await asyncio.sleep(0.3)
            during = await bytes_received(viewer.pc) - before
            # The cap over the flood and the wait, plus the bucket's second, the audio and SRTP's overhead.
            allowed = 1.1 * (CAMERA_CAP * (elapsed + 0.3 + 1.0) + 10_000 * (elapsed + 0.3))
            assert sent * size * 8 / elapsed > 8_000_000, f"the flood ran at {sent * size * 8 / elapsed / 1e6:.1f} Mbit/s"
            assert during < allowed, f"the viewer received {during} bytes while {sent * size} were flooded; the cap allows {allowed:.0f}"
            # The real camera comes again: frames decoded after the flood.
            decoded = len([f for f in frames if f[0] > flooded_at])
            # (aiortc's jitter buffer waits for the packets the cap dropped until 128 newer ones came,
            # about 4 s of this camera, before it takes the key frame the server asked for)
            await wait_until_async(lambda: len([f for f in frames if f[0] > flooded_at]) > decoded + 10, 30,
                                   "the camera decoded again after the flood")
            return sent

    sent = asyncio.run(scenario())
    notice = server.wait_for_line("video over its rate cap", 10)
    assert "kind=camera" in notice and "Mallory" not in notice, notice
    assert server.log_text().count("video over its rate cap") == 1, "logged once"
    left = lambda: [line for line in server.log_text().splitlines() if "browser left" in line]  # noqa: E731
    wait_until(lambda: len(left()) >= 2, 10, "both left")
    left = left()
    over = max(int(re.search(r"video_over_cap=(\d+)", line).group(1)) for line in left)
    assert over > 0.5 * sent, f"the server dropped {over} of {sent} flooded packets: {left}"


def test_a_subscriber_flooding_plis_and_nacks_costs_the_publisher_a_few_key_frames(server):
    """An aiortc viewer sends 1,000 PLIs and 1,000 NACKs (17 packets each) a second for 2 s about the
    camera it receives: its publisher is asked for a key frame at most every 300 ms, and the viewer gets
    no more retransmissions than its budget (400 a second, bursts of 200)."""
    client = BigBlueButton(api_url(server), SECRET)
    client.create_meeting("feedback", params={"name": "Feedback", "attendeePW": "ap", "moderatorPW": "mp"})
    publisher_token = token_from_join_url(server, client.get_join_meeting_url("Pat", "feedback", "ap"))
    viewer_token = token_from_join_url(server, client.get_join_meeting_url("Mallory", "feedback", "ap"))
    frames: list = []

    async def scenario():
        async with Browser(server, publisher_token) as publisher, Browser(server, viewer_token) as viewer:
            sender, camera = await publish_camera(publisher)
            asked = []
            send_keyframe = sender._send_keyframe
            sender._send_keyframe = lambda: (asked.append(time.time()), send_keyframe())
            await subscribe(viewer, camera, frames)
            await wait_until_async(lambda: len(frames) > 10, 15, "the camera decoded by the viewer")
            receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
            streams = receiver._RTCRtpReceiver__remote_streams
            media_ssrc, stream = next(iter(streams.items()))
            start = time.time()
            sent = 0
            while time.time() < start + 2.0:
                burst_end = time.time() + 0.01
                newest = stream.max_seq
                for i in range(10):
                    pli = struct.pack("!BBHII", 0x81, 206, 2, 0x0BADF00D, media_ssrc)  # RFC 4585 §6.3.1
                    first = (newest - 16 * (i + 1)) & 0xFFFF
                    nack = struct.pack("!BBHIIHH", 0x81, 205, 3, 0x0BADF00D, media_ssrc, first, 0xFFFF)  # §6.2.1
                    await receiver.transport._send_rtp(pli)
                    await receiver.transport._send_rtp(nack)
                    sent += 1
                await asyncio.sleep(max(0.0, burst_end - time.time()))
            elapsed = time.time() - start
            await asyncio.sleep(0.5)
            during = [at for at in asked if start <= at <= start + elapsed + 0.5]
            assert sent >= 1500, f"the viewer sent {sent} PLIs and NACKs"
            print(f"feedback flood: {sent} PLIs, {len(during)} key frames asked")
            assert len(during) <= (elapsed + 0.5) / 0.3 + 2, f"the publisher was asked for {len(during)} key frames in {elapsed + 0.5:.1f} s"
            # The camera still plays for the viewer.
            decoded = len(frames)
            await wait_until_async(lambda: len(frames) > decoded + 10, 10, "the camera still decoded")
            return elapsed

    left = lambda: [line for line in server.log_text().splitlines() if "browser left" in line]  # noqa: E731
    earlier = len(left())
    elapsed = asyncio.run(scenario())
    wait_until(lambda: len(left()) >= earlier + 2, 10, "both left")
    viewer = next(line for line in left()[earlier:] if "video_received=0 " in line)  # it publishes nothing
    nacked = int(re.search(r"video_nacked=(\d+)", viewer).group(1))
    retransmitted = int(re.search(r"video_retransmitted=(\d+)", viewer).group(1))
    print(f"feedback flood: {nacked} NACKed, {retransmitted} retransmitted in {elapsed:.1f} s")
    assert nacked > 10_000, viewer
    assert 200 <= retransmitted <= 200 + 400 * (elapsed + 0.5) + 50, f"retransmissions within the budget: {viewer}"
