#!/bin/sh
# Makes every picture in screenshots/ from the app itself (`kitnotes screenshot`), on the demo
# store with a fixed date and clock, so the pictures only change when the UI does.
# Run from anywhere: sh screenshots/make.sh
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
k="$PWD/target/release/kitnotes"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export KITNOTES_DATA_DIR="$tmp/data" KITNOTES_CONFIG_DIR="$tmp/config"
unset NO_COLOR
"$k" demo --no-ui --anchor 2026-11-21 >/dev/null
shot() { # name keys [size]
  "$k" --demo screenshot --at 2026-11-21T15:30:00Z --size "${3:-120x40}" --keys "$2" \
    -o "screenshots/$1.svg"
}
shot roster-timeline "<Down><Enter>"
# Before any picture that writes a draft: two drafts made at the same fixed time would come in
# either order.
NO_COLOR=1 shot monochrome "<Down><Enter>"
shot signed-note "<Down><Enter><Down><Down><Enter>"
shot dosing-session "<Down><Enter><Down><Down><Down><Down><Down><Down><Down><Enter>"
shot help "<Down><Enter>?"
shot palette ":arch"
shot measure-phq9 "/Maite<Enter>m<Enter>121230002"
shot goal-form "/Maite<Enter>gask<Enter><Left><Tab>2027-03-01<Tab>1,<Space>2"
shot check-in "<Down><Enter>i6<Tab>Called<Space>on<Space>Sunday"
shot patient-form "nIris<Space>Vale<Tab>1984-13-40<Enter>"
shot note-editor "<Down><Enter>w<Enter>Arrived<Space>on<Space>time<Space>with<Space>partner;<Space>slept<Space>7<Space>h.<Tab>"
shot drafts "D"
shot today "t"
shot course "<Down>c"
shot course-80x24 "<Down>c" 80x24
shot summary "/Maite<Enter>cs"
shot search "Ffather"
shot search-opened "Ffather<Down><Enter>"
console="/Xio<Enter><Enter>s<Enter>y<Enter><Enter>v146/92<Space>78<Space>98<Enter>lLOT-4471B<Enter>s5<Enter>oArrived<Space>with<Space>partner;<Space>fasting<Space>since<Space>07:00<Enter>"
shot console-predose "$console"
shot console-80x24 "$console" 80x24
shot console-vitals-error "${console}v12x/84<Enter>"
shot narrow-80x24 "<Down><Enter><Enter>" 80x24
shot locked "<Down><Enter>w<Enter>Arrived<Space>on<Space>time<A-l>"
# Last: it leaves a draft, which the pictures above must not show.
shot editor-help "<Down><Down><Enter>w<Enter><F1>delete"
# The first page of a patient's PDF chart, as a picture (pdftoppm is in poppler-utils).
"$k" --demo export --format pdf --patient p0003 -o "$tmp/chart.pdf" 2>/dev/null
pdftoppm -png -r 60 -f 1 -l 1 -singlefile "$tmp/chart.pdf" screenshots/chart-page
echo "screenshots/ regenerated"
