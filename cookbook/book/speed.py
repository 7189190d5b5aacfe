"""Where the time of training goes, and what each speed lever buys (Cookbook, section 3.8).

Most of the measurements need more than a notebook: torchrun and several processes, lightly's
pipeline, a GPU. Scripts in ``benchmarks/`` make them and write one JSON record each into this
package's ``results/benchmarks/`` (:func:`write_record`); the speed chapter loads them
(:func:`load`) and draws them. A record holds the command that made it, the machine, the date
and torch's version next to its rows, so every number in the chapter says where it comes from.

One measurement is cheap enough to make live: :func:`step_profile` splits a quick training step
into the making of the views, the forward pass, the backward pass and the optimizer step.

Timings have no seeds, so the chapter's sentences about them follow the rule the book uses for seeds with
what stands in for them: ``benchmarks/step_levers.py`` repeats every variant, the variants taking turns step
by step within a repeat (:func:`measure_interleaved`), and :func:`lever_verdict` calls a lever different
from the default only when its step is shorter (or longer) than the default's in every repeat; the scaling
benchmark trains three seeds per launch; and a record measured once (the augmentation throughput) is
only claimed with a wide, stated margin (:func:`augment_claim`). Each such sentence is a
:func:`cookbook.book.claims.claim`, so a record that stops supporting it fails the chapter.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from cookbook import evaluate, registry
from cookbook.augment import views
from cookbook.book import baselines, claims
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
    """One line: what made ``record``, where and when, on how many threads, and the record's note
    (a busy machine, for one) where it has one."""
    where = record.get("device") or record["machine"]
    if record.get("cpu", {}).get("model"):
        where = f"{where} ({record['cpu']['model']})"
    threads = f", {record['threads']} thread{'s' if record['threads'] > 1 else ''}" if "threads" in record else ""
    if record.get("clock") == "cpu":
        threads += ", timed by the thread's CPU time"
    note = f". {record['note']}" if record.get("note") else ""
    return f"`{record['command']}` on {where}{threads}, {record['date']}, torch {record['torch']}{note}"


# CPU features that decide what bfloat16 buys on a CPU: AMX's tile units (Intel, since Sapphire Rapids) and
# AVX-512's bfloat16 dot products (Intel since Cooper Lake, AMD since Zen 4). Linux lists them in /proc/cpuinfo.
BF16_FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16")


def cpu_info() -> dict[str, Any]:
    """This machine's CPU model and which of :data:`BF16_FLAGS` it has (empty where Linux's
    /proc/cpuinfo is not there to say): a record's sentence about bfloat16 units reads them from here,
    never from memory."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"model": platform.processor() or platform.machine(), "flags": []}
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    return {"model": fields.get("model name", platform.machine()), "flags": [f for f in BF16_FLAGS if f in flags]}


def load_note(load_average: tuple[float, float], cores: int, threads: int) -> str:
    """A record's note on how busy the machine was: the highest 1-minute load average seen at its start
    and end, against the cores left once the benchmark's own threads are counted."""
    busiest = max(load_average)
    if busiest <= cores - threads + 0.5:
        return ""
    return (f"Measured while other work kept the machine busy (load average up to {busiest:.1f} on {cores} "
            f"cores): compare the rows of this record with each other, not with another machine's")


# ----------------------------------------------------------------------------- a step, live

CLOCKS = ("wall", "cpu")


def step_profile(recipe_name: str = "simclr", steps: int = 20, warmup: int = 5, *, fused: bool = False,
                 bf16: bool = False, compiled: bool = False, clock: str = "wall", **settings) -> dict[str, float]:
    """Milliseconds per step spent making two views, in the forward pass (backbone, projector and
    NT-Xent), the backward pass and the optimizer step of a quick SimCLR step, averaged over
    ``steps`` steps after ``warmup`` (the first steps pay for oneDNN's choice of kernels).
    ``settings`` override the quick config (``channels_last``, ``image_size``...); ``fused`` uses
    AdamW's fused kernel, ``bf16`` CPU autocast to bfloat16, ``compiled`` runs the forward pass and
    the loss through ``torch.compile`` (its backward is compiled with it). ``clock``: "wall" (the
    default), or "cpu", the CPU time of this thread, for one torch thread on a busy machine
    (:func:`step_clock`). :func:`step_measure` also returns the first step's time, where compilation
    happens."""
    return {phase: value for phase, value in step_measure(recipe_name, steps, warmup, fused=fused, bf16=bf16,
                                                          compiled=compiled, clock=clock, **settings).items()
            if phase in PHASES}


def step_clock(clock: str):
    """The timer of ``clock``: "wall", the time that passes; or "cpu", the CPU time of the calling thread.
    On a machine whose cores are busy with other work, a thread waits for a core and the wall clock
    counts the wait; the thread's CPU time counts only its own work. With one torch thread every kernel
    runs on the calling thread, so its CPU time is the whole step's work; with more it would miss the
    other threads' share, so "cpu" needs ``torch.get_num_threads() == 1``."""
    if clock not in CLOCKS:
        raise ValueError(f"clock={clock!r}: one of {', '.join(CLOCKS)}")
    if clock == "cpu" and torch.get_num_threads() != 1:
        raise ValueError(f"clock='cpu' times one thread's work, and torch runs {torch.get_num_threads()} threads: "
                         f"torch.set_num_threads(1), or use the wall clock")
    return time.perf_counter if clock == "wall" else time.thread_time


def step_measure(recipe_name: str = "simclr", steps: int = 20, warmup: int = 5, *, clock: str = "wall",
                 **options) -> dict[str, float]:
    """:func:`step_profile`'s milliseconds per phase, and ``first_step_ms``: the whole first step on the
    wall clock, which pays for oneDNN's choice of kernels and, with ``compiled``, for tracing and compiling
    the forward and backward passes (``torch.compile`` compiles lazily, at the first call, partly in a C++
    compiler's processes, which a thread's CPU time would miss). ``options``: :class:`StepTimer`'s."""
    return measure_interleaved({"": options}, recipe_name, steps, warmup, clock=clock, record_failures=False)[""]


def fused_adamw(optimizer: torch.optim.Optimizer) -> torch.optim.AdamW:
    """An AdamW with ``optimizer``'s parameter groups and settings, updating every weight in one fused kernel.
    Each group carries its own ``fused`` and ``foreach`` entries, which win over the constructor's: they are
    dropped here, or the "fused" optimizer would run the loop it replaces."""
    groups = [{key: value for key, value in group.items() if key not in ("fused", "foreach")}
              for group in optimizer.param_groups]
    return torch.optim.AdamW(groups, fused=True)


def fused_drift(recipe_name: str = "simclr", steps: int = 3) -> float:
    """The largest difference between any weight after ``steps`` quick steps with AdamW's per-parameter loop
    and after the same steps (same model, same views) with its fused kernel: rounding, or a real difference
    between the two updates."""
    weights = []
    for fused in (False, True):
        timer = StepTimer(recipe_name, fused=fused)
        torch.manual_seed(0)  # the same views for both
        for _ in range(steps):
            timer.step()
        weights.append(torch.cat([w.detach().flatten() for w in timer.trainer.model.parameters()]))
    return float((weights[0] - weights[1]).abs().max())


class StepTimer:
    """One variant of a quick SimCLR step on the CPU, built and ready to be timed one step at a time
    (:meth:`step`; ``benchmarks/gpu_throughput.py`` times the GPU, where kernels run asynchronously).
    ``settings`` override the quick config (``channels_last``, ``image_size``...); ``fused`` uses AdamW's
    fused kernel, ``bf16`` CPU autocast to bfloat16 around the model, ``compiled`` runs the forward pass
    and the loss through ``torch.compile``."""

    def __init__(self, recipe_name: str = "simclr", *, fused: bool = False, bf16: bool = False,
                 compiled: bool = False, clock: str = "wall", **settings):
        self.timer, self.clock = step_clock(clock), clock
        recipe = registry.get(recipe_name)
        settings.setdefault("device", "cpu")  # the CPU step: a GPU's kernels would need synchronising to be timed
        config = recipe.Config.for_budget("quick", **settings, eval_every=0, progress=False, out=None)
        data, model = prepare(recipe, config)
        trainer = Trainer(model, data, config)
        if fused:
            trainer.optimizer = fused_adamw(trainer.optimizer)

        def forward_loss(both: torch.Tensor) -> torch.Tensor:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                z1, z2 = model.projector(model.backbone(both)).float().chunk(2)
            return recipe.nt_xent_loss(z1, z2, config.temperature)

        if compiled:
            torch.compiler.reset()  # a fresh compilation: dynamo keeps its graphs per code object, across models
            forward_loss = torch.compile(forward_loss)
        self.config, self.data, self.trainer, self.forward_loss = config, data, trainer, forward_loss
        self.steps_done, self.first_step_ms = 0, 0.0

    def step(self) -> dict[str, float]:
        """Train one step; the milliseconds of each of its phases (the first step's whole wall time is
        kept in ``first_step_ms``: on the wall clock from the same readings, so no extra reading disturbs
        the phases)."""
        timer, optimizer = self.timer, self.trainer.optimizer
        images = self.data.pretrain_x[self.trainer.batch_indices(self.steps_done)]
        wall = time.perf_counter() if self.steps_done == 0 and self.clock != "wall" else None
        t0 = timer()
        both = torch.cat(views(images, 2, self.config.augment))
        t1 = timer()
        loss = self.forward_loss(both)
        t2 = timer()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t3 = timer()
        optimizer.step()
        t4 = timer()
        if self.steps_done == 0:
            self.first_step_ms = ((t4 - t0) if wall is None else (time.perf_counter() - wall)) * 1000
        self.steps_done += 1
        return {name: (b - a) * 1000 for name, a, b in zip(PHASES, (t0, t1, t2, t3), (t1, t2, t3, t4))}


def _failure(error: Exception) -> str:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {reason[:300]}"


def measure_interleaved(variants: dict[str, dict[str, Any]], recipe_name: str = "simclr", steps: int = 20,
                        warmup: int = 5, *, clock: str = "wall", record_failures: bool = True) -> dict[str, dict]:
    """Each variant's :func:`step_measure` (label -> :class:`StepTimer`'s options), the variants taking turns
    step by step: the first variant's step 1, the second's step 1, ..., then every variant's step 2. On a
    machine whose load changes from one second to the next, every variant meets the same load, so their
    differences are the levers' and not the moments'. With ``record_failures`` a variant that fails
    (``torch.compile`` without a working C++ compiler, for one) leaves the rotation and its result is
    ``{"failed": "Error: its reason"}`` instead of the exception stopping the others."""
    if steps < 1 or warmup < 0:
        raise ValueError(f"steps={steps}, warmup={warmup}: time at least one step, after 0 or more warm-up steps")
    if not hasattr(registry.get(recipe_name), "nt_xent_loss"):
        raise ValueError(f"recipe {recipe_name!r}: the step profile times SimCLR's loss; use simclr")
    step_clock(clock)
    timers: dict[str, StepTimer] = {}
    results: dict[str, dict] = {}
    for label, options in variants.items():
        try:
            timers[label] = StepTimer(recipe_name, clock=clock, **options)
        except Exception as error:  # a lever that cannot be built is a result, like one that fails to run
            if not record_failures:
                raise
            results[label] = {"failed": _failure(error)}
    spent = {label: dict.fromkeys(PHASES, 0.0) for label in timers}
    for step in range(steps + warmup):
        for label, timer in list(timers.items()):
            try:
                phases = timer.step()
            except Exception as error:  # compilation fails at the first step, where torch.compile runs
                if not record_failures:
                    raise
                results[label] = {"failed": _failure(error)}
                del timers[label]
                continue
            if step >= warmup:
                for name in PHASES:
                    spent[label][name] += phases[name] / steps
    results.update({label: {**spent[label], "first_step_ms": timer.first_step_ms} for label, timer in timers.items()})
    return {label: results[label] for label in variants}


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


def step_total(phases: dict[str, float]) -> float:
    """Milliseconds of a whole step: the sum of its phases."""
    return sum(phases[p] for p in PHASES)


def step_totals(row: dict[str, Any]) -> list[float]:
    """A variant's step time in each of its repeats (a live row, measured once: its one total)."""
    return [step_total(r) for r in row.get("repeats") or [row]]


def _row(record: dict[str, Any], variant: str) -> dict[str, Any]:
    for row in record["rows"]:
        if row["variant"] == variant:
            return row
    raise KeyError(f"no variant {variant!r} in the record; it has {', '.join(r['variant'] for r in record['rows'])}")


def _ms_range(values: list[float]) -> str:
    return f"{min(values):.1f}" if len(values) == 1 else f"{min(values):.1f}-{max(values):.1f}"


def step_markdown(record: dict[str, Any]) -> str:
    """Milliseconds per step in each phase (the median over the repeats), the whole step's range over
    the repeats, and the first step's seconds (where kernels are chosen and compilation happens), for each
    variant of the quick step; a variant that failed says why."""
    repeats = record.get("repeats", 1)
    header = ["variant", *(f"{p}, ms" for p in PHASES), f"step, ms ({repeats} repeats)", "first step, s"]
    rows = []
    for r in record["rows"]:
        if "failed" in r:
            rows.append([r["variant"], f"failed: {r['failed']}", *[""] * (len(header) - 2)])
            continue
        first = [x["first_step_ms"] / 1000 for x in r.get("repeats", []) if "first_step_ms" in x]
        rows.append([r["variant"], *(f"{r[p]:.1f}" for p in PHASES), _ms_range(step_totals(r)),
                     (f"{min(first):.2f}" if len(set(first)) == 1 else f"{min(first):.2f}-{max(first):.2f}")
                     if first else "n/a"])
    return _markdown_table(header, rows)


def step_table(record: dict[str, Any]) -> None:
    _show(step_markdown(record))


def step_figure(rows: list[dict[str, Any]], title: str = "Where a quick SimCLR step goes"):
    """Stacked horizontal bars: each variant's milliseconds per phase (medians over its repeats), the
    phases named under the bars. A variant that failed is left out. What a lever changes is drawn by
    :func:`lever_figure`, from the repeats."""
    rows = [r for r in rows if "failed" not in r]
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


# ----------------------------------------------------------------------------- claims about the records

def lever_ratios(record: dict[str, Any], variant: str, base: str = "as configured",
                 phase: str | None = None) -> list[float]:
    """``variant``'s step time (or ``phase``'s time) over ``base``'s, in each repeat. The variants of a repeat
    took turns step by step (:func:`measure_interleaved`), so a repeat's ratio compares them under the same
    load; the load itself changes between repeats, and moves every variant's time together."""
    def times(row: dict[str, Any]) -> list[float]:
        return step_totals(row) if phase is None else [r[phase] for r in row.get("repeats") or [row]]

    return [a / b for a, b in zip(times(_row(record, variant)), times(_row(record, base)), strict=True)]


def lever_verdict(record: dict[str, Any], variant: str, base: str = "as configured",
                  phase: str | None = None) -> tuple[str, str]:
    """Whether ``variant``'s step (or its ``phase``) is "faster" or "slower" than ``base``'s, or "no
    difference", and the words that say it with its numbers. The book's rule for seeds, with the repeats in
    their place: a difference only where the ratio of the two (:func:`lever_ratios`) is below 1 in every
    repeat, or above 1 in every repeat; where its range over the repeats holds 1, "no difference here". A
    variant that failed is "failed", with its reason."""
    row, reference = _row(record, variant), _row(record, base)
    if "failed" in row:
        return "failed", f"{variant} failed on the machine that made the record: {row['failed']}"
    ratios = lever_ratios(record, variant, base, phase)
    what = "per step" if phase is None else f"in the {phase} phase"
    ours, theirs = ((statistics.median(step_totals(r)) if phase is None else r[phase]) for r in (row, reference))
    both = (f"{variant} {ours:.1f} ms {what} against {theirs:.1f} ms {base}, medians of {len(ratios)} repeats; "
            f"the ratio within each repeat ran from {min(ratios):.2f} to {max(ratios):.2f}")
    verdict = "faster" if max(ratios) < 1 else "slower" if min(ratios) > 1 else "no difference"
    if verdict == "no difference":
        return verdict, f"{both}: no difference here, the ratio was on both sides of 1"
    middle = statistics.median(ratios)
    share = "of the step" if phase is None else f"of the {phase} phase"
    return verdict, f"{both}: {verdict} by {abs(1 - middle):.0%} {share} (median ratio {middle:.2f})"


def lever_claim(record: dict[str, Any], variant: str, verdict: str, sentence: str, phase: str | None = None) -> bool:
    """Show ``sentence`` with the numbers of :func:`lever_verdict` and check that its verdict is ``verdict``
    ("faster", "slower", "no difference" or "failed")."""
    found, words = lever_verdict(record, variant, phase=phase)
    return claims.claim(f"{sentence} ({words}).", found == verdict,
                        evidence=f"the record says {found!r}, the sentence {verdict!r}")


def phase_claim(record: dict[str, Any], sentence: str, variant: str = "as configured") -> bool:
    """Show ``sentence``, about the phases of ``variant``'s step, with each phase's share of the step
    over the repeats, and check what the chapter says of them: in every repeat the forward and backward
    passes together take more than half the step, and the backward pass takes longer than the forward."""
    repeats = _row(record, variant).get("repeats") or [_row(record, variant)]
    share = {p: [r[p] / step_total(r) for r in repeats] for p in PHASES}
    ratio = [r["backward"] / r["forward"] for r in repeats]
    holds = (min(f + b for f, b in zip(share["forward"], share["backward"])) > 0.5 and min(ratio) > 1)
    shares = ", ".join(f"{p} {min(v):.0%}-{max(v):.0%}" for p, v in share.items())
    return claims.claim(f"{sentence} (shares of the step over {len(repeats)} repeats: {shares}; the backward pass "
                        f"took {min(ratio):.1f}-{max(ratio):.1f} times the forward).", holds)


def compile_cost(record: dict[str, Any], variant: str = "torch.compile", base: str = "as configured") -> dict:
    """What compiling cost and what it saved: the extra seconds of ``variant``'s first step over ``base``'s,
    in the first repeat (inductor's cache empty) and in the later ones (its cache warm), the milliseconds
    each steady step saved (median against median, negative where compiling made the step slower), and
    the steps a cold compilation takes to pay for itself (None where the step is not faster)."""
    row, reference = _row(record, variant), _row(record, base)
    if "failed" in row:
        return {"failed": row["failed"]}
    extra = [(c["first_step_ms"] - b["first_step_ms"]) / 1000 for c, b in zip(row["repeats"], reference["repeats"])]
    saved = statistics.median(step_totals(reference)) - statistics.median(step_totals(row))
    return {"cold_s": extra[0], "warm_s": extra[1:], "saved_ms": saved,
            "break_even_steps": extra[0] * 1000 / saved if saved > 0 else None}


def live_row(steps: int = 8, warmup: int = 3) -> dict[str, Any]:
    """The quick step measured now, on this machine's CPU, labelled with its threads and clock: the CPU
    time of the thread where torch runs one thread (as the record does), the wall clock otherwise."""
    threads = torch.get_num_threads()
    clock = "cpu" if threads == 1 else "wall"
    label = f"now, here: {threads} thread{'s' if threads > 1 else ''}, {'CPU time' if clock == 'cpu' else 'wall clock'}"
    return {"variant": label, **step_profile("simclr", steps=steps, warmup=warmup, clock=clock)}


def lever_figure(record: dict[str, Any], base: str = "as configured"):
    """Each lever's step time over the default's, one dot per repeat (:func:`lever_ratios`), beside the line
    of no change at 1: the evidence of :func:`lever_verdict`, whose rule is that all the dots of a lever lie
    on one side of the line."""
    rows = [r for r in record["rows"] if r["variant"] != base and "failed" not in r]
    fig = new_figure(7.5, 0.4 * len(rows) + 1.3)
    ax = fig.subplots()
    for y, r in enumerate(rows):
        ratios = lever_ratios(record, r["variant"], base)
        ax.scatter(ratios, [y] * len(ratios), s=18, color="tab:blue", alpha=0.7, zorder=3,
                   label=f"one repeat ({len(ratios)} per lever)" if y == 0 else None)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1, label=f"{base} (ratio 1)")
    ax.set_yticks(range(len(rows)), [r["variant"] for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(f"step time over the step time {base}, within each repeat")
    legend_below(fig, [ax], ncols=2)
    ax.set_title("What each lever does to a quick SimCLR step", fontsize=10)
    return fig


def _has_bf16_units(record: dict[str, Any]) -> dict[str, bool]:
    flags = set(record.get("cpu", {}).get("flags", []))
    return {"amx": bool(flags & {"amx_bf16", "amx_tile"}), "avx512_bf16": "avx512_bf16" in flags}


def lever_findings(record: dict[str, Any]) -> None:
    """The step table's sentences, each checked on the record's repeats (:func:`lever_verdict`)."""
    phase_claim(record, "On the CPU the forward and backward passes take most of a step, and the backward pass "
                        "takes longer than the forward")
    lever_claim(record, "channels_last off", "slower", "Turning channels_last off makes the step slower")
    lever_claim(record, "AdamW fused", "faster", "AdamW's fused kernel makes the optimizer's update faster",
                phase="optimizer")
    lever_claim(record, "AdamW fused", "no difference", "The update is so small a part of the step that the whole "
                                                        "step shows no difference")
    drift, lr = record.get("fused_drift_after_3_steps"), registry.get(record["recipe"]).Config.for_budget("quick").lr
    claims.claim(f"The fused kernel computes the loop's update up to float rounding: after three steps from the same "
                 f"weights and views, no weight differed by more than {drift:.1g}, under a hundredth of the "
                 f"learning rate ({lr:g}), about how far one AdamW step moves a weight.",
                 drift is not None and drift < lr / 100)
    units = _has_bf16_units(record)
    flags = ", ".join(record.get("cpu", {}).get("flags", [])) or "none of " + ", ".join(BF16_FLAGS)
    found, words = lever_verdict(record, "bf16 autocast")
    claims.claim(f"bf16 autocast makes the step faster on this CPU, which has AVX-512's bfloat16 instructions and "
                 f"no AMX unit (the record's CPU flags: {flags}; {words}).",
                 found == "faster" and units["avx512_bf16"] and not units["amx"],
                 evidence=f"the record says {found!r}, with the CPU flags {flags}")
    for size in (24, 16):
        ratios = lever_ratios(record, f"{size} px images")
        pixels = (size / 32) ** 2
        claims.claim(f"Drawing the images at {size} pixels instead of 32 makes the step faster, though less than in "
                     f"proportion to the pixels: {size}x{size} is {pixels:.0%} of the pixels, and the step took "
                     f"{min(ratios):.0%}-{max(ratios):.0%} of the default's over the repeats.",
                     pixels < min(ratios) and max(ratios) < 1)


def compile_findings(record: dict[str, Any], recipe_name: str = "simclr") -> None:
    """What ``torch.compile`` bought and cost on the record's CPU, checked: its steady step against the
    default's, and its compilation (:func:`compile_cost`) against the steps of a quick run."""
    cost = compile_cost(record)
    if "failed" in cost:
        claims.claim(f"On the machine that made the record, `torch.compile` failed ({cost['failed']}), so what it buys "
                     f"there is not measured.", True)
        return
    lever_claim(record, "torch.compile", "faster", "Compiled, the steady step is faster")
    quick = registry.get(recipe_name).Config.for_budget("quick").steps
    warm = max(cost["warm_s"]) if cost["warm_s"] else float("nan")
    steps = cost["break_even_steps"]
    claims.claim(f"Compiling with an empty cache does not pay for itself in a quick run: the first step took "
                 f"{cost['cold_s']:.0f} s longer than the default's first step (wall clock), which at "
                 f"{cost['saved_ms']:.1f} ms saved per step takes about {steps or float('inf'):,.0f} steps to earn "
                 f"back, against the quick run's {quick}.", steps is not None and steps > quick)
    claims.claim(f"With inductor's cache on disk warm from the first repeat, compiling cost at most {warm:.1f} s "
                 f"and paid for itself within a quick run, after about {warm * 1000 / cost['saved_ms']:,.0f} steps.",
                 cost["saved_ms"] > 0 and warm * 1000 / cost["saved_ms"] < quick)


def scaling_references(record: dict[str, Any]) -> dict[str, Any]:
    """What the scaling runs' kNN accuracies stand beside, on their test images with their probe: chance and
    raw pixels (:func:`cookbook.book.baselines.references`) and the untrained network of each seed the
    record trained (the same network before training, as ``random_init_knn_acc`` of a run)."""
    recipe = registry.get(record["recipe"])
    seeds = sorted({s for row in record["rows"] for s in row["seeds"]})
    untrained = []
    for seed in seeds:
        config = recipe.Config.for_budget("quick", seed=seed, eval_every=0, progress=False, out=None)
        data, model = prepare(recipe, config)
        untrained.append(evaluate.knn_scores(*evaluate.features(model.backbone, data), data, config.knn_k,
                                             config.knn_temperature)["knn_acc"])
    refs = baselines.references(recipe.Config.for_budget("quick"))
    return {"chance": refs["chance"]["kNN"], "raw pixels": refs["raw pixels"]["kNN"], "untrained": untrained,
            "seeds": seeds}


def scaling_row(record: dict[str, Any], launch_prefix: str) -> dict[str, Any]:
    """The row of the launch whose name starts with ``launch_prefix`` ("2 processes")."""
    return next(r for r in record["rows"] if r["launch"].startswith(launch_prefix))


def scaling_findings(record: dict[str, Any], references: dict[str, Any]) -> None:
    """The scaling table's sentences, checked on its seeds: the time of each launch, and its accuracies
    against each other and against raw pixels (``references``: :func:`scaling_references`)."""
    one, two, single = (scaling_row(record, name) for name in ("1 process x 2", "2 processes", "1 process x 1"))
    names = (two["launch"], one["launch"])
    claims.compare(two["wall_s"], one["wall_s"], names=names, measure="wall seconds", percent=False).states(
        "higher", "Two processes of one thread each took longer than one process on both cores")
    claims.compare(two["wall_s"], single["wall_s"][0], names=(two["launch"], f"{single['launch']}, one run"),
                   measure="wall seconds", percent=False).states(
        "higher", "They took longer even than one process on one core")
    same = [(s, a, b) for s, a, b in zip(one["seeds"], one["knn_acc"], two["knn_acc"])]
    claims.claim("The same seed does not give the same run in the two launches: each process draws its own views "
                 "(" + "; ".join(f"seed {s}: kNN {100 * a:.1f}% and {100 * b:.1f}%" for s, a, b in same) + ").",
                 any(a != b for _, a, b in same))
    claims.compare(two["knn_acc"], one["knn_acc"], names=names).states(
        "no difference", "Over the seeds, the two launches' accuracies do not differ")
    for row in (one, two):
        claims.compare(row["knn_acc"], references["raw pixels"], names=(row["launch"], "raw pixels")).states(
            "higher", f"{row['launch'].capitalize()} learned: its kNN accuracy ends above raw pixels")


def augment_findings(record: dict[str, Any]) -> None:
    """The augmentation table's sentence, checked with a margin (:func:`augment_claim`)."""
    augment_claim(record, "The batched pipeline makes many times as many views per second as either per-image "
                          "pipeline with as many workers", factor=5)


def augment_claim(record: dict[str, Any], sentence: str, factor: float) -> bool:
    """Show ``sentence`` and check it: the batched pipeline made at least ``factor`` times the views per
    second of each per-image pipeline with as many workers as it had threads. Each pipeline was timed once,
    so the claim asks for a margin far beyond the 40% by which machines, or one busy machine, differ."""
    batched = next(r for r in record["rows"] if r["library"] == "cookbook")
    others = [r for r in record["rows"] if r["library"] != "cookbook" and r["workers"] == record["workers"]]
    ratios = {r["pipeline"]: batched["views_per_s"] / r["views_per_s"] for r in others}
    holds = bool(ratios) and min(ratios.values()) >= factor
    return claims.claim(f"{sentence} ({', '.join(f'{x:.1f} times {name}' for name, x in ratios.items())}; one "
                        f"timing each, so the sentence asks for at least {factor:g} times).", holds)


def scaling_markdown(record: dict[str, Any], references: dict[str, Any] | None = None) -> str:
    """Each launch's processes and threads, its wall time and throughput, and its accuracies by seed; with
    ``references`` (:func:`scaling_references`), rows for chance, raw pixels and the untrained network of
    each seed under them, on the same test images with the same kNN probe."""
    rows = [[r["launch"], ", ".join(str(s) for s in r["seeds"]), f"{_mean(r['wall_s']):.1f}",
             f"{_mean(r['images_per_s']):,.0f}", ", ".join(f"{100 * a:.1f}" for a in r["knn_acc"]),
             ", ".join(f"{100 * a:.1f}" for a in r["linear_acc"])] for r in record["rows"]]
    if references:
        rows += [["chance", "", "", "", f"{100 * references['chance']:.1f}", ""],
                 ["raw pixels", "", "", "", f"{100 * references['raw pixels']:.1f}", ""],
                 ["untrained network", ", ".join(str(s) for s in references["seeds"]), "", "",
                  ", ".join(f"{100 * a:.1f}" for a in references["untrained"]), ""]]
    return _markdown_table(["launch", "seeds", "wall s (mean)", "images / s", "kNN % by seed", "linear % by seed"],
                           rows)


def scaling_table(record: dict[str, Any], references: dict[str, Any] | None = None) -> None:
    _show(scaling_markdown(record, references))


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


def gradient_scale_effect(scale: float = 2.0, size: int = 1000) -> dict[str, float]:
    """How much longer one optimizer step gets when the gradient is ``scale`` times larger, for SGD and
    AdamW (from the same weights, one step): SGD's step grows with the gradient, AdamW's divides the
    gradient by its own running size and barely moves (only its epsilon keeps it from being exact). This
    is why a gradient N times too large would show as N times the learning rate under SGD, and hide
    under AdamW."""
    gradient = torch.randn(size, generator=torch.Generator().manual_seed(0))
    lengths = {}
    for name, optimizer in (("SGD", torch.optim.SGD), ("AdamW", torch.optim.AdamW)):
        steps = []
        for factor in (1.0, scale):
            weights = torch.nn.Parameter(torch.ones(size))
            step = optimizer([weights], lr=0.01)
            weights.grad = factor * gradient
            step.step()
            steps.append(float((weights.detach() - 1).norm()))
        lengths[name] = steps[1] / steps[0]
    return lengths
