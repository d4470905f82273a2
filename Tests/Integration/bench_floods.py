"""Floods as a benchmark (issue 11): each bounded in count and time, each while a legitimate phone call
goes on. Reports the server's memory ceiling and CPU, and the legitimate call's packet rate and longest
gap. Run by scripts/bench-floods.sh inside a network namespace of its own; every packet goes to the
server in that namespace, from addresses the script adds there (10.77.0.100-.163 for "many sources")."""
import os
import socket
import ssl
import struct
import subprocess
import threading
import time

from peers import SERVER_IP, Server
from sipraw import RawCall

MANY = [f"10.77.0.{100 + i}" for i in range(64)]
MANY_MORE = [f"10.77.0.{100 + i}" for i in range(100)]
ONE = "10.77.0.99"  # a flooder of its own: the legitimate call's address must stay reachable


def rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class LegitimateCall:
    """A phone that sends 50 packets a second and counts what comes back, with the longest gap."""

    def __init__(self, server: Server):
        self.call = RawCall(server.sip_port, local_ip="10.77.0.2")
        assert self.call.invite(self.call.sdp()) == 200
        self.received = 0
        self.max_gap = 0.0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.call.rtp.settimeout(0.005)
        sequence, last, next_send = 1, time.time(), time.time()
        while not self.stop:
            now = time.time()
            if now >= next_send:
                self.call.send_rtp(1, sequence)
                sequence += 1
                next_send += 0.02
            try:
                self.call.rtp.recv(2048)
                now = time.time()
                self.max_gap = max(self.max_gap, now - last)
                last = now
                self.received += 1
            except socket.timeout:
                pass

    def measure(self, seconds: float) -> tuple[float, float]:
        """(packets per second received, longest gap in ms) over the next `seconds`."""
        start_count, start = self.received, time.time()
        self.max_gap = 0.0
        time.sleep(seconds)
        return (self.received - start_count) / (time.time() - start), self.max_gap * 1000

    def close(self):
        self.stop = True
        self.thread.join()
        self.call.close()


def udp_sockets(sources: list[str]) -> list[socket.socket]:
    """A non-blocking UDP socket bound to each source address."""
    sockets = []
    for ip in sources:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ip, 0))
        s.setblocking(False)
        sockets.append(s)
    return sockets


def sip_flood(server: Server, method: str, sources: list[str], rate: int, seconds: float):
    """`rate` requests a second for `seconds`, round robin over `sources`, never answered or ACKed."""
    sockets = udp_sockets(sources)
    body = f"v=0\r\no=- 1 1 IN IP4 {sources[0]}\r\ns=-\r\nc=IN IP4 {sources[0]}\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    sent, start = 0, time.time()
    while time.time() - start < seconds:
        due = int((time.time() - start) * rate)
        while sent < due:
            s = sockets[sent % len(sockets)]
            ip, port = s.getsockname()
            payload = body if method == "INVITE" else ""
            message = (f"{method} sip:3001@{SERVER_IP}:{server.sip_port} SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP {ip}:{port};rport;branch=z9hG4bKf{sent}\r\nMax-Forwards: 70\r\n"
                       f"From: <sip:flood@{ip}>;tag={sent}\r\nTo: <sip:3001@{SERVER_IP}>\r\nCall-ID: flood-{sent}@{ip}\r\n"
                       f"CSeq: 1 {method}\r\nContact: <sip:flood@{ip}:{port}>\r\n"
                       f"{'Content-Type: application/sdp' + chr(13) + chr(10) if payload else ''}"
                       f"Content-Length: {len(payload)}\r\n\r\n{payload}")
            try:
                s.sendto(message.encode(), (SERVER_IP, server.sip_port))
            except BlockingIOError:
                pass
            sent += 1
            for drain in sockets[:4]:
                try:
                    while drain.recv(65535):
                        pass
                except BlockingIOError:
                    pass
        time.sleep(0.001)
    for s in sockets:
        s.close()
    return sent


def slowloris(server: Server, count: int, seconds: float):
    held = []
    for _ in range(count):
        try:
            s = socket.create_connection((SERVER_IP, server.http_port), timeout=2)
            held.append(s)
        except OSError:
            break
    end = time.time() + seconds
    while time.time() < end:
        for s in list(held):
            try:
                s.send(b"X")
            except OSError:
                held.remove(s)
        time.sleep(1)
    survivors = len(held)
    for s in held:
        s.close()
    return survivors


def run_case(name: str, action):
    server = Server(sip_extra={"mediaTimeoutSeconds": 60}, log_level="notice", api_secret=SECRET)
    try:
        pid = server.process.pid
        call = LegitimateCall(server)
        rate_before, _ = call.measure(2)
        rss_before, cpu_before = rss_kb(pid), cpu_seconds(pid)
        peak = [rss_before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kb(pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = {}
        measured = {}

        def flood():
            result["value"] = action(server)

        flooder = threading.Thread(target=flood)
        flooder.start()
        measured["rate"], measured["gap"] = call.measure(8)
        flooder.join()
        done.set()
        cpu = cpu_seconds(pid) - cpu_before
        time.sleep(20)  # finished transactions are kept 8 s (64*T1); memory is handed back every 10 s
        rss_after = rss_kb(pid)
        call.close()
        health = server.request_token("3001")[0]
        print(f"| {name} | {result['value']} | {rss_before / 1024:.0f} | {peak[0] / 1024:.0f} | {rss_after / 1024:.0f} | "
              f"{cpu:.1f} | {rate_before:.0f} → {measured['rate']:.0f} | {measured['gap']:.0f} | {health} |", flush=True)
    finally:
        assert server.alive(), name
        server.stop()


def websocket_flood(server: Server, sources: list[str], count: int, seconds: float) -> str:
    """`count` TLS connections upgraded to WebSockets and then silent (no join), spread over `sources`;
    returns how many were upgraded, and whether a new one from elsewhere still gets in after `seconds`."""
    import asyncio

    context = server.ssl_context()
    request = (f"GET /ws HTTP/1.1\r\nHost: {SERVER_IP}:{server.http_port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()

    async def connect(ip):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                SERVER_IP, server.http_port, ssl=context, local_addr=(ip, 0)), 10)
            writer.write(request)
            line = await asyncio.wait_for(reader.readline(), 10)
            return (reader, writer) if b" 101 " in line else None
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            return None

    async def run():
        connections = []
        for batch in range(0, count, 200):
            results = await asyncio.gather(*(connect(sources[i % len(sources)]) for i in range(batch, min(count, batch + 200))))
            connections += [c for c in results if c]
        opened = len(connections)
        await asyncio.sleep(seconds)
        newcomer = await connect("10.77.0.2")
        for c in connections + ([newcomer] if newcomer else []):
            c[1].close()
        return f"{count} tried, {opened} upgraded; a newcomer after {seconds:.0f} s: {'in' if newcomer else 'refused'}"

    return asyncio.run(run())


def meetings_flood(server: Server, count: int) -> str:
    """`count` BigBlueButton `create` calls, correctly signed, over one keep-alive connection."""
    import hashlib
    import http.client

    connection = http.client.HTTPSConnection(SERVER_IP, server.http_port, context=server.ssl_context(), timeout=10)
    created = 0
    for i in range(count):
        query = f"name=Flood+{i}&meetingID=flood-{i}"
        checksum = hashlib.sha256(("create" + query + SECRET).encode()).hexdigest()
        connection.request("GET", f"/bigbluebutton/api/create?{query}&checksum={checksum}")
        body = connection.getresponse().read()
        created += b"<returncode>SUCCESS</returncode>" in body
    connection.close()
    return f"{count} tried, {created} created"


def media_flood(server: Server, sources: list[str], rate: int, seconds: float) -> int:
    """Junk and RTP-looking datagrams at `rate` a second to the WebRTC port and the phones' RTP ports."""
    import random

    random.seed(11)
    sockets = udp_sockets(sources)
    packets = [bytes(random.getrandbits(8) for _ in range(random.randint(1, 1200))) for _ in range(64)]
    packets += [struct.pack("!BBHII", 0x80, 0, i, i * 160, 0x1234) + bytes(160) for i in range(64)]
    ports = [40000] + list(range(21000, 21100, 2))
    sent, start = 0, time.time()
    while time.time() - start < seconds:
        due = int((time.time() - start) * rate)
        while sent < due:
            try:
                sockets[sent % len(sockets)].sendto(packets[sent % len(packets)], (SERVER_IP, ports[sent % len(ports)]))
            except (BlockingIOError, OSError):
                pass
            sent += 1
        time.sleep(0.001)
    for s in sockets:
        s.close()
    return sent


SECRET = "flood-bench-secret"
CASES = {
    "options-one": ("OPTIONS 2,000/s for 10 s, one source", lambda s: sip_flood(s, "OPTIONS", [ONE], 2000, 10)),
    "options-many": ("OPTIONS 5,000/s for 10 s, 64 sources", lambda s: sip_flood(s, "OPTIONS", MANY, 5000, 10)),
    "register-many": ("REGISTER 2,000/s for 10 s, 64 sources", lambda s: sip_flood(s, "REGISTER", MANY, 2000, 10)),
    "invite-many": ("INVITE 500/s for 10 s, 64 sources, never ACKed", lambda s: sip_flood(s, "INVITE", MANY, 500, 10)),
    "slowloris": ("500 slow HTTPS connections from one address, 1 byte/s for 10 s (kept)", lambda s: slowloris(s, 500, 10)),
    "websockets": ("5,000 silent WebSockets from 100 sources", lambda s: websocket_flood(s, MANY_MORE, 5000, 8)),
    "meetings": ("10,000 meetings created (signed API calls)", lambda s: meetings_flood(s, 10000)),
    "media": ("UDP 20,000/s for 10 s to the media ports, 64 sources", lambda s: media_flood(s, MANY, 20000, 10)),
}


def main():
    import sys

    for ip in [ONE] + MANY_MORE:
        subprocess.run(["ip", "addr", "add", f"{ip}/24", "dev", "veth1"], check=False, capture_output=True)
    print("| flood | sent | RSS before (MB) | RSS peak (MB) | RSS 20 s after (MB) | server CPU (s) | "
          "legit call pps (before → during) | legit call longest gap (ms) | /api/token after |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in sys.argv[1:] or CASES:
        name, action = CASES[key]
        run_case(name, action)


if __name__ == "__main__":
    main()
