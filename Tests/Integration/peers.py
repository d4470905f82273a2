"""Real peers for the integration tests: the Plenum server and baresip softphones.

Everything here runs inside the network namespace that run.sh creates, so nothing leaves the machine.
"""
import asyncio
import json
import os
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SERVER_IP = os.environ.get("PLENUM_TEST_SERVER_IP", "127.0.0.1")
PHONE_IP = os.environ.get("PLENUM_TEST_PHONE_IP", "127.0.0.1")
SERVER_IP6 = os.environ.get("PLENUM_TEST_SERVER_IP6", "")
PHONE_IP6 = os.environ.get("PLENUM_TEST_PHONE_IP6", "")


def wait_until(condition, timeout: float, what: str = ""):
    """Polls `condition` until it holds (the state that must come), failing after `timeout` seconds."""
    end = time.time() + timeout
    while not condition():
        assert time.time() < end, f"timed out waiting: {what}"
        time.sleep(0.05)


async def wait_for(condition, timeout: float, what: str = ""):
    """`wait_until` inside asyncio: polls without blocking the event loop (the peers keep running)."""
    end = time.time() + timeout
    while not condition():
        assert time.time() < end, f"timed out waiting: {what}"
        await asyncio.sleep(0.05)


def plenum_binary() -> Path:
    """The most recently built plenum (debug from scripts/test.sh, or a release build)."""
    builds = [p for p in (ROOT / ".build" / b / "plenum" for b in ["debug", "release"]) if p.exists()]
    if not builds:
        raise RuntimeError("build plenum first (swift build)")
    return max(builds, key=lambda p: p.stat().st_mtime)


class Server:
    """`plenum serve` with a test configuration: rooms 3001 (open) and 3002 (PIN 2468)."""

    def __init__(self, sip_port: int = 5070, rooms=None, tls: bool = False, users: dict | None = None,
                 webrtc_addresses: list | None = None, api_secret: str | None = None, extra: dict | None = None,
                 sip_extra: dict | None = None, log_level: str = "debug"):
        self.dir = Path(tempfile.mkdtemp(prefix="plenum-server-"))
        self.sip_port = sip_port
        # The shipped dialplan plus the tests' extra rules (ringing, refusing).
        dialplans = self.dir / "dialplans"
        dialplans.mkdir()
        for source in list((ROOT / "dialplans").glob("*.json")) + list((Path(__file__).parent / "dialplans").glob("*.json")):
            (dialplans / source.name).write_text(source.read_text())
        config = {
            "sounds": str(ROOT / "sounds"),
            "dialplans": str(dialplans),
            "sip": {"listen": f"sip:{SERVER_IP}:{sip_port}", "mediaAddress": SERVER_IP,
                    "rtpPortMin": 21000, "rtpPortMax": 21998, "context": "public"},
            "rooms": rooms or [{"number": "3001"}, {"number": "3002", "pin": "2468"}],
            "conferenceProfiles": {"default": {"enterExitTones": False}},
            "httpPort": 8088,
            "webrtcPort": 40000,
            "webrtcAddresses": webrtc_addresses or [SERVER_IP],
            "dataDirectory": str(self.dir / "data"),
        }
        self.http_port = 8088
        if api_secret:
            config["api"] = {"secret": api_secret}
        config.update(extra or {})
        config["sip"].update(sip_extra or {})
        if users:
            (self.dir / "passwords").write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
            config["sip"]["authentication"] = {"realm": "plenum", "passwordFile": str(self.dir / "passwords"),
                                               "context": "default"}
        if tls:
            # A self-signed certificate for the server's address; the phones trust it as their CA.
            certs = self.dir / "certs"
            certs.mkdir()
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                            "-keyout", str(certs / "key.pem"), "-out", str(certs / "cert.pem"),
                            "-subj", f"/CN={SERVER_IP}", "-addext", f"subjectAltName=IP:{SERVER_IP}"],
                           check=True, capture_output=True)
            (certs / "agent.pem").write_text((certs / "cert.pem").read_text() + (certs / "key.pem").read_text())
            (certs / "cafile.pem").write_text((certs / "cert.pem").read_text())
            self.certificate = certs / "cert.pem"
            self.tls_port = sip_port + 1
            config["sip"]["tlsListen"] = f"sips:{SERVER_IP}:{self.tls_port}"
            config["sip"]["certificateDirectory"] = str(certs)
        (self.dir / "plenum.json").write_text(json.dumps(config))
        self.log = open(self.dir / "server.log", "w")
        self.process = subprocess.Popen(
            [str(plenum_binary()), "serve", "--config", str(self.dir / "plenum.json"), "--log-level", log_level],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.wait_until_ready()

    def wait_until_ready(self, timeout: float = 15):
        """Until HTTPS answers /health (the certificate is made and TLS is up), not a fixed sleep."""
        end = time.time() + timeout
        while time.time() < end:
            assert self.process.poll() is None, self.log_text()
            try:
                if self.https_certificate.exists():
                    with urllib.request.urlopen(f"{self.base_url}/health", context=self.ssl_context(), timeout=1) as r:
                        if r.status == 200:
                            return
            except (OSError, ssl.SSLError):
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not come up: " + self.log_text()[-2000:])

    def log_text(self) -> str:
        self.log.flush()
        return (self.dir / "server.log").read_text()

    def wait_for_line(self, text: str, timeout: float) -> str:
        """The first log line containing `text`, once it is there."""
        end = time.time() + timeout
        while True:
            found = next((line for line in self.log_text().splitlines() if text in line), None)
            if found:
                return found
            assert time.time() < end, f"timed out waiting for a log line with {text!r}"
            time.sleep(0.05)

    @property
    def https_certificate(self) -> Path:
        """The self-signed HTTPS certificate the server made for its address on first start."""
        return self.dir / "data" / "https-certificate.pem"

    def ssl_context_file(self) -> Path:
        for _ in range(50):
            if self.https_certificate.exists():
                break
            time.sleep(0.1)
        return self.https_certificate

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts exactly the server's certificate, hostname checked (the real path, no verify=False)."""
        return ssl.create_default_context(cafile=str(self.ssl_context_file()))

    @property
    def base_url(self) -> str:
        return f"https://{SERVER_IP}:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"wss://{SERVER_IP}:{self.http_port}/ws"

    def request_token(self, room: str, pin: str | None = None) -> tuple[int, dict]:
        """POST /api/token as the join page does; returns (HTTP status, JSON body)."""
        body = json.dumps({"room": room, **({"pin": pin} if pin is not None else {})}).encode()
        request = urllib.request.Request(f"{self.base_url}/api/token", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, context=self.ssl_context(), timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def token(self, room: str, pin: str | None = None) -> str:
        status, body = self.request_token(room, pin)
        assert status == 200, body
        return body["token"]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> bool:
        """SIGTERM; returns whether the server stopped by itself within 5 s (it must)."""
        self.process.terminate()
        try:
            self.process.wait(5)
            clean = True
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            clean = False
        self.log.close()
        return clean


class Phone:
    """A headless baresip: sends a sine tone, records what it hears (sndfile), DTMF through ctrl_tcp."""

    _next = 0

    def __init__(self, tone_hz: int, codec: str = "PCMU", name: str | None = None, transport: str = "udp",
                 cafile: Path | None = None, srtp: bool = False, password: str | None = None):
        Phone._next += 1
        n = Phone._next
        self.name = name or f"phone{n}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"baresip-{self.name}-"))
        (self.dir / "rec").mkdir()
        self.sip_port = 5100 + 10 * n
        self.ctrl_port = 4400 + n
        (self.dir / "config").write_text(f"""poll_method epoll
sip_listen {PHONE_IP}:{self.sip_port}
sip_transports {transport}
audio_source ausine,{tone_hz}
audio_player aubridge,nil{n}
audio_alert aubridge,nil{n}
ausrc_srate 48000
ausrc_channels 2
auplay_srate 48000
auplay_channels 1
rtp_ports {30000 + 100 * n}-{30000 + 100 * n + 98}
module_path /usr/lib/baresip/modules
module g711.so
module g722.so
module opus.so
module ausine.so
module aubridge.so
module sndfile.so
snd_path {self.dir / 'rec'}
{"module srtp.so" if srtp else ""}
{f"sip_cafile {cafile}" if cafile else ""}
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen {PHONE_IP}:{self.ctrl_port}
""")
        media = ";mediaenc=srtp-mand" if srtp else ""
        media += f";auth_pass={password}" if password else ""
        (self.dir / "accounts").write_text(f"<sip:{self.name}@{PHONE_IP}>;regint=0;audio_codecs={codec}{media}\n")
        self.process = None

    def dial(self, uri: str, seconds: int):
        self.log = open(self.dir / "baresip.log", "w")
        self.process = subprocess.Popen(
            ["baresip", "-4", "-n", PHONE_IP, "-f", str(self.dir), "-e", f"/dial {uri}", "-t", str(seconds)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def send_digits(self, digits: str):
        """RFC 4733 digits via baresip's ctrl_tcp (netstring JSON)."""
        message = json.dumps({"command": "sndcode", "params": digits, "token": "t"}).encode()
        with socket.create_connection((PHONE_IP, self.ctrl_port), timeout=2) as s:
            s.sendall(str(len(message)).encode() + b":" + message + b",")
            time.sleep(0.2)

    def wait_for_log(self, text: str, timeout: float) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.log_text():
                return True
            time.sleep(0.2)
        return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)
        self.log.close()

    def wait(self, timeout: float):
        self.process.wait(timeout)
        self.log.close()

    def log_text(self) -> str:
        return (self.dir / "baresip.log").read_text(errors="replace")

    def heard(self) -> tuple[np.ndarray, int]:
        files = sorted((self.dir / "rec").glob("*-dec.wav"))
        assert files, f"{self.name} recorded nothing: {self.log_text()[-2000:]}"
        with wave.open(str(files[-1])) as w:
            rate = w.getframerate()
            data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
            if w.getnchannels() > 1:
                data = data.reshape(-1, w.getnchannels()).mean(axis=1)
        return data, rate


def tone_share_db(samples: np.ndarray, rate: int, frequency: float) -> float:
    """Power within ±20 Hz of `frequency`, relative to all power, in dB (FFT)."""
    if len(samples) == 0 or not np.any(samples):
        return -200.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    band = spectrum[(freqs > frequency - 20) & (freqs < frequency + 20)].sum()
    return 10 * np.log10(max(band, 1e-12) / spectrum.sum())


def level_dbfs(samples: np.ndarray) -> float:
    rms = np.sqrt(np.mean(samples ** 2)) if len(samples) else 0
    return 20 * np.log10(max(rms, 1e-9) / 32768)


class Chromium:
    """Headless Chromium (Debian) on a host of its own: a network namespace joined to the test's by a veth
    pair (browser 10.78.0.2, gateway 10.78.0.1), driven by chromium_driver.py with selenium inside it.
    Its fake microphone plays a sine of `tone_hz`. The server's HTTPS certificate is trusted by pinning
    its public key (--ignore-certificate-errors-spki-list), so TLS is really checked."""

    _in_use: set[int] = set()

    def __init__(self, server: Server, tone_hz: int = 700, width: int = 1280, height: int = 900,
                 deny_microphone: bool = False):
        # Several browsers at once (a camera and its viewer): each a host of its own, 10.78.0.2, 10.79.0.2, …
        n = min(set(range(16)) - Chromium._in_use)
        Chromium._in_use.add(n)
        self.index = n
        self.dir = Path(tempfile.mkdtemp(prefix="plenum-chromium-"))
        self.namespace = f"plenum-browser-{os.getpid()}-{n}"
        self.host_veth, self.veth = f"vethb{n}h", f"vethb{n}b"
        self.gateway = f"10.{78 + n}.0.1"
        self.address = f"10.{78 + n}.0.2"
        ns = ["ip", "netns", "exec", self.namespace]
        subprocess.run(["ip", "netns", "add", self.namespace], check=True)
        subprocess.run(["ip", "link", "add", self.host_veth, "type", "veth", "peer", "name", self.veth], check=True)
        # IPv4 only in the browser's host: an IPv6 address settling (duplicate address detection) right
        # after Chromium started made it report a network change and abort the page's module loads.
        subprocess.run(ns + ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
                       check=True)
        subprocess.run(["ip", "link", "set", self.veth, "netns", self.namespace], check=True)
        subprocess.run(["ip", "addr", "add", f"{self.gateway}/24", "dev", self.host_veth], check=True)
        subprocess.run(["ip", "link", "set", self.host_veth, "up"], check=True)
        for command in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", f"{self.address}/24", "dev", self.veth],
                        ["ip", "link", "set", self.veth, "up"], ["ip", "route", "add", "default", "via", self.gateway]):
            subprocess.run(ns + command, check=True)
        tone = self.dir / "microphone.wav"
        subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(tone), "synth", "60", "sine",
                        str(tone_hz), "vol", "0.5"], check=True)
        pin = subprocess.run(
            f"openssl x509 -in {server.ssl_context_file()} -pubkey -noout | openssl pkey -pubin -outform der"
            " | openssl dgst -sha256 -binary | base64", shell=True, check=True, capture_output=True, text=True).stdout.strip()
        arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--deny-permission-prompts" if deny_microphone else "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            # getDisplayMedia picks the whole (fake, 800×600) screen without a prompt.
            "--auto-accept-this-tab-capture", "--auto-select-desktop-capture-source=Entire screen",
            f"--use-file-for-fake-audio-capture={tone}", "--autoplay-policy=no-user-gesture-required",
            "--disable-features=WebRtcHideLocalIpsWithMdns", f"--ignore-certificate-errors-spki-list={pin}",
            f"--user-data-dir={self.dir / 'profile'}", f"--window-size={width},{height}", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-proxy-server", f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {SERVER_IP}",  # no DNS here: fail at once
        ]
        self.log = open(self.dir / "driver.log", "w")
        self.process = subprocess.Popen(
            ns + ["python3", str(Path(__file__).parent / "chromium_driver.py"), json.dumps({"arguments": arguments})],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        hello = self.process.stdout.readline()
        assert hello and json.loads(hello)["ok"], (self.dir / "driver.log").read_text()

    def call(self, op: str, **arguments):
        self.process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline() or '{"ok": false, "error": "driver gone"}')
        assert reply["ok"], reply["error"]
        return reply.get("result")

    def js(self, script: str):
        return self.call("js", script=script)

    def wait_for(self, script: str, timeout: float, what: str = ""):
        """Polls `script` (a JS expression) until it is truthy; returns its value."""
        end = time.time() + timeout
        while time.time() < end:
            value = self.js(f"return ({script});")
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what or script}")

    def change_address(self, new_address: str):
        """A network change (Wi-Fi to mobile): the browser's host gets a new address and loses the old one,
        which ends its TCP connections and its ICE candidate pair."""
        ns = ["ip", "netns", "exec", self.namespace]
        # The new address stays when the old (primary) one goes.
        subprocess.run(ns + ["sysctl", "-qw", f"net.ipv4.conf.{self.veth}.promote_secondaries=1"], check=True)
        subprocess.run(ns + ["ip", "addr", "add", f"{new_address}/24", "dev", self.veth], check=True)
        subprocess.run(ns + ["ip", "addr", "del", f"{self.address}/24", "dev", self.veth], check=True)
        subprocess.run(ns + ["ip", "route", "replace", "default", "via", self.gateway], check=True)
        self.address = new_address

    def close(self):
        try:
            if self.process.poll() is None:
                self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.process.stdin.flush()
                self.process.wait(10)
        except Exception:
            self.process.kill()
        subprocess.run(["ip", "link", "del", self.host_veth], capture_output=True)
        Chromium._in_use.discard(self.index)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True)
        self.log.close()
