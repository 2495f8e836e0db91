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
# V2_SEED=<n> (default 0, the shipped seed) trains the same recipe with another seed into runs/ship-v2-s<n> and
# exports runs/ship-v2-s<n>/model.onnx without shipping it: the seed spread of the recipe (models/README).
set -euo pipefail
DEVICE=${1:-auto}
SEED=${V2_SEED:-0}
source "$(dirname "$0")/ship-data.sh"
[ -n "$SHARED" ] || { echo "needs ../shared/data (or POINTBOX_SHARED_DATA): the real films and the public box tables" >&2; exit 1; }
cd models
# 4,500 steps of 8 box-level samples (half phantoms, half real films with a synthetic lesion), MPC throughout,
# SC on the phantoms' point-level images in the last 1,500 steps (PBC's schedule); residual head on the prior.
$PY -m pbc_trainer train --data data/ship-3k-pbc --out runs/ship-v2-s$SEED --mode pbc --epochs 45 --steps-per-epoch 100 \
  --sc-epochs 15 --batch 8 --unlabeled-batch 4 --image-size 256 --stride 16 --point-feat --seed "$SEED" --eval-every 5 \
  --head residual --prior-table priors/public-nih-rsna.csv \
  --real-films "$SHARED/cxr-unboxed/images" --real-fraction 0.5 --lesion-tables "$SHARED/cxr-png/annotations" \
  --exclude-from "$SHARED/cxr-png" --film-cache data/film-cache --device "$DEVICE" ${PBC_EXTRA_ARGS:-}
if [ "$SEED" != 0 ]; then
  $PY -m pbc_trainer export --checkpoint "runs/ship-v2-s$SEED/checkpoints/last.pt" --out "runs/ship-v2-s$SEED/model.onnx"
  exit 0
fi
# ship the last checkpoint (no selection on any validation set), its reference I/O and the checkpoint for --init
$PY -m pbc_trainer export --checkpoint runs/ship-v2-s0/checkpoints/last.pt --out pointbox-pbc-v2.onnx \
  --reference-dir reference/pointbox-pbc-v2
cp runs/ship-v2-s0/checkpoints/last.pt pointbox-pbc-v2.pt
# phantom numbers for the model card (own test split and the seed-6 benchmark, given and uniform clicks)
$PY -m pbc_trainer.ship_eval --checkpoint runs/ship-v2-s0/checkpoints/last.pt --out runs/ship-eval-v2.json
