#!/usr/bin/env python3
"""Speech quality through the bridge: PESQ wideband (ITU-T P.862.2, PyPI `pesq`).

Makes test speech with espeak-ng (English and German), sends it through a conference as a browser
would (Opus 32 kbit/s) and scores what an Opus, a G.722 and a G.711 listener hear, next to the same
speech through one Opus encode/decode alone (no bridge): the bridge adds a decode, mix and re-encode,
as every transcoding bridge (FreeSWITCH, Janus AudioBridge) does.

Usage: scripts/quality.py [--bench PATH]   (build first: swift build -c release --product plenum-bench)
"""
import argparse
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

try:
    from pesq import pesq
except ImportError:
    sys.exit("pip install pesq")

TEXTS = {
    "en": "The quick brown fox jumps over the lazy dog. Please enter the conference number, "
          "followed by the pound key. We will meet again in the main room in five minutes.",
    "de": "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich. Bitte geben Sie die "
          "Konferenznummer ein. Wir treffen uns in fünf Minuten wieder im Hauptraum.",
}


def read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", default=".build/release/plenum-bench")
    args = parser.parse_args()
    scores: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lang, text in TEXTS.items():
            speech = Path(tmp) / f"speech-{lang}.wav"
            raw = Path(tmp) / f"raw-{lang}.wav"
            voice = "en-us" if lang == "en" else "de"
            subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text], check=True)
            subprocess.run(["sox", "-D", str(raw), "-r", "16000", str(speech), "norm", "-3"], check=True)
            out = Path(tmp) / lang
            subprocess.run([args.bench, "quality", "--input", str(speech), "--output", str(out)], check=True,
                           stdout=subprocess.DEVNULL)
            reference = read(out / "reference.wav")
            for name in ["direct-opus", "bridge-opus", "direct-g722", "bridge-g722", "direct-pcmu", "bridge-pcmu"]:
                degraded = read(out / f"{name}.wav")
                n = min(len(reference), len(degraded))
                scores.setdefault(name, []).append(pesq(16000, reference[:n], degraded[:n], "wb"))
    print("path                          PESQ-WB (en, de)   mean")
    for name, values in scores.items():
        print(f"{name:28} {', '.join(f'{v:.2f}' for v in values):>18}   {sum(values) / len(values):.2f}")


if __name__ == "__main__":
    main()
