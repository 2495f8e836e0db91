"""PointBox PBC trainer: a compact Point DETR (point -> box) with PBC's multi-point (MPC) and symmetric
(SC) consistency, an IoU-confidence head, ONNX export. See models/README.md."""

__version__ = "0.1.0"
CONTRACT_VERSION = "1"
