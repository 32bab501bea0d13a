#!/usr/bin/env bash
# A public-dataset evaluation report (issue 14): lifelines' rossi (432 released prisoners,
# time to first arrest), split 70/30 into training rows and a holdout, an MST model at ε = 1
# fitted on the 302 training rows, 302 rows sampled, and `synthema evaluate` on them.
# Writes ${OUT:-demo_output/rossi}/report/report.html (not committed: regenerate it).
set -euo pipefail
OUT=${OUT:-demo_output/rossi}
DICT=benchmarks/dictionaries/rossi.yaml
mkdir -p "$OUT"
python - "$OUT" <<'PY'
import sys

import numpy as np
from lifelines.datasets import load_rossi

out = sys.argv[1]
rossi = load_rossi()
for col in ("arrest", "fin", "race", "wexp", "mar", "paro"):
    rossi[col] = rossi[col].map({1: "true", 0: "false"})
order = np.random.default_rng(0).permutation(len(rossi))
n = round(0.7 * len(rossi))
rossi.iloc[order[:n]].to_csv(f"{out}/train.csv", index=False)
rossi.iloc[order[n:]].to_csv(f"{out}/holdout.csv", index=False)
PY
synthema synth fit --dictionary "$DICT" --method mst --epsilon 1 --delta 1e-6 --seed 42 \
  "$OUT/train.csv" --out "$OUT/mst_eps1.synth"
synthema synth sample "$OUT/mst_eps1.synth" --rows 302 --seed 42 --out "$OUT/synthetic.csv"
synthema evaluate --dictionary "$DICT" --real "$OUT/train.csv" --holdout "$OUT/holdout.csv" \
  --synthetic "$OUT/synthetic.csv" --out "$OUT/report"
