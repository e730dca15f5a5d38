"""Embedding lookup (gather rows of the table by id) and its gradient (scatter-add of dy
into a zeroed table, deterministic: every row sums its ids in order), vs
torch.nn.functional.embedding (the backward through autograd, a dense gradient).

Shapes of the seed char/word models: batch 64 x sequence 100 ids into a 10,000 x 128 table,
and a small vocabulary (100 x 64) where many ids repeat. Work: the rows read and written
(forward 2 x ids x dim x 4 bytes); the backward also zeroes and writes the table.
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _single

# (label, vocabulary, dim, batch, sequence)
SHAPES = [("words V10000 D128", 10_000, 128, 64, 100), ("chars V100 D64", 100, 64, 64, 100)]


def cases(torch, quick):
    rng = np.random.default_rng(0)
    out = []
    for label, vocab, dim, n, t in SHAPES[:1] if quick else SHAPES:
        ids = rng.integers(0, vocab, (n, t)).astype(np.int32)
        table = rng.standard_normal((vocab, dim), dtype=np.float32)
        y = np.empty((n, t, dim), np.float32)
        dy = rng.standard_normal((n, t, dim), dtype=np.float32)
        dtable = np.empty_like(table)
        rows = 4.0 * ids.size * dim
        tids = ttable = tdy = None
        if torch:
            tids, tdy = torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(dy)
            ttable = torch.from_numpy(table).requires_grad_()

        def torch_forward(tids=tids, ttable=ttable):
            with torch.no_grad():
                return torch.nn.functional.embedding(tids, ttable)

        def torch_both(tids=tids, ttable=ttable, tdy=tdy):
            ttable.grad = None
            torch.nn.functional.embedding(tids, ttable).backward(tdy)

        def both(ids=ids, table=table, y=y, dy=dy, dtable=dtable, vocab=vocab):
            ops.embedding(ids, table, out=y)
            ops.embedding_backward(ids, dy, vocab, out=dtable)

        out.append(
            _single.Case(
                f"{label} ids {n}x{t}",
                "forward",
                2 * rows,
                lambda ids=ids, table=table, y=y: ops.embedding(ids, table, out=y),
                torch_forward if torch else None,
            )
        )
        out.append(
            _single.Case(
                f"{label} ids {n}x{t}",
                "forward+backward",
                4 * rows + 8.0 * table.size,
                both,
                torch_both if torch else None,
            )
        )
    return out


def run(args) -> int:
    return _single.run("embedding", "Embedding lookup and gradient", args, cases)
