"""PointBox PBC trainer: a compact Point DETR (point -> box) with PBC's multi-point (MPC) and symmetric
(SC) consistency, an IoU-confidence head, ONNX export. See models/README.md."""

__version__ = "0.2.0"
# "1": ltrb head (pointbox-pbc-v1). "2": residual head on a class-conditional prior box, carried in the
# metadata as pointbox.box_prior (models/README.md). Same inputs and outputs.
CONTRACT_VERSION = "2"
CONTRACT_VERSIONS = ("1", "2")

import os as _os

# Debian's torch 1.13 calls the system libblas.so.3 for every matmul. With OpenBLAS (libopenblas0-pthread)
# behind it, OpenBLAS's own threads fight torch's OpenMP threads: 2-10x slower on 2 cores. One OpenBLAS
# thread per process measured fastest here (models/README.md). Must be set before torch is imported.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
