#!/bin/bash
# Rebuilds the shipped model models/pointbox-pbc-v1.onnx and its evaluation from nothing (seeded), on this
# machine (CPU, about 30-40 min on 2 shared cores) or with --device cuda. Run from the repo root after
# `node scripts/build.mjs`. Outputs: models/data/ (phantoms, exports; git-ignored), models/runs/ship-pbc-pf-s0/
# (run dir; git-ignored), models/pointbox-pbc-v1.onnx + models/reference/pointbox-pbc-v1/ (committed),
# models/runs/ship-eval.json (the numbers in the model card).
set -euo pipefail
DEVICE=${1:-auto}
# 1. data: 3000 phantom CXRs at 256 px, 20 % of train images keep boxes (PBC), 10 % val, 10 % test;
#    the 1000-image benchmark (seed 6) is the evidence table's data and a second, independent test set.
source "$(dirname "$0")/ship-data.sh"
cd models
# 2. train: MPC pretraining (24 epochs), then SC fine-tuning (12 epochs), 256 px, seed 0
$PY -m pbc_trainer train --data data/ship-3k-pbc --out runs/ship-pbc-pf-s0 --mode pbc --epochs 36 --sc-epochs 12 \
  --batch 8 --unlabeled-batch 4 --image-size 256 --stride 16 --point-feat --seed 0 --eval-every 3 --device "$DEVICE"
# 3. ship the last checkpoint (not best.pt: no selection on val), with its reference I/O
$PY -m pbc_trainer export --checkpoint runs/ship-pbc-pf-s0/checkpoints/last.pt --out pointbox-pbc-v1.onnx \
  --reference-dir reference/pointbox-pbc-v1
# 4. evaluate: own test split and the benchmark val, with the dataset's clicks and with uniform points in the boxes (PBC)
$PY -m pbc_trainer.ship_eval --checkpoint runs/ship-pbc-pf-s0/checkpoints/last.pt --out runs/ship-eval.json
