"""Reference side of bench/inference.bench.ts: the trainer's own PointDETR in PyTorch eager mode (Debian's
torch), built from the ONNX file's `pointbox.model` metadata (same architecture; weights do not change the
time), timed on the same input shape and thread count as onnxruntime-node; FLOPs per image counted with
torch.profiler; and onnxruntime's large-GEMM model written for the peak measurement.

Usage: python3 torch_reference.py CONFIG_JSON THREADS N_POINTS ITERS GEMM_ONNX_OUT
Prints one JSON line.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "models"))

import torch  # noqa: E402

from pbc_trainer.model import ModelConfig, PointDETR  # noqa: E402


def main():
    cfg = ModelConfig.from_dict(json.loads(sys.argv[1]))
    threads, n_points, iters, gemm_out = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = PointDETR(cfg).eval()
    S = cfg.image_size
    image = torch.randn(1, 1, S, S)
    points = torch.rand(1, n_points, 2)
    labels = torch.zeros(1, n_points, dtype=torch.int64)
    mask = torch.ones(1, n_points)
    with torch.no_grad():
        for _ in range(3):
            model(image, points, labels, mask)
        times = []
        for _ in range(iters):
            t0 = time.perf_counter()
            model(image, points, labels, mask)
            times.append((time.perf_counter() - t0) * 1000)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], with_flops=True) as prof:
            model(image, points, labels, mask)
    flops = sum(e.flops for e in prof.key_averages() if e.flops)
    times.sort()

    class Gemm(torch.nn.Module):
        def forward(self, a, b):
            return torch.matmul(a, b)

    n = 1024
    torch.onnx.export(Gemm(), (torch.randn(n, n), torch.randn(n, n)), gemm_out, input_names=["a", "b"], output_names=["c"], opset_version=14)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "median_ms": times[len(times) // 2],
                      "best_ms": times[0], "flops": flops, "params": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
