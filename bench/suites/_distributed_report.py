"""The tables of ``python -m bench distributed`` (bench/suites/distributed.py measures): rows for
the JSON file and the Markdown of bench/results/distributed.md, the scaling model's included."""

from __future__ import annotations

from .. import harness
from . import _distributed_scaling as scaling

NS = (1, 2, 4, 8, 16, 32)
LABELS = {
    "keras_mnist_cnn": "Keras MNIST convnet",
    "resnet20": "ResNet-20",
    "deep_mlp": "MLP of 100 Dense(32) layers (many small tensors)",
}
CONVNET_TARGET = 0.10  # communication share of the convnet's step at 2 processes (issue 15)
BUCKET_TARGET = 1.5  # per-tensor time / bucketed time, for a model with many small tensors


def _ms(s: float) -> str:
    return f"{s * 1e3:.2f}"


def _us(s: float) -> str:
    return f"{s * 1e6:.0f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ddp(t: dict, cap: float) -> dict:
    return t[f"ddp:{cap:g}"]


def rows(training: dict, allreduce: dict) -> list[harness.Row]:
    out = []
    for model, t in training.items():
        row = harness.Row(f"{model} train step global batch {t['_batch']}", float(t["_batch"]))
        for spec, v in t.items():
            if not spec.startswith("_"):
                row.timings[spec] = harness.Timing(v["median_s"], v["min_s"], v["max_s"], v["repeats"])
                row.extra[spec] = {"parts_s": v["parts_s"], "buckets": v["buckets"]}
        out.append(row)
    for model, m in allreduce["models"].items():
        row = harness.Row(f"{model} gradient allreduce ({m['tensors']} tensors)", float(m["bytes"]))
        for op, v in m["ops"].items():
            row.timings[op] = harness.Timing(v["median_s"], v["min_s"], v["min_s"], 0)
            row.extra[op] = {k: v[k] for k in ("kind", "calls")}
        out.append(row)
    for s in allreduce["sizes"]:
        row = harness.Row(f"plain Allreduce {s['bytes']} bytes", float(s["bytes"]))
        row.timings["plain"] = harness.Timing(s["median_s"], s["min_s"], s["min_s"], s["repeats"])
        out.append(row)
    return out


def markdown(env: dict, args, training: dict, allreduce: dict, cap: float) -> str:
    cpu, load = env["sinapse"]["cpu"], env["load_average"]
    head = (
        f"# Data-parallel training over MPI — {cpu}\n\n"
        f"sinapse {env['sinapse']['version']}, {env['mpi'].get('version', 'MPI')}; {env['date']}. "
        f"`python -m bench distributed{' --quick' if args.quick else ''}` (bench/suites/distributed.py). "
        f"{env['mpi']['processes']} processes x 1 thread (`{env['mpi']['command']}`, OMP_NUM_THREADS=1, "
        f"`compile(distribute=DataParallel(...))`) vs 1 process x {args.threads} threads (no distribute), "
        "synthetic data, medians of `fit` steps timed side by side in alternating blocks.\n\n"
        f"**This machine was shared with other jobs during the run** (1-minute load average {load['start']:.2f} at the start, {load['end']:.2f} at the end, "
        "on 2 vCPUs), so every figure here is noisy, communication ones most (a rank that loses its core "
        "for a time slice stalls its peer; so does the 1-process x 2-threads step, whose two threads "
        "wait for each other at every parallel region): the lead re-measures on a quiet machine.\n"
    )
    parts = [head, _summary_section(training, allreduce, args.threads, cap)]
    parts += [_training_section(training, args.threads, cap), _breakdown_section(training, cap)]
    if "ddp:0.25" in training.get("resnet20", {}):
        parts.append(_sweep_section(training["resnet20"], cap))
    parts += [_allreduce_section(allreduce, cap), _sizes_section(allreduce)]
    parts.append(_scaling_section(training, allreduce, args.threads, cap))
    return "\n".join(parts)


def _summary_section(training: dict, allreduce: dict, threads: int, cap: float) -> str:
    lines = ["## Summary\n"]
    for model, t in training.items():
        single, ddp, nocomm = t["single"], _ddp(t, cap), t[f"nocomm:{cap:g}"]
        share = (ddp["median_s"] - nocomm["median_s"]) / ddp["median_s"]
        share_min = (ddp["min_s"] - nocomm["min_s"]) / ddp["min_s"]
        lines.append(
            f"- {LABELS[model]}, global batch {t['_batch']}: {_ms(ddp['median_s'])} ms per step at 2 processes x 1 "
            f"thread vs {_ms(single['median_s'])} ms at 1 process x {threads} threads "
            f"({single['median_s'] / ddp['median_s']:.2f}x); communication {_pct(share)} of the 2-process step "
            f"({_pct(share_min)} from the fastest steps)"
            + (
                f", target <= {CONVNET_TARGET:.0%}: {'met' if share <= CONVNET_TARGET else 'missed'}."
                if model == "keras_mnist_cnn"
                else "."
            )
        )
    for name, m in allreduce["models"].items():
        ops = m["ops"]
        b, pt = ops[f"bucketed {cap:g}"]["median_s"], ops["per tensor"]["median_s"]
        lines.append(
            f"- {LABELS[name]}: gradient allreduce ({m['bytes'] / 1e6:.2f} MB in {m['tensors']} tensors), 2 processes: bucketed (cap {cap:g} MB) "
            f"{_us(b)} us, one blocking allreduce per tensor {_us(pt)} us ({pt / b:.2f}x, target >= "
            f"{BUCKET_TARGET}x: {'met' if pt / b >= BUCKET_TARGET else 'missed'}), one plain allreduce of all bytes {_us(ops['plain']['median_s'])} us; the "
            f"buckets' preparation alone {_us(ops['prepare only']['median_s'])} us, the bucketed "
            f"path waited with MPI Wait instead of sinapse's `_comm.wait` {_us(ops['bucketed, MPI Wait']['median_s'])} us."
        )
    if "ddp:0.25" in training.get("resnet20", {}):
        lines.append(f"- Bucket cap, ResNet-20 training step: fastest median at {best_cap(training['resnet20']):g} MB.")
    link = scaling.fit_link(allreduce["sizes"], "loopback")
    lines.append(
        f"- Loopback (shared memory) allreduce: latency {link.latency * 1e6:.2f} us, bandwidth "
        f"{link.bandwidth / 1e9:.2f} GB/s."
    )
    for model, t in training.items():
        w = workload(t, allreduce["models"][model], cap)
        effs = ", ".join(f"{k.name} {_pct(scaling.prediction(w, [NS[-1]], k)[0][3])}" for k in scaling.assumed_links())
        lines.append(f"- Scaling model, {LABELS[model]} at N = {NS[-1]} machines: efficiency {effs}.")
    return "\n".join(lines) + "\n"


def _training_section(training: dict, threads: int, cap: float) -> str:
    table = []
    for model, t in training.items():
        single, ddp, nocomm, local = t["single"], _ddp(t, cap), t[f"nocomm:{cap:g}"], t["local"]
        share = (ddp["median_s"] - nocomm["median_s"]) / ddp["median_s"]
        share_min = (ddp["min_s"] - nocomm["min_s"]) / ddp["min_s"]
        target = "-"
        if model == "keras_mnist_cnn":
            target = f"<= {CONVNET_TARGET:.0%}: " + ("met" if share <= CONVNET_TARGET else "missed")
        table.append(
            [
                f"{LABELS[model]} (batch {t['_batch']})",
                f"{_ms(single['median_s'])} ({_ms(single['min_s'])})",
                f"{_ms(ddp['median_s'])} ({_ms(ddp['min_s'])})",
                f"{single['median_s'] / ddp['median_s']:.2f}x ({single['min_s'] / ddp['min_s']:.2f}x)",
                _ms(nocomm["median_s"]),
                _ms(local["median_s"]),
                _pct(share),
                _pct(share_min),
                _pct((ddp["median_s"] - local["median_s"]) / ddp["median_s"]),
                target,
            ]
        )
    return (
        f"## Training step: 2 processes x 1 thread vs 1 process x {threads} threads\n\n"
        f"ms per step, median (and fastest step) (global batch; each of the 2 processes computes half of it). Bucket cap {cap:g} MB "
        "(the default). *no comm*: the same 2-process job with the gradient allreduce and the "
        "loss/metric/stop-flag allreduces stubbed out inside the worker (the buckets are still prepared); "
        "*one replica alone*: a model without `distribute` on half the batch, on each process. "
        "Communication share = (2 procs - no comm) / 2 procs, from the medians and from the fastest "
        "step of each (the least disturbed by other jobs); distributed overhead = (2 procs - one "
        "replica alone) / 2 procs (adds the distributed code path's own work: preparing buckets, cutting batches).\n\n"
        + harness.markdown_table(
            [
                "model",
                f"1 x {threads} thr ms (fastest)",
                "2 x 1 thr ms (fastest)",
                "speed-up (fastest)",
                "2 procs, no comm ms",
                "one replica alone ms",
                "communication share",
                "same, from the fastest steps",
                "distributed overhead",
                "target",
            ],
            table,
        )
        + "\n"
    )


def _breakdown_section(training: dict, cap: float) -> str:
    table = []
    for model, t in training.items():
        ddp, nograd, nocomm, local = _ddp(t, cap), t[f"nograd:{cap:g}"], t[f"nocomm:{cap:g}"], t["local"]
        p = ddp["parts_s"]
        table.append(
            [
                LABELS[model],
                _ms(ddp["median_s"]),
                _ms(ddp["median_s"] - nograd["median_s"]),
                _ms(nograd["median_s"] - nocomm["median_s"]),
                _ms(nocomm["median_s"] - local["median_s"]),
                _ms(p.get("in_backward", 0.0)),
                _ms(p.get("finish", 0.0)),
                _ms(p.get("logs", 0.0)),
            ]
        )
    return (
        "## Where the 2-process step's time goes\n\n"
        "ms per step. The first three columns are differences of medians (noisy, can be negative; the "
        "wait for the slower rank lands in whichever collective comes first, so without the gradient "
        "allreduce it moves to the small ones); the "
        "last three are timers wrapped, inside the worker, around `GradientReducer.step_done` (preparing "
        "and starting buckets during the backward, testing open requests), `GradientReducer.finish` "
        "(starting what is left, waiting for the buckets and for the slower rank) and `Replicas.sums` (the per-step "
        "loss/metric allreduce and the stop-flag allreduce), medians over steps, mean of the 2 ranks.\n\n"
        + harness.markdown_table(
            [
                "model",
                "step",
                "gradient allreduce (- no grad)",
                "small allreduces (no grad - no comm)",
                "distributed path without comm (no comm - alone)",
                "timer: in backward",
                "timer: finish",
                "timer: 2 small allreduces",
            ],
            table,
        )
        + "\n"
    )


def best_cap(t: dict) -> float:
    caps = [float(k.split(":")[1]) for k in t if k.startswith("ddp:")]
    return min(caps, key=lambda c: _ddp(t, c)["median_s"])


def _sweep_section(t: dict, cap: float) -> str:
    base = _ddp(t, cap)["median_s"]
    caps = sorted(float(k.split(":")[1]) for k in t if k.startswith("ddp:"))
    table = [
        [
            f"{c:g}" + (" (default)" if c == cap else ""),
            str(_ddp(t, c)["buckets"]),
            _ms(_ddp(t, c)["median_s"]),
            _ms(_ddp(t, c)["min_s"]),
            _ms(_ddp(t, c)["parts_s"].get("finish", 0.0)),
            f"{_ddp(t, c)['median_s'] / base:.3f}",
        ]
        for c in caps
    ]
    best = best_cap(t)
    spread = (max(_ddp(t, c)["median_s"] for c in caps) - min(_ddp(t, c)["median_s"] for c in caps)) / base
    return (
        f"## Bucket size: ResNet-20 training step, 2 processes (global batch {t['_batch']})\n\n"
        f"`DataParallel(bucket_cap_mb=...)`; ResNet-20's gradients are 1.09 MB in 82 tensors. Fastest "
        f"median here: {best:g} MB; the medians span {_pct(spread)} of the default's, "
        "compare with the noise (min column).\n\n"
        + harness.markdown_table(
            ["bucket_cap_mb", "buckets", "step ms (median)", "min ms", "finish ms", "/ default"], table
        )
        + "\n"
    )


_OP_NAMES = {
    "bucketed": "bucketed, cap {cap_mb:g} MB (sinapse's path)",
    "bucketed, MPI Wait": "bucketed, cap {cap_mb:g} MB, waited with MPI Wait",
    "prepare only": "bucket preparation only, cap {cap_mb:g} MB (no allreduce)",
    "Iallreduce polled": "one Iallreduce of all bytes, `_comm.wait`",
    "Iallreduce Wait": "one Iallreduce of all bytes, MPI Wait",
    "plain": "one plain `Allreduce` of all bytes",
    "per tensor": "one blocking `Allreduce` per tensor",
    "per tensor nb": "one `Iallreduce` per tensor, then `Waitall`",
}


def _allreduce_section(allreduce: dict, cap: float) -> str:
    out = [
        f"## Gradient allreduce at {allreduce['size']} processes\n",
        "One allreduce of a model's gradients (float32, its tensors' shapes), outside training: every "
        "bucket starts at once (no backward to overlap). Each sample starts after a barrier and takes "
        "the slower rank's time. GB/s = gradient bytes / median time (at 2 processes the ring's bus "
        "bandwidth equals it). *bucketed* is `GradientReducer` + `MpiTransport` (`begin`, `finish`: "
        "each bucket prepared (the gradients are views of it after the first call, as in training; "
        "one multiply scales it), `Iallreduce`, sinapse's `_comm.wait`).\n",
    ]
    for model, m in allreduce["models"].items():
        ops = m["ops"]
        per_tensor = ops["per tensor"]["median_s"]
        table = [
            [
                _OP_NAMES[v["kind"]].format(**v),
                str(v["calls"]),
                _us(v["median_s"]),
                _us(v["min_s"]),
                f"{m['bytes'] / v['median_s'] / 1e9:.2f}",
                f"{per_tensor / v['median_s']:.2f}x",
            ]
            for v in ops.values()
        ]
        ratio = per_tensor / ops[f"bucketed {cap:g}"]["median_s"]
        verdict = "met" if ratio >= BUCKET_TARGET else "missed"
        out.append(
            f"### {LABELS[model]}: {m['bytes'] / 1e6:.3f} MB in {m['tensors']} tensors\n\n"
            + harness.markdown_table(
                ["way", "MPI calls", "median us", "min us", "GB/s", "speed vs per-tensor blocking"], table
            )
            + f"\n\nBucketed (cap {cap:g} MB) vs one blocking allreduce per tensor: {ratio:.2f}x"
            + (f" (target >= {BUCKET_TARGET}x: {verdict})" if m["tensors"] >= 50 else "")
            + ".\n"
        )
    return "\n".join(out)


def _sizes_section(allreduce: dict) -> str:
    link = scaling.fit_link(allreduce["sizes"], "loopback")
    table = [
        [
            f"{s['bytes']:,}",
            f"{s['median_s'] * 1e6:.1f}",
            f"{s['min_s'] * 1e6:.1f}",
            f"{s['bytes'] / s['median_s'] / 1e9:.2f}",
        ]
        for s in allreduce["sizes"]
    ]
    return (
        f"## Plain `MPI.Allreduce` by size, {allreduce['size']} processes on this machine\n\n"
        + harness.markdown_table(["bytes", "median us", "min us", "GB/s"], table)
        + f"\n\nFitted (scaling model's loopback link): latency = t(smallest) / 2 = {link.latency * 1e6:.2f} us, "
        f"bandwidth = bytes / (t(largest) - 2 latency) = {link.bandwidth / 1e9:.2f} GB/s.\n"
    )


def workload(t: dict, m: dict, cap: float) -> scaling.Workload:
    """A model's measured inputs to the scaling model (compute: 1 process x all threads, per-machine batch)."""
    extra = max(0.0, t[f"nocomm:{cap:g}"]["median_s"] - t["local"]["median_s"])
    return scaling.Workload(t["single"]["median_s"], m["bytes"], _ddp(t, cap)["buckets"] or 1, extra)


def _fusion_table(allreduce: dict, links: list, training: dict, cap: float) -> str:
    """The gradient allreduce alone, predicted: one per tensor vs the buckets (what fusion buys where a
    message's latency is not the loopback's ~1 us)."""
    if "resnet20" not in allreduce["models"]:
        return ""
    m = allreduce["models"]["resnet20"]
    buckets = _ddp(training["resnet20"], cap)["buckets"] or 1
    table = []
    for k in links:
        row = [k.name]
        for n in (2, 8, 32):
            per = scaling.per_tensor_allreduce_s(m["tensor_bytes"], n, k)
            fused = scaling.ring_allreduce_s(m["bytes"], n, k, buckets)
            row.append(f"{per * 1e3:.2f} / {fused * 1e3:.2f} / {per / fused:.1f}x")
        table.append(row)
    return (
        f"### Bucketing, predicted: ResNet-20's gradient allreduce ({m['tensors']} tensors) per tensor vs in "
        f"{buckets} bucket(s)\n\n"
        "Each tensor by the cheaper of the ring and recursive doubling (ceil(log2 N) x (latency + bytes / "
        "bandwidth)); the buckets by the ring. The preparation measured above is left out. ms per tensor / ms "
        "bucketed / ratio:\n\n" + harness.markdown_table(["link", "N = 2", "N = 8", "N = 32"], table) + "\n"
    )


def _scaling_section(training: dict, allreduce: dict, threads: int, cap: float) -> str:
    loop = scaling.fit_link(allreduce["sizes"], "this machine's loopback (shared memory)")
    links = [loop, *scaling.assumed_links()]
    link_table = [[k.name, f"{k.bandwidth / 1e9:.3g}", f"{k.latency * 1e6:.3g}", k.source] for k in links]
    out = [
        "## Scaling to N machines: a model\n",
        "Weak scaling: each machine runs one process on all its cores with a fixed per-machine batch (the "
        "global batch grows with N), so its compute time per step stays the measured one-machine step. "
        "Then, with a ring allreduce of the gradients:\n",
        "```\nT(1) = T_compute\n"
        "T(N) = T_compute + T_extra + (1 - overlap) * T_grad(N) + 2 * T_small(N)            (N >= 2)\n"
        "T_grad(N)  = 2 (N-1)/N * bytes / bandwidth + buckets * 2 (N-1) * latency\n"
        "T_small(N) = ceil(log2 N) * latency      (the loss/metric sums and the stop flag: a few bytes)\n"
        "speed-up(N) = N * T(1) / T(N)        efficiency(N) = speed-up(N) / N\n```\n",
        "Assumptions: T_compute = the measured 1 process x "
        f"{threads} threads step on this machine (AMD EPYC Zen 4, 2 vCPUs) at the batch shown (per "
        "machine); bytes = the model's float32 gradients; buckets = the number at the default cap "
        f"({cap:g} MB); T_extra = the measured cost of the distributed path without communication "
        "(2 procs no comm - one replica alone, 0 when negative); overlap = 0 (no credit for "
        "communication hidden behind the backward: the conservative choice; each model's section below "
        "compares the measured wait in `finish` with the same allreduce timed alone); one process per machine, a ring over full-duplex "
        "links of the bandwidth below, no contention, every machine equally fast (a straggler "
        "sets the pace). Links (only the loopback one is measured, the others are assumed line rates "
        "and typical MPI latencies):\n",
        harness.markdown_table(["link", "bandwidth GB/s", "latency us", "source"], link_table) + "\n",
    ]
    out.append(_fusion_table(allreduce, links, training, cap))
    for model, t in training.items():
        m = allreduce["models"][model]
        w = workload(t, m, cap)
        preds = {k.name: scaling.prediction(w, list(NS), k) for k in links}
        measured = _ddp(t, cap)["median_s"] - t[f"nocomm:{cap:g}"]["median_s"]
        predicted = scaling.step_s(w, 2, loop) - w.t_compute - w.t_extra
        table = [
            [str(n)]
            + [
                f"{preds[k.name][i][1] * 1e3:.1f} / {preds[k.name][i][2]:.2f}x / {_pct(preds[k.name][i][3])}"
                for k in links
            ]
            for i, n in enumerate(NS)
        ]
        out.append(
            f"### {LABELS[model]}: T_compute {_ms(w.t_compute)} ms (batch {t['_batch']} per machine), "
            f"{m['bytes'] / 1e6:.3f} MB of gradients in {w.buckets} bucket(s), T_extra {_ms(w.t_extra)} ms\n\n"
            f"Check at N = 2 on the loopback: the model's communication {_ms(predicted)} ms per step; measured "
            f"(2 procs - no comm) {_ms(measured)} ms. Overlap: in training, `finish` (the wait for the "
            f"buckets and for the slower rank) took {_ms(_ddp(t, cap)['parts_s'].get('finish', 0.0))} "
            f"ms per step; the same bucketed allreduce alone takes {_ms(m['ops'][f'bucketed {cap:g}']['median_s'])} ms.\n\n"
            "Step ms / speed-up / efficiency:\n\n"
            + harness.markdown_table(["N", *(k.name for k in links)], table)
            + "\n"
        )
    return "\n".join(out)
