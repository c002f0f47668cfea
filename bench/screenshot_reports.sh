#!/usr/bin/env bash
# Headless-Chromium screenshots of the demo, forecast, classification, language-model and captioning reports, to
# look at what a user sees (label text, tick labels, legends, the baseline in the first section). Not a test and
# not a dependency: needs Debian's chromium (apt-get install -y chromium).
#
#   bench/screenshot_reports.sh SHOTS_DIR [TWEMOJI_TGZ]      # ~2 minutes on 2 cores with RNNKIT_SMOKE=1 (default)
#   RNNKIT_SMOKE=0 bench/screenshot_reports.sh SHOTS_DIR ...  # real (longer) trainings
#
# The classification tables are made to be awkward: class names with "$" (matplotlib would read maths) and long
# class names, and a numeric table with three named input channels. Without TWEMOJI_TGZ the captioning run uses a
# few generated images. Runs go to SHOTS_DIR/runs; one PNG per report to SHOTS_DIR.
set -euo pipefail
shots=$(realpath -m "${1:?usage: $0 SHOTS_DIR [TWEMOJI_TGZ]}")
tarball=${2:-}
py=${PYTHON:-.venv/bin/python}
export RNNKIT_SMOKE=${RNNKIT_SMOKE:-1}
work=$shots/runs
mkdir -p "$work"
rnnkit() { "$py" -c 'import sys; from rnnkit.cli.main import main; sys.exit(main())' "$@"; }

"$py" - "$work" <<'PY'
import csv, sys
from pathlib import Path
import numpy as np
from rnnkit.data.images import encode_png
work, rng = Path(sys.argv[1]), np.random.default_rng(0)
labels = ["costs $5", "a rather long class name that must wrap", "neutral"]
words = {label: label.replace("$", "").split() + ["x", "y"] for label in labels}
with open(work / "texts.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["text", "label"])
    for i in range(150):
        label = labels[i % 3]; w.writerow([" ".join(rng.choice(words[label], 6)), label])
with open(work / "motions.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["id", "t", "accel_x", "accel_y", "gyro_z", "activity"])
    for i in range(90):
        for t in range(30):
            values = np.round(np.sin(t / (3 + i % 3)) + rng.normal(0, 0.3, 3), 3)
            w.writerow([i, t, *values, ["walk", "run $", "stand"][i % 3]])
images = work / "shapes"; images.mkdir(exist_ok=True)
with open(images / "captions.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["file", "caption"])
    for i in range(40):
        picture = np.full((32, 32, 3), 255, np.uint8); colour = ["red", "green", "blue"][i % 3]
        picture[8:24, 8:24, i % 3] = 0 if i % 2 else 128
        (images / f"{i}.png").write_bytes(encode_png(picture)); w.writerow([f"{i}.png", f"a {colour} square costs $1"])
PY
[ -e "$work/airline.csv" ] || "$py" -m rnnkit.datasets airline --out "$work/airline.csv"
[ -e "$work/plays" ] || "$py" -m rnnkit.datasets plays --limit 3 --out "$work/plays"
rnnkit demo --out "$work/demo" --force --lags 10 50 --max-steps 300 --workers 1
rnnkit forecast train "$work/airline.csv" --target passengers --time month --horizon 12 --out "$work/forecast" --force
rnnkit classify train "$work/texts.csv" --label label --text text --budget none --out "$work/classify" --force
rnnkit classify train "$work/motions.csv" --label activity --id id --time t --budget none --out "$work/motions" --force
rnnkit generate train "$work/plays" --out "$work/generate" --force
if [ -n "$tarball" ]; then
  [ -e "$work/emoji" ] || "$py" -m rnnkit.datasets.export_twemoji "$tarball" "$work/emoji"
  rnnkit caption train "$work/emoji" "$work/emoji/captions.csv" --image-size 32 --out "$work/caption" --force
else
  rnnkit caption train "$work/shapes" "$work/shapes/captions.csv" --image-size 32 --out "$work/caption" --force
fi
for run in demo forecast classify motions generate caption; do
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,4000 \
    --screenshot="$shots/$run.png" "file://$work/$run/report.html" 2>/dev/null
  echo "$shots/$run.png"
done
