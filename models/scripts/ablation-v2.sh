#!/bin/bash
# Issue 11's ablation on real boxes (models/README.md, "Ablation"): 500 MPC steps at 256 px, batch 8, each
# run exported; then scored by eval:real. A = phantoms only (residual head), B = + real films with synthetic
# lesions (residual head), C = B with the v1 ltrb head. Usage: bash models/scripts/ablation-v2.sh [out dir]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mkdir -p "${1:-runs/ablation-v2}" && cd "${1:-runs/ablation-v2}" && pwd)
S=$(cd "${POINTBOX_SHARED_DATA:-../../shared/data}" && pwd)
PY=${PBC_PYTHON:-/usr/bin/python3}
COMMON="--data data/ship-3k-pbc --mode mpc --epochs 5 --steps-per-epoch 100 --eval-every 5 --batch 8 --image-size 256 --stride 16 --point-feat --prior-table priors/public-nih-rsna.csv --film-cache data/film-cache"
FILMS="--real-films $S/cxr-unboxed/images --real-fraction 0.5 --lesion-tables $S/cxr-png/annotations --exclude-from $S/cxr-png"
run() { name=$1; shift; [ -f "$OUT/$name/model.onnx" ] && return; OMP_NUM_THREADS=1 $PY -m pbc_trainer train $COMMON --out "$OUT/$name" "$@" > "$OUT/$name.log" 2>&1; }
for seed in 0 1; do
  run "A-s$seed" --seed $seed --head residual
  run "B-s$seed" --seed $seed --head residual $FILMS
  run "C-s$seed" --seed $seed --head ltrb $FILMS
done
cd ..
models=$(ls "$OUT"/*/model.onnx | paste -sd, -)
npm run eval:real -- --models "$models" --out "$OUT/eval"
