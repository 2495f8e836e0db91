"""A compact Point DETR (about 1 M parameters) built from conv + matmul, so ONNX Runtime runs it fast.

image [B,1,S,S] -> CNN (stride 8 or 16, BatchNorm folded at export) -> 1x1 proj -> transformer encoder ->
memory. Each point is one decoder query: content = class embedding, position = the same 2-D sine encoding
as the memory, evaluated at the point. Decoder = masked self-attention between the points of one image
(padded points are never attended to, so they change nothing), cross-attention to the memory, FFN. A
shared head reads every decoder layer. Two box parameterisations:
- `head="residual"` (contract 2, pointbox-pbc-v2): a residual on a class-conditional prior box carried in
  the model (buffers, and the ONNX metadata pointbox.box_prior): centre = click + (prior offset + t_xy) x
  prior size, size = prior size x exp(t_wh). The residual layer starts at zero, so an untrained model *is*
  the prior-box baseline and image evidence has to earn every move away from it; prior-only classes (too few
  boxes to learn from) are gated to exactly the prior box;
- `head="ltrb"` (contract 1, pointbox-pbc-v1): sigmoid distances (left, top, right, bottom) from the point
  to the box sides, in units of the model input.
Either way the point lies inside its box. An IoU head on the last layer predicts the IoU of that box with
the true box (the `scores` output).
Attention is written out as matmul + softmax (no nn.MultiheadAttention) for a small, fast ONNX graph.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    num_classes: int = 1
    image_size: int = 256
    stride: int = 16  # 8 or 16
    dim: int = 128
    heads: int = 4
    enc_layers: int = 2
    dec_layers: int = 3
    ffn: int = 256
    widths: Tuple[int, ...] = (24, 32, 64, 128)
    point_feat: bool = False  # add the encoder feature bilinearly sampled at the point to the query content
    # 'ltrb': v1 head, sigmoid distances from the point to the four sides. 'residual': the head predicts a
    # residual on a class-conditional prior box (box_prior), so a zero output is exactly the prior box.
    head: str = "ltrb"
    # residual head only: per class [w, h, dx, dy] (w, h in model-input units; dx, dy = the prior box's
    # centre offset from the click in units of w, h), whether the class is learned (0 = always the prior
    # box, e.g. a class with too few boxes to learn from), and the score given to a prior-only box.
    box_prior: Optional[List[List[float]]] = None
    prior_learned: Optional[List[float]] = None
    prior_score: Optional[List[float]] = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        if self.head == "ltrb":  # v1 checkpoints and configs stay byte-identical
            for k in ("head", "box_prior", "prior_learned", "prior_score"):
                d.pop(k)
        return d

    @staticmethod
    def from_dict(d: dict) -> "ModelConfig":
        d = dict(d)
        if "widths" in d:
            d["widths"] = tuple(d["widths"])
        return ModelConfig(**d)


def sine_embed(xy: torch.Tensor, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """[..., 2] in [0,1] -> [..., dim]: DETR's sine encoding (dim/2 for y, dim/2 for x)."""
    half = dim // 2
    idx = torch.arange(half // 2, dtype=torch.float32, device=xy.device)
    freq = temperature ** (2 * idx / half)
    x = xy[..., 0:1] * (2 * math.pi) / freq
    y = xy[..., 1:2] * (2 * math.pi) / freq
    ex = torch.cat([x.sin(), x.cos()], -1)
    ey = torch.cat([y.sin(), y.cos()], -1)
    return torch.cat([ey, ex], -1)


def conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Backbone(nn.Module):
    def __init__(self, widths: Tuple[int, ...], stride: int):
        super().__init__()
        w = widths
        layers: List[nn.Module] = [conv_bn(1, w[0], 2), conv_bn(w[0], w[1], 2)]  # /4
        layers += [conv_bn(w[1], w[2], 2), conv_bn(w[2], w[2], 1)]  # /8
        if stride == 16:
            layers += [conv_bn(w[2], w[3], 2), conv_bn(w[3], w[3], 1)]  # /16
        elif stride == 8:
            layers += [conv_bn(w[2], w[3], 1), conv_bn(w[3], w[3], 1)]
        else:
            raise ValueError("stride must be 8 or 16")
        self.body = nn.Sequential(*layers)
        self.out_channels = w[3]

    def forward(self, x):
        return self.body(x)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.h = heads
        self.dh = dim // heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim)

    def forward(self, q_in, k_in, v_in, bias: Optional[torch.Tensor] = None):
        B, Lq, D = q_in.shape
        q = self.q(q_in).reshape(B, Lq, self.h, self.dh).transpose(1, 2)
        k = self.k(k_in).reshape(B, -1, self.h, self.dh).permute(0, 2, 3, 1)
        v = self.v(v_in).reshape(B, -1, self.h, self.dh).transpose(1, 2)
        att = torch.matmul(q, k) * (1.0 / math.sqrt(self.dh))
        if bias is not None:
            att = att + bias
        att = att.softmax(-1)
        out = torch.matmul(att, v).transpose(1, 2).reshape(B, Lq, D)
        return self.o(out)


class FFN(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.l1 = nn.Linear(dim, hidden)
        self.l2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.l2(F.relu(self.l1(x)))


class EncoderLayer(nn.Module):
    def __init__(self, dim, heads, ffn):
        super().__init__()
        self.attn = Attention(dim, heads)
        self.ffn = FFN(dim, ffn)
        self.n1 = nn.LayerNorm(dim)
        self.n2 = nn.LayerNorm(dim)

    def forward(self, x, pos):
        qk = x + pos
        x = self.n1(x + self.attn(qk, qk, x))
        return self.n2(x + self.ffn(x))


class DecoderLayer(nn.Module):
    def __init__(self, dim, heads, ffn):
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.cross_attn = Attention(dim, heads)
        self.ffn = FFN(dim, ffn)
        self.n1 = nn.LayerNorm(dim)
        self.n2 = nn.LayerNorm(dim)
        self.n3 = nn.LayerNorm(dim)

    def forward(self, t, qpos, mem, mem_pos_k, self_bias):
        qk = t + qpos
        t = self.n1(t + self.self_attn(qk, qk, t, self_bias))
        t = self.n2(t + self.cross_attn(t + qpos, mem_pos_k, mem))
        return self.n3(t + self.ffn(t))


class MLP(nn.Module):
    def __init__(self, dim, hidden, out):
        super().__init__()
        self.l1 = nn.Linear(dim, hidden)
        self.l2 = nn.Linear(hidden, out)

    def forward(self, x):
        return self.l2(F.relu(self.l1(x)))


class PointDETR(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.dim
        self.backbone = Backbone(cfg.widths, cfg.stride)
        self.proj = nn.Conv2d(self.backbone.out_channels, d, 1)
        self.encoder = nn.ModuleList(EncoderLayer(d, cfg.heads, cfg.ffn) for _ in range(cfg.enc_layers))
        self.decoder = nn.ModuleList(DecoderLayer(d, cfg.heads, cfg.ffn) for _ in range(cfg.dec_layers))
        self.class_embed = nn.Embedding(cfg.num_classes, d)
        self.point_proj = nn.Linear(d, d) if cfg.point_feat else None
        self.box_head = MLP(d, d, 4)
        self.iou_head = MLP(d + 4, d // 2, 1)
        if cfg.head == "residual":
            C = cfg.num_classes
            prior = cfg.box_prior or [[0.1, 0.1, 0.0, 0.0]] * C
            if len(prior) != C or any(len(p) != 4 for p in prior):
                raise ValueError(f"box_prior must have {C} rows of [w, h, dx, dy]")
            self.register_buffer("prior", torch.tensor(prior, dtype=torch.float32))
            self.register_buffer("learned", torch.tensor(cfg.prior_learned or [1.0] * C, dtype=torch.float32))
            self.register_buffer("prior_score", torch.tensor(cfg.prior_score or [0.5] * C, dtype=torch.float32))
            # zero residual at the start: the untrained model is exactly the prior-box baseline
            nn.init.zeros_(self.box_head.l2.weight)
            nn.init.zeros_(self.box_head.l2.bias)
        elif cfg.head == "ltrb":
            # start with boxes of about 0.1 x 0.1 of the input around the point (sigmoid(-3) ~ 0.047 per side)
            nn.init.zeros_(self.box_head.l2.weight)
            nn.init.constant_(self.box_head.l2.bias, -3.0)
        else:
            raise ValueError(f"unknown head {cfg.head!r} (ltrb or residual)")

    def _decode(self, t: torch.Tensor, px: torch.Tensor, py: torch.Tensor, labels: torch.Tensor):
        """Head output [B,N,4] -> (box x1y1x2y2 [B,N,4], ltrb distances from the point [B,N,4])."""
        if self.cfg.head == "ltrb":
            ltrb = torch.sigmoid(t)
            return torch.cat([px - ltrb[..., 0:1], py - ltrb[..., 1:2], px + ltrb[..., 2:3], py + ltrb[..., 3:4]], -1), ltrb
        p = self.prior[labels]  # [B, N, 4]
        t = t * self.learned[labels][..., None]  # prior-only classes: residual exactly 0
        pw, ph = p[..., 0:1], p[..., 1:2]
        cx = px + (p[..., 2:3] + t[..., 0:1]) * pw
        cy = py + (p[..., 3:4] + t[..., 1:2]) * ph
        w = pw * torch.exp(t[..., 2:3].clamp(-4.0, 4.0))
        h = ph * torch.exp(t[..., 3:4].clamp(-4.0, 4.0))
        # the click lies on the lesion: the box always contains it (a no-op for a centred prior box)
        x1 = torch.minimum(cx - w / 2, px)
        y1 = torch.minimum(cy - h / 2, py)
        x2 = torch.maximum(cx + w / 2, px)
        y2 = torch.maximum(cy + h / 2, py)
        box = torch.cat([x1, y1, x2, y2], -1)
        return box, torch.cat([px - x1, py - y1, x2 - px, y2 - py], -1)

    def forward(self, image: torch.Tensor, points: torch.Tensor, labels: torch.Tensor,
                point_mask: torch.Tensor, all_layers: bool = False):
        """Returns boxes [B,N,4] (x1y1x2y2 in [0,1]), scores [B,N]; with all_layers also the per-layer
        unclamped boxes [L,B,N,4] and the last layer's ltrb distances, for the losses."""
        f = self.proj(self.backbone(image))  # [B, D, h, w]
        B, D, h, w = f.shape
        mem = f.flatten(2).transpose(1, 2)  # [B, hw, D]
        ys = (torch.arange(h, dtype=torch.float32, device=f.device) + 0.5) / h
        xs = (torch.arange(w, dtype=torch.float32, device=f.device) + 0.5) / w
        grid = torch.stack([xs[None, :].expand(h, w), ys[:, None].expand(h, w)], -1).reshape(1, h * w, 2)
        mem_pos = sine_embed(grid, D)  # [1, hw, D]
        for layer in self.encoder:
            mem = layer(mem, mem_pos)
        mem_pos_k = mem + mem_pos

        m = (point_mask > 0.5).to(torch.float32)  # [B, N]
        N = points.shape[1]
        qpos = sine_embed(points, D)  # [B, N, D]
        t = self.class_embed(labels)
        if self.cfg.point_feat:
            # GridSample (opset 16+): the encoded feature under each point, so a query starts from what is
            # there instead of having to find it through attention first (much faster to train from scratch)
            g = (points * 2.0 - 1.0)[:, :, None, :]  # [B, N, 1, 2] in [-1, 1], align_corners=False
            fmap = mem.transpose(1, 2).reshape(B, D, h, w)
            t = t + self.point_proj(F.grid_sample(fmap, g, mode="bilinear", padding_mode="border",
                                                  align_corners=False)[..., 0].transpose(1, 2))
        t = t * m[..., None]
        # self-attention bias: a query sees every real point of its image and itself (so a padded query's
        # softmax row is never empty); a real query never sees a padded one.
        idx = torch.arange(N, device=points.device)
        eye = (idx[:, None] == idx[None, :]).to(torch.float32)  # [N, N]
        allowed = torch.clamp(m[:, None, :] + eye[None], max=1.0)  # [B, N, N]
        self_bias = ((allowed - 1.0) * 1e4)[:, None]  # [B, 1, N, N]
        px, py = points[..., 0:1], points[..., 1:2]
        layer_boxes = []
        ltrb = None
        for layer in self.decoder:
            t = layer(t, qpos, mem, mem_pos_k, self_bias)
            if all_layers or layer is self.decoder[-1]:
                box, ltrb = self._decode(self.box_head(t), px, py, labels)
                layer_boxes.append(box)
        raw = layer_boxes[-1]
        score = torch.sigmoid(self.iou_head(torch.cat([t, ltrb], -1)))[..., 0]
        if self.cfg.head == "residual":
            g = self.learned[labels]
            score = score * g + self.prior_score[labels] * (1.0 - g)
        boxes = raw.clamp(0.0, 1.0) * m[..., None]
        scores = score * m
        if all_layers:
            return boxes, scores, torch.stack(layer_boxes, 0), score
        return boxes, scores


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_model(cfg: ModelConfig) -> PointDETR:
    return PointDETR(cfg)


def checkpoint_payload(model: nn.Module, cfg: ModelConfig, classes: List[str], extra: Dict) -> Dict:
    m = model.module if hasattr(model, "module") else model
    return {"model": m.state_dict(), "config": cfg.to_dict(), "classes": classes, **extra}


def count_flops(cfg: ModelConfig, n_points: int = 3) -> int:
    """Multiply-adds x 2 of one image with n_points points (convs, linears, attention matmuls)."""
    m = PointDETR(cfg).eval()
    total = [0]
    hooks = []
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(lambda mod, i, o: total.__setitem__(
                0, total[0] + 2 * o.numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1] // mod.groups)))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(lambda mod, i, o: total.__setitem__(0, total[0] + 2 * o.numel() * mod.in_features)))
    S = cfg.image_size
    with torch.no_grad():
        m(torch.zeros(1, 1, S, S), torch.rand(1, n_points, 2), torch.zeros(1, n_points, dtype=torch.long),
          torch.ones(1, n_points))
    for h in hooks:
        h.remove()
    L, D, N = (S // cfg.stride) ** 2, cfg.dim, n_points
    att = cfg.enc_layers * 2 * (2 * L * L * D) + cfg.dec_layers * (2 * 2 * N * L * D + 2 * 2 * N * N * D)
    return int(total[0] + att)
