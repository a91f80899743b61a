"""Timeline pictures: writes and reads per 100 ms, coloured by the server that took them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.load import Op

BUCKET = 0.1  # seconds
MARK_STYLES = (("red", "-"), ("darkorange", "--"), ("green", ":"))


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def buckets(ops: Sequence[Op], origin: float, lo: float, hi: float) -> dict[int, list[int]]:
    """Per server port, the count of operations in each BUCKET from ``lo`` to ``hi`` (seconds after ``origin``)."""
    size = int((hi - lo) / BUCKET) + 1
    counts: dict[int, Counter[int]] = {}
    for op in ops:
        index = int((op.t - origin - lo) / BUCKET)
        if 0 <= index < size:
            counts.setdefault(op.server, Counter())[index] += 1
    return {port: [c[i] for i in range(size)] for port, c in sorted(counts.items())}


def timeline(
    path: Path,
    title: str,
    writes: Sequence[Op],
    reads: Sequence[Op],
    marks: dict[str, float | None],
    names: dict[int, str],
    origin: float,
) -> None:
    """Two panels (writes, reads) of stacked bars per 100 ms; vertical lines at ``marks`` (wall times)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [t - origin for t in marks.values() if t is not None]
    first = min((op.t - origin for op in (*writes, *reads)), default=-2.0)
    lo, hi = max(first, min(times) - 2.0), max(times) + 2.0
    colours = {port: f"C{i}" for i, port in enumerate(sorted(names))}
    fig, axes = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True)
    for axis, ops, what in ((axes[0], writes, "writes"), (axes[1], reads, "reads")):
        bottom = [0] * (int((hi - lo) / BUCKET) + 1)
        x = [lo + i * BUCKET for i in range(len(bottom))]
        for port, counts in buckets(ops, origin, lo, hi).items():
            label = names.get(port, str(port))
            axis.bar(x, counts, width=BUCKET, bottom=bottom, align="edge", color=colours.get(port), label=label)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        axis.set_ylabel(f"{what} / 100 ms")
        for (name, t), (colour, style) in zip(marks.items(), MARK_STYLES, strict=False):
            if t is not None:
                axis.axvline(t - origin, color=colour, linestyle=style, label=name if axis is axes[0] else None)
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small")
    axes[1].set_xlabel("seconds after the fault")
    axes[1].set_xlim(lo, hi)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
