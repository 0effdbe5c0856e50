#!/usr/bin/env bash
# benches/compare.sh: kitnotes against ripgrep over the same notes, and the performance targets
# of docs/PERFORMANCE.md, measured in one run on this machine.
#
#   benches/compare.sh            everything (the first run builds a 1,000 x 100 demo store and
#                                 writes its 79,000 notes as Markdown files: a few minutes)
#   RUNS=20 benches/compare.sh    more hyperfine runs per command (default 10)
#   SKIP_CARGO_BENCH=1 ...        leave out `cargo bench` at the end
#
# What it does: installs ripgrep, hyperfine and GNU time if missing; builds the release binary;
# builds (or reuses) the demo store in <target>/tmp/bench-data/demo, the same store
# benches/search.rs uses; exports it and writes every note as one Markdown file in a folder per
# patient (benches/notes_to_markdown.py), the way nb, zk or Obsidian keep notes; then times
# `kitnotes search` against `rg -i -w` and `rg -l -i -w` with hyperfine for a lot number, a rare
# word, a common word and a phrase; the in-process search time of many separate runs (p50, p95);
# jrnl over the same notes as one journal (installed with pip when it can be; left out if not);
# `kitnotes search` again while the terminal UI holds the store, so that the UI answers it over
# its socket (benches/hold_ui.py); the peak memory of a search; the first frame of the real
# terminal UI in a pseudo-terminal;
# `today` and a whole-store export served the same way, and the export run directly; importing
# the whole export into an empty plain store and an empty encrypted one; on the encrypted one,
# `search` and `today`; `check` on both; the stores' sizes; and a summary of issue 23's targets,
# met or not. Then `cargo bench --bench search` (search as you type), `--bench store -- today
# drafts` (Today and the drafts list in process) and the frame benchmark of benches/ui.rs.
#
# Environment: CARGO_TARGET_DIR (default ./target), JOBS (cargo -j, default 1), RUNS.

set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
JOBS=${JOBS:-1}
RUNS=${RUNS:-10}
WORK=$TARGET/tmp/bench-data
KITNOTES=$TARGET/release/kitnotes
SPEC=(--patients 1000 --notes-per-patient 100 --seed 42 --anchor 2026-11-01)
# Uncommon words of the demo's phrase banks; the rarest in the store is the "rare word"
# (benches/search.rs picks it the same way).
RARE_CANDIDATES=(sinus ecg benzodiazepine borderline melatonin aripiprazole lamotrigine
  propranolol breastfeeding vortioxetine)
COMMON=sleep
PHRASE="first session"

section() { printf '\n== %s\n' "$*"; }

# --- tools ----------------------------------------------------------------------------------
need=()
command -v rg >/dev/null || need+=(ripgrep)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  section "Installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}"
fi

# --- the machine ----------------------------------------------------------------------------
section "Machine"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpus:    $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "memory:  $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo)"
echo "kernel:  $(uname -sr)"
echo "disk:    $(df -h "$ROOT" | awk 'NR == 2 {print $1 " (" $2 ")"}')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min; other work on the machine skews timings)"
echo "rustc:   $(rustc --version)"
echo "tools:   $(rg --version | sed -n 1p), $(hyperfine --version), $(python3 --version)"
echo "commit:  $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml || echo ' (with uncommitted changes)')"

# --- build ----------------------------------------------------------------------------------
section "Building the release binary"
cargo build --release -j "$JOBS" --bin kitnotes 2>&1 | tail -1

export KITNOTES_DATA_DIR=$WORK
export KITNOTES_CONFIG_DIR=$WORK/config # empty: default settings, UTC, as benches/search.rs
mkdir -p "$WORK/config"

section "The demo store (1,000 patients x 100 notes)"
/usr/bin/time -f 'demo (built, or reused and counted): %e s wall, %M KB peak' "$KITNOTES" demo --no-ui "${SPEC[@]}" 2>&1 |
  grep -v ' of 1000 patients' || true
STORE=$WORK/demo

# The export and the Markdown notes are made again whenever the store is newer than them.
EXPORT=$WORK/export.jsonl
NOTES=$WORK/notes-md
if [ ! -s "$EXPORT" ] || [ "$STORE/demo-spec.json" -nt "$EXPORT" ]; then
  section "Exporting (psychotherapy notes included: the import below takes them too)"
  "$KITNOTES" --demo export --include-psychotherapy-notes -o "$EXPORT.part"
  mv "$EXPORT.part" "$EXPORT"
fi
if [ ! -f "$NOTES/.complete" ] || [ "$EXPORT" -nt "$NOTES/.complete" ]; then
  section "Writing one Markdown file per note"
  rm -rf "$NOTES"
  python3 benches/notes_to_markdown.py "$EXPORT" "$NOTES" >"$WORK/notes-md.count"
  touch "$NOTES/.complete"
fi
MD_FILES=$(cat "$WORK/notes-md.count")
MD_SIZE=$(du -sh "$NOTES" | cut -f1)
echo "$MD_FILES Markdown notes (psychotherapy notes left out, as kitnotes search does) in" \
  "$(find "$NOTES" -mindepth 1 -maxdepth 1 -type d | wc -l) patient folders, $MD_SIZE, at $NOTES"

# --- what to search for ---------------------------------------------------------------------
total() { "$KITNOTES" --demo search --json --limit 1 -- "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }

section "Words"
RARE=""
RARE_N=""
for w in "${RARE_CANDIDATES[@]}"; do
  n=$(total "$w")
  printf '  %-16s %s entries\n' "$w" "$n"
  if [ "$n" -gt 0 ] && { [ -z "$RARE_N" ] || [ "$n" -lt "$RARE_N" ]; }; then
    RARE=$w
    RARE_N=$n
  fi
done
# A lot number, as typed: the lot of patient p0500's first dosing session (as benches/search.rs).
# kitnotes reads "ESK-X47499" as the phrase "esk x47499".
LOT=$(python3 - "$EXPORT" <<'EOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    if '"p0500"' not in line:
        continue
    r = json.loads(line)
    if r.get("type") == "session" and r.get("patient") == "p0500" and r.get("lot"):
        print(r["lot"])
        break
EOF
)
declare -A WHAT=([lot]="$LOT" [rare]="$RARE" [common]="$COMMON" [phrase]="$PHRASE")
ORDER=(lot rare common phrase)
for k in "${ORDER[@]}"; do
  q=${WHAT[$k]}
  [ "$k" = phrase ] && q="\"$q\""
  echo "  $k: ${WHAT[$k]}  ($(total "$q") entries in kitnotes;" \
    "$( (rg -l -i -w -F -- "${WHAT[$k]}" "$NOTES" || true) | wc -l) Markdown files)"
done

# --- kitnotes search against ripgrep ----------------------------------------------------------
# Every command is timed without a shell (hyperfine -N: no shell start to subtract, which at a
# few milliseconds a run is larger than what is measured); its quotes are split as a shell would.
section "kitnotes search against ripgrep (hyperfine, $RUNS runs after 3 warm-up runs)"
mkdir -p "$WORK/results"
for k in "${ORDER[@]}"; do
  w=${WHAT[$k]}
  q=$w
  [ "$k" = phrase ] && q="'\"$w\"'"
  hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$WORK/results/$k.json" \
    -n "kitnotes search $k" "$KITNOTES --demo search --limit 20 -- $q" \
    -n "rg -i -w $k" "rg -i -w -F -- '$w' $NOTES" \
    -n "rg -l -i -w $k" "rg -l -i -w -F -- '$w' $NOTES" 2>&1 |
    grep -E '^(Benchmark|  Time)'
done

# jrnl (one plain-text journal, searched by `jrnl -contains`), where it can be installed: it
# reads and parses the whole journal on every run, so it gets 3 runs, not $RUNS.
if ! command -v jrnl >/dev/null; then
  pip install -q jrnl >/dev/null 2>&1 || true
fi
if command -v jrnl >/dev/null; then
  JRNL=$WORK/jrnl
  if [ ! -s "$JRNL/journal.txt" ] || [ "$EXPORT" -nt "$JRNL/journal.txt" ]; then
    python3 benches/notes_to_jrnl.py "$EXPORT" "$JRNL" >"$WORK/jrnl.count"
  fi
  echo "jrnl: $(jrnl --version 2>&1 | sed -n 1p), $(cat "$WORK/jrnl.count") notes in one journal, $(du -sh "$JRNL/journal.txt" | cut -f1)"
  for k in rare common; do
    hyperfine -N --style basic --warmup 1 --runs 3 --export-json "$WORK/results/jrnl-$k.json" \
      -n "jrnl -contains $k" "jrnl --config-file $JRNL/jrnl.yaml -contains '${WHAT[$k]}' --short" 2>&1 |
      grep -E '^(Benchmark|  Time)'
  done
else
  echo "jrnl: not installed and could not be installed (pip install jrnl); left out"
fi

# What a whole `kitnotes search` process costs besides searching: starting, and opening and
# closing the store (a word in no entry: the search itself is one missed key).
hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$WORK/results/overhead.json" \
  -n "kitnotes --version (process start only)" "$KITNOTES --version" \
  -n "kitnotes search of a word in no entry (start, open, close)" \
  "$KITNOTES --demo search --limit 20 -- zzqxj" 2>&1 | grep -E '^(Benchmark|  Time)'

# --- served by a running kitnotes --------------------------------------------------------------
# The terminal UI holds the store in a pseudo-terminal (benches/hold_ui.py) while `kitnotes
# search` runs beside it: the search is answered by the open kitnotes over its socket
# (src/cli/serve.rs), no second open of the store.
section "kitnotes search served by a running kitnotes (the UI open on the store; hyperfine)"
rm -f "$WORK/ui.ready" "$WORK/ui.stop"
python3 benches/hold_ui.py "$KITNOTES" "$WORK/ui.ready" "$WORK/ui.stop" &
HOLDER=$!
for _ in $(seq 600); do [ -e "$WORK/ui.ready" ] && break; sleep 0.1; done
[ -e "$WORK/ui.ready" ] || { echo "the UI did not start"; exit 1; }
for k in "${ORDER[@]}"; do
  w=${WHAT[$k]}
  q=$w
  [ "$k" = phrase ] && q="'\"$w\"'"
  hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$WORK/results/served-$k.json" \
    -n "kitnotes search $k (served)" "$KITNOTES --demo search --limit 20 -- $q" 2>&1 |
    grep -E '^(Benchmark|  Time)'
done
# today and a whole-store export (JSON Lines) beside the UI, then the same export run directly
# once it has quit (the export is the longest thing a served command does).
hyperfine -N --style basic --warmup 1 --runs 3 --export-json "$WORK/results/served-other.json" \
  -n "kitnotes today (served)" "$KITNOTES --demo today" \
  -n "kitnotes export, whole store (served)" "$KITNOTES --demo export -o $WORK/served-export.jsonl" 2>&1 |
  grep -E '^(Benchmark|  Time)'
touch "$WORK/ui.stop"
wait "$HOLDER"
hyperfine -N --style basic --warmup 1 --runs 3 --export-json "$WORK/results/direct-export.json" \
  -n "kitnotes export, whole store (direct)" "$KITNOTES --demo export -o $WORK/direct-export.jsonl" 2>&1 |
  grep -E '^(Benchmark|  Time)'
rm -f "$WORK/served-export.jsonl" "$WORK/direct-export.jsonl"

# --- in-process time, many runs ---------------------------------------------------------------
section "In-process search time of separate runs (the summary line's figure; 50 runs each)"
for k in "${ORDER[@]}" prefix patient; do
  case $k in
  prefix) args=("fath*") ;;
  patient) args=(--patient p0500 "$COMMON") ;;
  phrase) args=("\"${WHAT[$k]}\"") ;;
  *) args=("${WHAT[$k]}") ;;
  esac
  for _ in $(seq 50); do
    "$KITNOTES" --demo search --limit 20 "${args[@]}" 2>&1 >/dev/null | sed -n 1p
  done | sed -nE 's/.*, ([0-9.]+) ms$/\1/p' >"$WORK/results/inproc-$k.txt"
done
python3 - "$WORK/results" <<'EOF'
import sys, os
d = sys.argv[1]
print(f"{'search':<10} {'p50':>9} {'p95':>9} {'max':>9}")
for k in ["lot", "rare", "common", "phrase", "prefix", "patient"]:
    t = sorted(float(x) for x in open(os.path.join(d, f"inproc-{k}.txt")))
    at = lambda p: t[min(len(t) - 1, max(0, int(-(-len(t) * p // 1)) - 1))]
    print(f"{k:<10} {at(0.5):>6.1f} ms {at(0.95):>6.1f} ms {t[-1]:>6.1f} ms")
EOF

# --- peak memory --------------------------------------------------------------------------------
section "Peak memory of kitnotes search (GNU time, max RSS)"
for k in "${ORDER[@]}"; do
  q=${WHAT[$k]}
  [ "$k" = phrase ] && q="\"$q\""
  /usr/bin/time -f "$k: %M KB, %e s" "$KITNOTES" --demo search --limit 20 -- "$q" 2>&1 >/dev/null | tail -1
done | tee "$WORK/results/rss.txt"

# --- first frame ------------------------------------------------------------------------------
section "First frame of the real terminal UI (120x40 pseudo-terminal, 10 starts)"
# From fork to the roster's title on the screen (the first frame is drawn in one write), then
# `q`. Includes process start, config, keymap and templates, opening the store, the roster.
python3 - "$KITNOTES" <<'EOF' | tee "$WORK/results/first-frame.txt"
import fcntl, os, pty, select, struct, sys, termios, time
sys.path.insert(0, "benches")
from hold_ui import quit_ui
times = []
for _ in range(10):
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        # The child's terminal is 120x40 before kitnotes starts.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.argv[1], [sys.argv[1], "--demo"])
    seen = b""
    shown = None
    while shown is None and time.perf_counter() - start < 30:
        r, _, _ = select.select([fd], [], [], 0.01)
        if r:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
            if b"Patients (" in seen:
                shown = time.perf_counter() - start
    quit_ui(pid, fd, 10)
    os.close(fd)
    if shown is None:
        sys.exit("the first frame never showed 'Patients ('")
    times.append(shown * 1000)
times.sort()
print(f"first frame: median {times[len(times) // 2]:.0f} ms, fastest {times[0]:.0f} ms, slowest {times[-1]:.0f} ms")
EOF
# A second view of the same thing: `kitnotes screenshot` opens the store, makes the app and
# draws one 120x40 frame to text, then closes the store and exits.
hyperfine -N --style basic --warmup 2 --runs "$RUNS" --export-json "$WORK/results/screenshot.json" \
  -n "kitnotes screenshot (start, open, one 120x40 frame, exit)" \
  "$KITNOTES --demo screenshot --size 120x40 --at 2026-11-01T12:00:00Z" 2>&1 | grep -E '^(Benchmark|  Time)'

# --- import, and the encrypted store ----------------------------------------------------------
# The same export into an empty plain store (`--demo` in a fresh data directory) and an empty
# encrypted one (a new store is encrypted: its passphrase from a file, as a script gives it).
# The encrypted one is kept for the measurements after this, then removed.
section "Import of the whole export into an empty store, plain and encrypted"
NOTES_IN_EXPORT=$(grep -c '^{"type":"note"' "$EXPORT")
PLAIN_IMPORT=$(mktemp -d "$WORK/import.XXXXXX")
ENC=$(mktemp -d "$WORK/encrypted.XXXXXX")
echo "bench passphrase" >"$ENC/passphrase"
trap 'rm -rf "$PLAIN_IMPORT" "$ENC"' EXIT
KITNOTES_DATA_DIR=$PLAIN_IMPORT /usr/bin/time -f 'import plain: %e s wall, %U s user, %S s system, %M KB peak' \
  "$KITNOTES" --demo import "$EXPORT" 2>&1 | tail -1 | tee "$WORK/results/import-plain.txt"
KITNOTES_DATA_DIR=$ENC KITNOTES_PASSPHRASE_FILE=$ENC/passphrase \
  /usr/bin/time -f 'import encrypted: %e s wall, %U s user, %S s system, %M KB peak' \
  "$KITNOTES" import "$EXPORT" 2>&1 | tail -1 | tee "$WORK/results/import-encrypted.txt"
for kind in plain encrypted; do
  s=$(sed -nE 's/^import [a-z]+: ([0-9.]+) s wall.*/\1/p' "$WORK/results/import-$kind.txt")
  echo "$NOTES_IN_EXPORT notes $kind: $(python3 -c "print(f'{$NOTES_IN_EXPORT / $s:,.0f}')") notes/s (whole process)"
done
IMPORTED_SIZE=$(du -sh "$PLAIN_IMPORT/demo" | cut -f1)
ENCRYPTED_SIZE=$(du -sh "$ENC/store" | cut -f1)
rm -rf "$PLAIN_IMPORT"
ENV_ENC="KITNOTES_DATA_DIR=$ENC KITNOTES_PASSPHRASE_FILE=$ENC/passphrase"

section "The encrypted store: search and today, beside the plain store's today (hyperfine, $RUNS runs after 2 warm-up runs)"
# Each run on the encrypted store derives its key from the passphrase (Argon2id, the store's
# parameters) before it reads anything: that is in every encrypted figure, in no plain one.
hyperfine -N --style basic --warmup 2 --runs "$RUNS" --export-json "$WORK/results/encrypted.json" \
  -n "kitnotes search rare (encrypted)" "env $ENV_ENC $KITNOTES search --limit 20 -- ${WHAT[rare]}" \
  -n "kitnotes search common (encrypted)" "env $ENV_ENC $KITNOTES search --limit 20 -- ${WHAT[common]}" \
  -n "kitnotes today (encrypted)" "env $ENV_ENC $KITNOTES today" \
  -n "kitnotes today (plain)" "$KITNOTES --demo today" 2>&1 |
  grep -E '^(Benchmark|  Time)'

section "check, plain and encrypted (GNU time; target: under 5 s)"
/usr/bin/time -f 'check plain: %e s wall, %U s user, %S s system, %M KB peak' \
  "$KITNOTES" --demo check 2>&1 | tail -1 | tee "$WORK/results/check-plain.txt"
env KITNOTES_DATA_DIR="$ENC" KITNOTES_PASSPHRASE_FILE="$ENC/passphrase" \
  /usr/bin/time -f 'check encrypted: %e s wall, %U s user, %S s system, %M KB peak' \
  "$KITNOTES" check 2>&1 | tail -1 | tee "$WORK/results/check-encrypted.txt"

# --- sizes --------------------------------------------------------------------------------------
section "Sizes on disk"
echo "demo store (records, audit log and search index): $(du -sh "$STORE" | cut -f1)"
echo "the same records imported into a fresh store: $IMPORTED_SIZE plain, $ENCRYPTED_SIZE encrypted"
echo "the JSON Lines export: $(du -sh "$EXPORT" | cut -f1); the Markdown notes: $MD_SIZE"

# --- summary ------------------------------------------------------------------------------------
section "Summary: kitnotes search against ripgrep over the same notes (mean wall time of a whole process)"
python3 - "$WORK/results" <<'EOF'
import json, os, sys
d = sys.argv[1]
print(f"{'query':<8} {'kitnotes':>10} {'rg -i -w':>10} {'rg -l':>10} {'rg / kitnotes':>14} {'rg -l / kitnotes':>17}")
for k in ["lot", "rare", "common", "phrase"]:
    r = json.load(open(os.path.join(d, f"{k}.json")))["results"]
    kit, rg, rgl = (x["mean"] * 1000 for x in r)
    print(f"{k:<8} {kit:>7.1f} ms {rg:>7.1f} ms {rgl:>7.1f} ms {rg / kit:>13.1f}x {rgl / kit:>16.1f}x")
start, nothing = (x["mean"] * 1000 for x in json.load(open(os.path.join(d, "overhead.json")))["results"])
print(f"of which: process start {start:.1f} ms; start, open and close the store {nothing:.1f} ms (a search finding nothing)")
for k in ["rare", "common"]:
    f = os.path.join(d, f"jrnl-{k}.json")
    if os.path.exists(f):
        j = json.load(open(f))["results"][0]["mean"] * 1000
        kit = json.load(open(os.path.join(d, f"{k}.json")))["results"][0]["mean"] * 1000
        print(f"jrnl -contains {k}: {j:.0f} ms, {j / kit:.0f}x kitnotes")
print()
print("Served by a running kitnotes (the UI holds the store; target: 30x ripgrep):")
print(f"{'query':<8} {'served':>10} {'rg -i -w':>10} {'rg -l':>10} {'rg / served':>12} {'rg -l / served':>15}")
for k in ["lot", "rare", "common", "phrase"]:
    served = json.load(open(os.path.join(d, f"served-{k}.json")))["results"][0]["mean"] * 1000
    r = json.load(open(os.path.join(d, f"{k}.json")))["results"]
    rg, rgl = (x["mean"] * 1000 for x in r[1:])
    print(f"{k:<8} {served:>7.1f} ms {rg:>7.1f} ms {rgl:>7.1f} ms {rg / served:>11.1f}x {rgl / served:>14.1f}x")
EOF

section "Summary: issue 23's targets in this run"
python3 - "$WORK/results" "$NOTES_IN_EXPORT" <<'EOF'
import json, os, re, sys
d, notes = sys.argv[1], int(sys.argv[2])
mean = lambda f, i=0: json.load(open(os.path.join(d, f)))["results"][i]["mean"] * 1000
def timed(f):
    m = re.search(r"([0-9.]+) s wall, ([0-9.]+) s user, ([0-9.]+) s system, ([0-9]+) KB", open(os.path.join(d, f)).read())
    return float(m[1]), float(m[2]) + float(m[3]), int(m[4]) // 1024
rows = []
worst = min(mean(f"{k}.json", 1) / mean(f"{k}.json") for k in ["lot", "rare", "common", "phrase"])
rows.append(("whole-process search, plain, >= 10x rg -i -w", f"{worst:.1f}x at worst", worst >= 10))
worst = min(mean(f"{k}.json", 1) / mean(f"served-{k}.json") for k in ["lot", "rare", "common", "phrase"])
rows.append(("search served by a running kitnotes, >= 30x rg -i -w", f"{worst:.0f}x at worst", worst >= 30))
enc = [mean("rare.json", 1) / mean("encrypted.json", i) for i in (0, 1)]
rows.append(("whole-process search, encrypted, against rg (no target)", f"{min(enc):.1f}x at worst", None))
for kind in ["plain", "encrypted"]:
    wall, cpu, mb = timed(f"import-{kind}.txt")
    rows.append((f"import, {kind}, >= 20,000 notes/s", f"{notes / wall:,.0f} notes/s ({cpu:.1f} s CPU, {mb} MB)", notes / wall >= 20000))
for kind in ["plain", "encrypted"]:
    wall, cpu, mb = timed(f"check-{kind}.txt")
    rows.append((f"check, {kind}, < 5 s", f"{wall:.1f} s wall ({cpu:.1f} s CPU)", wall < 5))
rows.append(("kitnotes today, plain / encrypted (no target)", f"{mean('encrypted.json', 3):.0f} / {mean('encrypted.json', 2):.0f} ms", None))
rows.append(("today served / export served / export direct",
             f"{mean('served-other.json'):.0f} / {mean('served-other.json', 1):.0f} / {mean('direct-export.json'):.0f} ms", None))
for name, got, met in rows:
    print(f"{name:<58} {got:<42} {'-' if met is None else ('met' if met else 'NOT met')}")
print("(search as you type: cargo bench --bench search below; Today and drafts in process: --bench store)")
EOF
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- cargo bench --------------------------------------------------------------------------------
if [ -z "${SKIP_CARGO_BENCH:-}" ]; then
  section "cargo bench --bench search"
  KITNOTES_BENCH_DATA_DIR=$WORK cargo bench -j "$JOBS" --bench search 2>&1 | grep -v '^\s*Compiling'
  section "cargo bench --bench store -- today drafts (Today and the drafts list in process)"
  KITNOTES_BENCH_TODAY_STORE=$STORE cargo bench -j "$JOBS" --bench store -- today drafts 2>&1 | grep -v '^\s*Compiling'
  section "cargo bench --bench ui -- draw_frame_10k_timeline"
  cargo bench -j "$JOBS" --bench ui -- draw_frame_10k_timeline 2>&1 | grep -v '^\s*Compiling'
fi
