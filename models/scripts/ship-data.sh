# Sourced by the shipped-model scripts (make-shipped-model.sh, make-shipped-model-v2.sh, continue-v2.sh): the
# interpreter, the CLI, the repo root as working folder, ../shared/data, and the phantom training and benchmark
# data they share (our own generator, seeded; made once, kept under models/data).
set -euo pipefail
PY=${PBC_PYTHON:-/usr/bin/python3}
CLI=${POINTBOX_CLI:-node dist/cli.js}
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SHARED=$(cd "${POINTBOX_SHARED_DATA:-../shared/data}" 2>/dev/null && pwd || true)
mkdir -p models/data models/runs
[ -d models/data/ship-3k ] || $CLI phantom --out models/data/ship-3k --images 3000 --seed 7 --size 256 --format png --box-ratio 0.2 --val 0.1 --test 0.1
[ -d models/data/ship-3k-pbc ] || $CLI export coco models/data/ship-3k/dataset.pointbox.json --out models/data/ship-3k-pbc --layout pbc
[ -d models/data/bench-r20 ] || $CLI phantom --out models/data/bench-r20 --images 1000 --seed 6 --size 256 --format png --box-ratio 0.2 --val 0.2 --test 0.1
[ -d models/data/bench-r20-pbc ] || $CLI export coco models/data/bench-r20/dataset.pointbox.json --out models/data/bench-r20-pbc --layout pbc
