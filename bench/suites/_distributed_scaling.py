"""The scaling model of ``python -m bench distributed``: the step time of data-parallel training
on N machines, predicted from a measured compute time and the cost of a ring allreduce.

Model (weak scaling: every machine keeps the same per-machine batch, so the global batch grows
with N and the compute time per step stays that of one machine):

    T(1) = T_compute
    T(N) = T_compute + T_extra + (1 - overlap) * T_grad(N) + k_small * T_small(N)        (N >= 2)
    T_grad(N)  = 2 (N-1)/N * bytes / bandwidth + buckets * 2 (N-1) * latency              (ring)
    T_small(N) = ceil(log2 N) * latency        (a few bytes: recursive doubling, log2 N exchanges)
    speed-up(N) = N * T(1) / T(N),  efficiency(N) = speed-up(N) / N

``bytes`` is the model's float32 gradients, ``buckets`` the number of gradient buckets (each one
allreduce, paying the ring's 2(N-1) message latencies), ``k_small`` the small allreduces per step
(the loss/metric sums and the stop flag: 2), ``T_extra`` the measured per-step cost of the
distributed code path besides communication (packing buckets, cutting batches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    """One network between the machines: payload bandwidth (bytes/s) and one message's latency (s)."""

    name: str
    bandwidth: float
    latency: float
    source: str  # "measured" or "assumed"


def assumed_links() -> list[Link]:
    """Ethernet at its line rate (an upper bound on TCP's payload rate) with MPI-over-TCP latencies
    typical of a switched data-centre network, and RDMA for 100 Gb/s. Assumptions, not measurements."""
    return [
        Link("10 GbE, TCP", 10e9 / 8, 50e-6, "assumed"),
        Link("25 GbE, TCP", 25e9 / 8, 30e-6, "assumed"),
        Link("100 Gb/s, RDMA (RoCE / InfiniBand)", 100e9 / 8, 5e-6, "assumed"),
    ]


def fit_link(sizes: list[dict], name: str) -> Link:
    """A Link from plain 2-process allreduce times by size (``{"bytes", "median_s"}``): at N = 2 the
    ring costs bytes / bandwidth + 2 latency, so latency = t(smallest) / 2 and bandwidth = bytes /
    (t(largest) - 2 latency)."""
    small = min(sizes, key=lambda s: s["bytes"])
    large = max(sizes, key=lambda s: s["bytes"])
    latency = small["median_s"] / 2
    return Link(name, large["bytes"] / max(large["median_s"] - 2 * latency, 1e-12), latency, "measured")


def ring_allreduce_s(nbytes: float, n: int, link: Link, buckets: int = 1) -> float:
    """Seconds for ``buckets`` ring allreduces totalling ``nbytes`` among ``n`` processes."""
    if n < 2:
        return 0.0
    return 2 * (n - 1) / n * nbytes / link.bandwidth + buckets * 2 * (n - 1) * link.latency


def per_tensor_allreduce_s(tensor_bytes: list[int], n: int, link: Link) -> float:
    """Seconds for one allreduce per tensor, each by the cheaper of the ring and recursive doubling
    (ceil(log2 N) exchanges of the whole tensor: what MPI libraries pick for small messages)."""
    if n < 2:
        return 0.0
    steps = math.ceil(math.log2(n))
    return sum(min(ring_allreduce_s(b, n, link), steps * (link.latency + b / link.bandwidth)) for b in tensor_bytes)


def small_allreduce_s(n: int, link: Link) -> float:
    return 0.0 if n < 2 else math.ceil(math.log2(n)) * link.latency


@dataclass(frozen=True)
class Workload:
    """What one model's step costs: compute (s), extra (s), gradient bytes, buckets, small allreduces."""

    t_compute: float
    nbytes: float
    buckets: int
    t_extra: float = 0.0
    small: int = 2
    overlap: float = 0.0


def step_s(w: Workload, n: int, link: Link) -> float:
    if n < 2:
        return w.t_compute
    comm = (1 - w.overlap) * ring_allreduce_s(w.nbytes, n, link, w.buckets) + w.small * small_allreduce_s(n, link)
    return w.t_compute + w.t_extra + comm


def prediction(w: Workload, ns: list[int], link: Link) -> list[tuple[int, float, float, float]]:
    """(N, step seconds, speed-up, efficiency) for each N."""
    rows = []
    for n in ns:
        t = step_s(w, n, link)
        speedup = n * w.t_compute / t
        rows.append((n, t, speedup, speedup / n))
    return rows
