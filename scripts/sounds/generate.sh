#!/usr/bin/env bash
# Generate Plenum's conference voice prompts and tones.
#
# Usage (from anywhere):
#   scripts/sounds/generate.sh            # (re)write sounds/ in the repo
#   scripts/sounds/generate.sh --check    # regenerate into a temp dir and
#                                         # compare with the files in sounds/
#   scripts/sounds/generate.sh OUT_DIR    # write somewhere else
#
# Input:  scripts/sounds/prompts.tsv  (name<TAB>en text<TAB>de text)
# Output: sounds/<lang>/plenum/conference/<rate>/<name>.wav   lang: en de
#         sounds/tones/<rate>/{enter,exit,beep,pin-ok}.wav
#         rate: 8000 16000 48000; 16-bit signed PCM, mono, RIFF/WAVE.
#
# Output is deterministic for a given espeak-ng and sox version: nothing
# depends on the clock or on random numbers (sox dithering is disabled with
# -D, and -R fixes sox's random seed anyway).
set -euo pipefail

export LC_ALL=C
umask 022

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)
prompts_tsv="$script_dir/prompts.tsv"

rates=(8000 16000 48000)
langs=(en de)
declare -A voice=([en]=en-us [de]=de)
wpm=165                 # espeak-ng speaking rate, words per minute
lead_in=0.05            # seconds of silence before each prompt
tail_out=0.10           # seconds of silence after each prompt
prompt_peak_db=-3       # prompt peak level, dBFS
tone_peak_db=-9         # tone peak level, dBFS
fade=0.01               # tone fade in/out, seconds

# Directories (relative to the output root) that this script owns and
# replaces wholesale on every run.
owned_dirs=(en/plenum/conference de/plenum/conference tones)

usage() { sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

check=0
out_root="$repo_root/sounds"
case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    --check) check=1 ;;
    "") ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) out_root=$1 ;;
esac

ensure_tools() {
    if command -v espeak-ng >/dev/null && command -v sox >/dev/null; then
        return
    fi
    echo "installing espeak-ng and sox ..." >&2
    local sudo=()
    if [[ $EUID -ne 0 ]]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends espeak-ng sox
}

# Spelling -> pronunciation fixes applied only to the text that is spoken;
# prompts.tsv keeps the correct written form (usable for captions).
# espeak-ng spells out all-caps "PIN" letter by letter; say it as a word.
spoken_text() { # lang text
    case "$1" in
        en) sed -E 's/\bPIN\b/pin/g' <<<"$2" ;;
        de) sed -E 's/\bPIN\b/Pinn/g' <<<"$2" ;;   # short i, as in German "die PIN"
    esac
}

# sox output options shared by all files: no dither, 16-bit signed PCM mono.
sox_out=(-b 16 -e signed-integer -c 1)

render_prompt() { # lang name text out_base
    local lang=$1 name=$2 text=$3 base=$4
    local raw="$tmp/raw-$lang-$name.wav"
    spoken_text "$lang" "$text" >"$tmp/text"
    espeak-ng -v "${voice[$lang]}" -s "$wpm" -b 1 -f "$tmp/text" -w "$raw"
    local rate
    for rate in "${rates[@]}"; do
        # Trim espeak's own leading/trailing silence, leave headroom so the
        # resampler cannot clip, resample (very high quality), normalise the
        # peak, then add a fixed lead-in and tail.
        sox -R -D "$raw" "${sox_out[@]}" "$base/$lang/plenum/conference/$rate/$name.wav" \
            silence 1 0.005 -60d reverse silence 1 0.005 -60d reverse \
            gain -6 rate -v "$rate" \
            norm "$prompt_peak_db" \
            pad "$lead_in" "$tail_out"
    done
}

# One sine segment, 32-bit float, with linear fades at both ends.
tone_segment() { # rate freq_hz duration_s out
    sox -R -D -n -r "$1" -c 1 -e floating-point -b 32 "$4" \
        synth "$3" sine "$2" fade t "$fade" "$3" "$fade"
}

# tone name followed by freq:duration pairs, played back to back.
render_tone() { # base rate name freq:dur...
    local base=$1 rate=$2 name=$3; shift 3
    local segs=() i=0 spec
    for spec in "$@"; do
        tone_segment "$rate" "${spec%%:*}" "${spec##*:}" "$tmp/seg$i.wav"
        segs+=("$tmp/seg$i.wav"); i=$((i + 1))
    done
    sox -R -D "${segs[@]}" "${sox_out[@]}" "$base/tones/$rate/$name.wav" norm "$tone_peak_db"
    rm -f "${segs[@]}"
}

generate() { # base
    local base=$1 lang rate d
    for d in "${owned_dirs[@]}"; do
        for rate in "${rates[@]}"; do mkdir -p "$base/$d/$rate"; done
    done

    local lineno=0 n=0 name en de extra
    declare -A seen=()
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        [[ -z $line || $line == \#* ]] && continue
        IFS=$'\t' read -r name en de extra <<<"$line"
        if [[ -z ${name:-} || -z ${en:-} || -z ${de:-} || -n ${extra:-} ]] \
            || [[ $(tr -cd '\t' <<<"$line" | wc -c) -ne 2 ]]; then
            echo "$prompts_tsv:$lineno: expected name<TAB>en<TAB>de" >&2; exit 1
        fi
        if [[ ! $name =~ ^[a-z0-9]+(-[a-z0-9]+)*$ ]]; then
            echo "$prompts_tsv:$lineno: bad prompt name '$name'" >&2; exit 1
        fi
        if [[ -n ${seen[$name]:-} ]]; then
            echo "$prompts_tsv:$lineno: duplicate prompt name '$name'" >&2; exit 1
        fi
        seen[$name]=1
        render_prompt en "$name" "$en" "$base"
        render_prompt de "$name" "$de" "$base"
        n=$((n + 1))
    done <"$prompts_tsv"

    for rate in "${rates[@]}"; do
        render_tone "$base" "$rate" enter  440:0.100 660:0.150   # rising
        render_tone "$base" "$rate" exit   660:0.100 440:0.150   # falling
        render_tone "$base" "$rate" beep   1000:0.200
        render_tone "$base" "$rate" pin-ok 523.25:0.090 659.25:0.090 783.99:0.180  # C5 E5 G5
    done
    echo "generated $n prompts x ${#langs[@]} languages x ${#rates[@]} rates, 4 tones x ${#rates[@]} rates" >&2
}

ensure_tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "espeak-ng: $(espeak-ng --version | sed 's/ *Data at.*//')" >&2
echo "sox: $(sox --version | sed 's/^sox: *//')" >&2

stage="$tmp/out"
generate "$stage"

if ((check)); then
    status=0
    for d in "${owned_dirs[@]}"; do
        diff -r "$stage/$d" "$out_root/$d" || status=1
    done
    if ((status)); then echo "sounds/ is NOT up to date with $prompts_tsv" >&2
    else echo "sounds/ is up to date" >&2; fi
    exit "$status"
fi

# Replace the owned directories only once everything has been generated.
for d in "${owned_dirs[@]}"; do
    mkdir -p "$(dirname "$out_root/$d")"
    rm -rf "$out_root/$d"
    mv "$stage/$d" "$out_root/$d"
done
echo "wrote $out_root" >&2
