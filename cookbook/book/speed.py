"""Where the time of training goes, and what each speed lever buys (Cookbook, section 3.8).

Most of the measurements need more than a notebook: torchrun and several processes, lightly's
pipeline, a GPU. Scripts in ``benchmarks/`` make them and write one JSON record each into this
package's ``results/benchmarks/`` (:func:`write_record`); the speed chapter loads them
(:func:`load`) and draws them. A record holds the command that made it, the machine, the date
and torch's version next to its rows, so every number in the chapter says where it comes from.

One measurement is cheap enough to make live: :func:`step_profile` splits a quick training step
into the making of the views, the forward pass, the backward pass and the optimizer step.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from cookbook import registry
from cookbook.augment import views
from cookbook.book.chapter import markdown
from cookbook.book.plots import legend_below, new_figure, readable_log_axis
from cookbook.run import prepare
from cookbook.train import Trainer

RESULTS = Path(__file__).resolve().parents[1] / "results" / "benchmarks"  # cookbook/results/benchmarks
# The records the chapter reads, and the script that writes each.
BENCHMARKS = {"augment-throughput": "benchmarks/augment_throughput.py",
              "step-levers": "benchmarks/step_levers.py",
              "ddp-scaling": "benchmarks/ddp_scaling.py",
              "gpu-throughput": "benchmarks/gpu_throughput.py"}
PHASES = ("views", "forward", "backward", "optimizer")


def _check_name(name: str) -> None:
    if name not in BENCHMARKS:
        raise ValueError(f"no benchmark {name!r}: the speed chapter reads {', '.join(BENCHMARKS)}")


def write_record(name: str, record: dict[str, Any], out: str | Path) -> Path:
    """Write ``record`` as benchmark ``name``'s JSON to ``out`` (the chapter reads the package's copy,
    ``cookbook/results/benchmarks/NAME.json``), atomically, with the machine, the date and torch's
    version added. Returns the path."""
    import platform

    _check_name(name)
    path = Path(out)
    record = {"benchmark": name, "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores", **record}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
    return path


def load(name: str) -> dict[str, Any] | None:
    """Benchmark ``name``'s committed record, or None where it has not been measured (the GPU one,
    on a project that no GPU has run yet)."""
    _check_name(name)
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def provenance(record: dict[str, Any]) -> str:
    """One line: what made ``record``, where and when."""
    where = record.get("device") or record["machine"]
    return f"`{record['command']}` on {where}, {record['date']}, torch {record['torch']}"


# ----------------------------------------------------------------------------- a step, live

def step_profile(recipe_name: str = "simclr", steps: int = 20, warmup: int = 5, *, fused: bool = False,
                 bf16: bool = False, **settings) -> dict[str, float]:
    """Milliseconds per step spent making two views, in the forward pass (backbone, projector and
    NT-Xent), the backward pass and the optimizer step of a quick SimCLR step, averaged over
    ``steps`` steps after ``warmup`` (the first steps pay for oneDNN's choice of kernels).
    ``settings`` override the quick config (``channels_last``, ``image_size``...); ``fused`` uses
    AdamW's fused kernel, ``bf16`` CPU autocast to bfloat16."""
    if steps < 1 or warmup < 0:
        raise ValueError(f"steps={steps}, warmup={warmup}: time at least one step, after 0 or more warm-up steps")
    recipe = registry.get(recipe_name)
    if not hasattr(recipe, "nt_xent_loss"):
        raise ValueError(f"recipe {recipe_name!r}: the step profile times SimCLR's loss; use simclr")
    config = recipe.Config.for_budget("quick", **settings, eval_every=0, progress=False, out=None)
    data, model = prepare(recipe, config)
    trainer = Trainer(model, data, config)
    if fused:
        trainer.optimizer = torch.optim.AdamW(trainer.optimizer.param_groups, lr=config.lr, fused=True)
    spent = dict.fromkeys(PHASES, 0.0)
    for step in range(steps + warmup):
        images = data.pretrain_x[trainer.batch_indices(step)]
        t0 = time.perf_counter()
        both = torch.cat(views(images, 2, config.augment))
        t1 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            z1, z2 = model.projector(model.backbone(both)).float().chunk(2)
        loss = recipe.nt_xent_loss(z1, z2, config.temperature)
        t2 = time.perf_counter()
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t3 = time.perf_counter()
        trainer.optimizer.step()
        t4 = time.perf_counter()
        if step >= warmup:
            for name, a, b in zip(PHASES, (t0, t1, t2, t3), (t1, t2, t3, t4)):
                spent[name] += (b - a) * 1000 / steps
    return spent


# ----------------------------------------------------------------------------- tables and figures
# Each record's table is one Markdown text, printed by its script and displayed by the chapter.

def command_line(script: str, argv: list[str] | None) -> str:
    """The command that ran ``benchmarks/SCRIPT`` with ``argv`` (default: this process's arguments)."""
    import sys

    return f"python benchmarks/{script}" + "".join(f" {a}" for a in (sys.argv[1:] if argv is None else argv))


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _show(text: str) -> None:
    markdown(text)


def augment_markdown(record: dict[str, Any]) -> str:
    """Views per second of each pipeline, and its ratio to the per-image pipelines at equal workers."""
    equal = {k: r["views_per_s"] for r in record["rows"] for k in ("torchvision", "lightly")
             if r["library"] == k and r["workers"] == record["workers"]}
    baselines = ("torchvision", "lightly")
    header = ["pipeline", "views / s"] + [f"x {k}, {record['workers']} workers" for k in baselines]
    return _markdown_table(header, [[r["pipeline"], f"{r['views_per_s']:,.0f}"] +
                                    [f"{r['views_per_s'] / equal[k]:.1f}x" if k in equal else "n/a" for k in baselines]
                                    for r in record["rows"]])


def augment_table(record: dict[str, Any]) -> None:
    _show(augment_markdown(record))


def augment_figure(record: dict[str, Any]):
    """Horizontal bars of views per second, on a log axis (the batched pipeline is an order faster),
    its ticks plain numbers at 1, 2 and 5 times each power of ten."""
    rows = record["rows"]
    fig = new_figure(7.5, 0.45 * len(rows) + 1.0)
    ax = fig.subplots()
    colours = ["tab:green" if r["library"] == "cookbook" else "tab:grey" for r in rows]
    ax.barh([r["pipeline"] for r in rows], [r["views_per_s"] for r in rows], color=colours)
    readable_log_axis(ax)
    ax.invert_yaxis()
    ax.set_xlabel("augmented views per second (log scale)")
    ax.set_title(f"Two SimCLR views of 32 px images, {record['machine']}", fontsize=10)
    return fig


def step_markdown(record: dict[str, Any]) -> str:
    """Milliseconds per step in each phase, for each variant of the quick step."""
    return _markdown_table(["variant", *PHASES, "total"],
                           [[r["variant"], *(f"{r[p]:.1f}" for p in PHASES), f"{sum(r[p] for p in PHASES):.1f}"]
                            for r in record["rows"]])


def step_table(record: dict[str, Any]) -> None:
    _show(step_markdown(record))


def step_figure(rows: list[dict[str, Any]], title: str = "Where a quick SimCLR step goes"):
    """Stacked horizontal bars: each variant's milliseconds per phase, the phases named under the bars."""
    fig = new_figure(7.5, 0.45 * len(rows) + 1.4)
    ax = fig.subplots()
    left = [0.0] * len(rows)
    for phase in PHASES:
        widths = [r[phase] for r in rows]
        ax.barh([r["variant"] for r in rows], widths, left=left, label=phase)
        left = [a + b for a, b in zip(left, widths)]
    ax.invert_yaxis()
    ax.set_xlabel("milliseconds per step")
    legend_below(fig, [ax], ncols=len(PHASES))
    ax.set_title(title, fontsize=10)
    return fig


def scaling_markdown(record: dict[str, Any]) -> str:
    """Each launch's processes and threads, its wall time and throughput, and its accuracies by seed."""
    return _markdown_table(
        ["launch", "seeds", "wall s (mean)", "images / s", "kNN % by seed", "linear % by seed"],
        [[r["launch"], ", ".join(str(s) for s in r["seeds"]), f"{_mean(r['wall_s']):.1f}",
          f"{_mean(r['images_per_s']):,.0f}", ", ".join(f"{100 * a:.1f}" for a in r["knn_acc"]),
          ", ".join(f"{100 * a:.1f}" for a in r["linear_acc"])] for r in record["rows"]])


def scaling_table(record: dict[str, Any]) -> None:
    _show(scaling_markdown(record))


def gpu_markdown(record: dict[str, Any]) -> str:
    """The GPU throughput table of ``benchmarks/gpu_throughput.py``'s record."""
    peak = record.get("peak_bf16_tflops")
    return _markdown_table(
        ["variant", "ms / step", "images / s", "s / 50k-image epoch", "TFLOP/s", "of bf16 peak", "peak memory"],
        [[name, f"{r['ms_per_step']:.1f}", f"{r['images_per_s']:,.0f}", f"{r['epoch_s']:.2f}", f"{r['tflops']:.1f}",
          f"{r['tflops'] / peak:.1%}" if peak else "unknown peak",
          f"{r['peak_memory_gib']:.1f} GiB" if r.get("peak_memory_gib") is not None else "n/a (CPU)"]
         for name, r in record["variants"].items()])


def gpu_table(record: dict[str, Any] | None) -> None:
    """The GPU throughput table, or the statement that it has not been measured."""
    _show(gpu_markdown(record) if record is not None else
          "**Not measured yet.** No GPU has run `benchmarks/gpu_throughput.py` for this book. Run it on one, with "
          "`--out cookbook/results/benchmarks/gpu-throughput.json`, and this table fills in.")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
