#!/bin/bash
# Issue 11's "longer schedule" step: v2 trained 1,500 steps more on the same mix (phantoms + the real films of
# cxr-unboxed with synthetic lesions), from models/pointbox-pbc-v2.pt, at a third of v2's learning rate, seed 1,
# SC in the last 500 steps. The recipe was fixed before looking at any cxr-png number; the result is scored by
# `npm run eval:real` and reported whichever way it falls (models/evidence/continue-v2/). Run from the repo root
# after `node scripts/build.mjs`; same data preparation as make-shipped-model-v2.sh.
set -euo pipefail
DEVICE=${1:-auto}
source "$(dirname "$0")/ship-data.sh"
[ -n "$SHARED" ] || { echo "needs ../shared/data (or POINTBOX_SHARED_DATA): the real films and the public box tables" >&2; exit 1; }
cd models
$PY -m pbc_trainer train --data data/ship-3k-pbc --out runs/ship-v2-long --mode pbc --epochs 15 --steps-per-epoch 100 \
  --sc-epochs 5 --batch 8 --unlabeled-batch 4 --image-size 256 --stride 16 --point-feat --seed 1 --eval-every 5 \
  --lr 1.3e-4 --warmup-steps 20 --init pointbox-pbc-v2.pt \
  --head residual --prior-table priors/public-nih-rsna.csv \
  --real-films "$SHARED/cxr-unboxed/images" --real-fraction 0.5 --lesion-tables "$SHARED/cxr-png/annotations" \
  --exclude-from "$SHARED/cxr-png" --film-cache data/film-cache --device "$DEVICE" ${PBC_EXTRA_ARGS:-}
