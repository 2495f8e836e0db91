#!/bin/bash
# Rebuilds the shipped model models/pointbox-pbc-v2.onnx (+ its checkpoint pointbox-pbc-v2.pt for --init, and
# reference/pointbox-pbc-v2/) from nothing, seeded, on this machine (CPU, about an hour on 2 shared cores) or
# with --device cuda. Run from the repo root after `node scripts/build.mjs`, with ../shared/data beside the
# repo (or POINTBOX_SHARED_DATA=<dir>): it trains on
#   - the phantoms of v1 (models/data/ship-3k, our own generator; box- and point-level images, PBC's schedule),
#   - the 554 real NIH films without boxes in <shared>/cxr-unboxed, with synthetic lesions rendered into them
#     (pbc_trainer/lesions.py), sized from the public NIH / RSNA box tables in <shared>/cxr-png/annotations with
#     the 20 evaluation images of cxr-png (and their RSNA patients) left out,
#   - the prior table models/priors/public-nih-rsna.csv (`pointbox prior-table`, same images left out).
# No real box of the evaluation images is used: `npm run eval:real` scores it on them.
set -euo pipefail
PY=${PBC_PYTHON:-/usr/bin/python3}
CLI=${POINTBOX_CLI:-node dist/cli.js}
DEVICE=${1:-auto}
cd "$(dirname "$0")/../.."
SHARED=$(cd "${POINTBOX_SHARED_DATA:-../shared/data}" && pwd)
mkdir -p models/data models/runs
[ -d models/data/ship-3k ] || $CLI phantom --out models/data/ship-3k --images 3000 --seed 7 --size 256 --format png --box-ratio 0.2 --val 0.1 --test 0.1
[ -d models/data/ship-3k-pbc ] || $CLI export coco models/data/ship-3k/dataset.pointbox.json --out models/data/ship-3k-pbc --layout pbc
[ -d models/data/bench-r20 ] || $CLI phantom --out models/data/bench-r20 --images 1000 --seed 6 --size 256 --format png --box-ratio 0.2 --val 0.2 --test 0.1
[ -d models/data/bench-r20-pbc ] || $CLI export coco models/data/bench-r20/dataset.pointbox.json --out models/data/bench-r20-pbc --layout pbc
cd models
# 4,500 steps of 8 box-level samples (half phantoms, half real films with a synthetic lesion), MPC throughout,
# SC on the phantoms' point-level images in the last 1,500 steps (PBC's schedule); residual head on the prior.
$PY -m pbc_trainer train --data data/ship-3k-pbc --out runs/ship-v2-s0 --mode pbc --epochs 45 --steps-per-epoch 100 \
  --sc-epochs 15 --batch 8 --unlabeled-batch 4 --image-size 256 --stride 16 --point-feat --seed 0 --eval-every 5 \
  --head residual --prior-table priors/public-nih-rsna.csv \
  --real-films "$SHARED/cxr-unboxed/images" --real-fraction 0.5 --lesion-tables "$SHARED/cxr-png/annotations" \
  --exclude-from "$SHARED/cxr-png" --film-cache data/film-cache --device "$DEVICE" ${PBC_EXTRA_ARGS:-}
# ship the last checkpoint (no selection on any validation set), its reference I/O and the checkpoint for --init
$PY -m pbc_trainer export --checkpoint runs/ship-v2-s0/checkpoints/last.pt --out pointbox-pbc-v2.onnx \
  --reference-dir reference/pointbox-pbc-v2
cp runs/ship-v2-s0/checkpoints/last.pt pointbox-pbc-v2.pt
# phantom numbers for the model card (own test split and the seed-6 benchmark, given and uniform clicks)
$PY -m pbc_trainer.ship_eval --checkpoint runs/ship-v2-s0/checkpoints/last.pt --out runs/ship-eval-v2.json
