"""The live lab: tweak the views and a recipe's hyperparameters, train, and watch.

``Lab(recipe="simclr")`` builds an ipywidgets panel: sliders for the augmentation
strengths and the recipe's main hyperparameters (checkboxes for its on/off safeguards:
a recipe's ``LAB_CONTROLS`` maps a field to ``(min, max, step)`` or to ``bool``), Start / Stop / Reset, and a
dashboard of the loss, kNN accuracy, RankMe, the singular-value spectrum and a 2-D PCA of the
embeddings, redrawn after every chunk of training.

How it stays responsive: Start schedules an asyncio task on the kernel's own event loop.
The task trains one chunk (blocking, a second or so), redraws, then sleeps 50 ms: the
kernel needs several loop iterations to handle one message, which ``sleep(0)`` would grant
only once per chunk. Stop sets a flag that the task reads between chunks. Button callbacks
are moved onto the kernel's main loop, because JupyterLab 4.6 with ipykernel 7 may deliver
widget messages on a subshell thread. The dashboard is a PNG in an ``Image`` widget rather than
``plt.show()`` inside an ``Output``, because output captured from a task is routed
differently across ipykernel 6 (Colab) and 7. Only core widgets are used, so the panel
works with ipywidgets 7.7.1 (Colab) and 8.

Runs are kept for comparison: each finished or stopped run is stored with its settings, the
dashboard overlays the earlier runs' loss, kNN and RankMe curves (faded, labelled with the
settings that differ from the current run) and a table lists them all; Clear forgets them.

With no one to press Start (the book build, nbmake, ``COOKBOOK_QUICK=1``) the lab leaves a static
figure of a finished run of its settings, with a note saying so: on a static page (the HTML book) the
buttons have no kernel behind them. A run long enough to learn is longer than a chapter's minute, so
that run is the book's committed run of these settings when there is one (:mod:`cookbook.book.lab_runs`,
trained by ``benchmarks/lab_runs.py`` with this class's own loop): the lab rebuilds its model from the
kept weights and draws its curves, and the panel's controls show its settings. Without one it trains
the configured steps. In a live kernel Start always trains.
"""
from __future__ import annotations

import asyncio
import dataclasses
import html
import math
import time

from cookbook import evaluate, is_quick, registry
from cookbook.book import collapse, lab_runs, plots, probes, report
from cookbook.book.selection import spearman
from cookbook.config import ConfigError
from cookbook.run import load_data, prepare
from cookbook.train import Trainer, TrainingDiverged

# Nuisance factors a dataset records, by the name a reader knows them by (others keep their own).

# Augmentation knobs offered as sliders: field -> (label, min, max, step).
AUGMENT_CONTROLS = {
    "crop_min_scale": ("crop: min area", 0.05, 1.0, 0.05),
    "jitter_strength": ("colour jitter", 0.0, 1.5, 0.1),
    "gray_p": ("grayscale p", 0.0, 1.0, 0.05),
    "blur_p": ("blur p", 0.0, 1.0, 0.05),
}


class Lab:
    """An interactive training panel for one recipe (see the module docstring).

    ``steps`` is the length of a run, ``chunk`` the number of steps between redraws;
    other keyword arguments override the recipe's ``Config`` (e.g. ``temperature=0.1``) or, for the
    names of the view sliders (``crop_min_scale``, ``jitter_strength``, ``gray_p``, ``blur_p``), its views.
    ``autorun`` (default: on in quick mode) shows a finished run as soon as the lab is displayed: the
    committed run of these settings, or one trained then (see the module docstring).
    """

    def __init__(self, recipe: str = "simclr", *, steps: int | None = None, chunk: int = 50,
                 autorun: bool | None = None, budget: str | None = None, layer: str = "backbone", **overrides):
        self.recipe = registry.get(recipe)
        self.recipe_name = recipe
        views = {name: overrides.pop(name) for name in AUGMENT_CONTROLS if name in overrides}
        base = self.recipe.Config.for_budget(budget, **({"steps": steps} if steps else {}), **overrides)
        base = dataclasses.replace(base, augment=base.augment.replace(**views)) if views else base
        steps = base.steps
        if chunk < 1:
            raise ConfigError(f"chunk={chunk}: redraw after at least one step")
        self.chunk = min(chunk, steps)
        self.base_config = dataclasses.replace(base, steps=steps, progress=False, out=None,
                                               eval_every=self.chunk, log_every=max(1, self.chunk // 5))
        self.autorun = is_quick() if autorun is None else autorun
        self.data = load_data(self.base_config)
        # The layer whose features the nuisance probes (and a second kNN line) measure: the backbone, or the
        # output of a projector layer (cookbook.book.probes, Guillotine Regularization). A dropdown changes it live.
        try:
            self.layers = probes.layer_names(prepare(self.recipe, self.base_config, self.data)[1])
        except TypeError:  # no MLP projector to cut (MAE, I-JEPA, the pretext tasks)
            self.layers = ["backbone"]
        if layer not in self.layers:
            raise ConfigError(f"layer={layer!r}: {recipe} can be probed at {', '.join(map(repr, self.layers))}")
        self.layer = layer
        self.trainer: Trainer | None = None
        self.timed_steps, self.timed_seconds = 0, 0.0
        self.error: str | None = None
        self._stop_requested = False
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the kernel's main loop, set by widget()
        self._widgets = None
        self._frozen_run = False  # an autorun draws only its final frame: no one watches the others
        self.committed: dict | None = None  # the committed run (lab_runs) the trainer holds, None when trained here
        self.runs: list[dict] = []  # finished or stopped runs, oldest first (see keep_run)
        # kNN accuracy on each discrete nuisance factor the data records, next to the class's:
        # {"step": s, "<factor>_knn_acc": a, ...} at every evaluation of the current run.
        self.nuisance: list[dict] = []
        self._run_number = 0  # which run the trainer holds; reset() starts the next

    # -- configuration from the controls -----------------------------------------------
    def _controls(self):
        import ipywidgets as w

        style, layout = {"description_width": "120px"}, w.Layout(width="330px")
        config = self.base_config
        augment = {name: w.FloatSlider(value=getattr(config.augment, name), min=lo, max=hi, step=step,
                                       description=label, style=style, layout=layout, continuous_update=False)
                   for name, (label, lo, hi, step) in AUGMENT_CONTROLS.items()}
        recipe = {}
        for name, spec in getattr(self.recipe, "LAB_CONTROLS", {}).items():
            value = getattr(config, name)
            if spec is bool:  # an on/off safeguard (a predictor, a stop-gradient, centering): a checkbox
                recipe[name] = w.Checkbox(value=bool(value), description=name, style=style, layout=layout)
                continue
            lo, hi, step = spec  # a slider clamps its value: widen the range to keep the configured one
            # Counts and sizes (prototypes, crops, dimensions) must stay integers, or the model cannot be built.
            integer = isinstance(value, int) and not isinstance(value, bool)
            slider, extra = (w.IntSlider, {}) if integer else (w.FloatSlider, {"readout_format": ".2f"})
            recipe[name] = slider(value=value, min=min(lo, value), max=max(hi, value), step=step,
                                  description=name, style=style, layout=layout, continuous_update=False, **extra)
        exponent = math.log10(config.lr)
        recipe["lr"] = w.FloatLogSlider(value=config.lr, base=10, min=min(-4, math.floor(exponent)),
                                        max=max(0, math.ceil(exponent)), step=0.1, description="learning rate",
                                        style=style, layout=layout, continuous_update=False, readout_format=".1e")
        recipe["steps"] = w.IntSlider(value=config.steps, min=self.chunk, max=max(10 * config.steps, 2000),
                                      step=self.chunk, description="steps", style=style, layout=layout,
                                      continuous_update=False)
        return augment, recipe

    def config(self):
        """The recipe config the controls describe now (before the panel exists: the base config)."""
        if self._widgets is None:
            return self.base_config
        augment_values = {k: s.value for k, s in self._widgets["augment"].items()}
        recipe_values = {k: s.value for k, s in self._widgets["recipe"].items()}
        warmup = min(self.base_config.warmup_steps, recipe_values["steps"])  # a shorter run warms up less
        return dataclasses.replace(self.base_config, augment=self.base_config.augment.replace(**augment_values),
                                   warmup_steps=warmup, **recipe_values)

    def settings(self, config=None) -> dict[str, float]:
        """The values of the lab's controls in ``config`` (default: what the controls say now)."""
        config = config or self.config()
        values = {name: getattr(config.augment, name) for name in AUGMENT_CONTROLS}
        values.update({name: getattr(config, name) for name in getattr(self.recipe, "LAB_CONTROLS", {})})
        values.update(lr=config.lr, steps=config.steps)
        return values

    # -- runs kept for comparison --------------------------------------------------------
    def keep_run(self) -> None:
        """Store the current run (its settings, curves, final kNN and RankMe, collapsed or not) in
        ``runs``; a run kept before (stopped, then continued) is updated rather than repeated."""
        if self.trainer is None or self.trainer.step == 0:
            return
        z = self._embeddings()
        last = next((r for r in reversed(self.history) if "knn_acc" in r), {})
        kept = {"number": self._run_number, "settings": self.settings(self.trainer.config),
                "history": list(self.history), "step": self.trainer.step, "knn": last.get("knn_acc"),
                "rankme": last.get("rankme"), "error": self.error, "nuisance": self._nuisance_last(),
                "committed": self.committed["name"] if self.committed else None,
                "collapsed": None if z is None else collapse.is_collapsed(evaluate.collapse_report(z))}
        if self.runs and self.runs[-1]["number"] == self._run_number:
            self.runs[-1] = kept
        else:
            self.runs.append(kept)
        self._show_runs()

    def clear_runs(self) -> None:
        """Forget the kept runs (the current one is kept again when it stops or finishes)."""
        self.runs = []
        self._show_runs()
        if self._widgets is not None and not self._frozen_run and self.trainer is not None:
            self._widgets["image"].value = plots.to_png(self.figure(), dpi=72)

    def _earlier_runs(self) -> list[tuple[str, list[dict]]]:
        """The kept runs other than the current one, labelled by the settings that differ from it."""
        now = self.settings(self.trainer.config) if self.trainer else self.settings()
        earlier = []
        for run in self.runs:
            if run["number"] == self._run_number:
                continue
            changed = [f"{k}={_short(v)}" for k, v in run["settings"].items() if v != now.get(k)]
            earlier.append((f"run {run['number']}: " + (", ".join(changed) or "same settings"), run["history"]))
        return earlier

    def runs_table(self) -> str:
        """The kept runs as an HTML table: the settings that differ between them, kNN, RankMe, collapse."""
        if not self.runs:
            return ""
        varying = [k for k in self.runs[0]["settings"] if len({str(r["settings"][k]) for r in self.runs}) > 1]
        factors = list(self.runs[-1].get("nuisance", {}))
        head = "".join(f"<th style='padding:0 10px 0 0;text-align:left'>{html.escape(k)}</th>" for k in
                       ["run", *varying, "step", "kNN", *(f"kNN: {f}" for f in factors), "RankMe", "collapsed?"])
        rows = []
        for run in self.runs:
            state = ("diverged" if run["error"] else "?" if run["collapsed"] is None
                     else "<b>yes</b>" if run["collapsed"] else "no")
            cells = [str(run["number"]), *(_short(run["settings"][k]) for k in varying), str(run["step"]),
                     _fmt(run["knn"], ".3f"), *(_fmt(run.get("nuisance", {}).get(f), ".3f") for f in factors),
                     _fmt(run["rankme"], ".1f"), state]
            rows.append("<tr>" + "".join(f"<td style='padding:0 10px 0 0'>{c}</td>" for c in cells) + "</tr>")
        return ("<table class='cookbook-lab-runs' style='border-collapse:collapse;font-size:90%'>"
                f"<tr>{head}</tr>{''.join(rows)}</table>")

    def _show_runs(self) -> None:
        if self._widgets is not None:
            self._widgets["runs"].value = self.runs_table()
            self._widgets["clear"].disabled = not self.runs

    # -- training ----------------------------------------------------------------------
    def _next_run(self):
        """Stop, keep the current run for comparison, number the next one and build its model from the
        controls: ``(config, model)``."""
        self.stop()
        self.keep_run()
        self.error = None
        self._run_number = (self.runs[-1]["number"] if self.runs else self._run_number) + 1
        config = self.config()
        _, model = prepare(self.recipe, config, self.data)
        return config, model

    def reset(self) -> None:
        """Stop, then build a fresh model from the current controls (same seed: same start).
        The run it replaces is kept for comparison."""
        config, model = self._next_run()
        self.trainer = Trainer(model, self.data, config)
        self.committed = None
        for _ in self.trainer.run(steps=0):  # the step-0 evaluation: the random-init baseline
            pass
        self.timed_steps, self.timed_seconds = 0, 0.0  # this run's pace, pauses left out (chapter 14)
        self.nuisance = []
        self._measure_nuisance()
        if self._widgets is not None and not self.autorun:
            self._widgets["image"].layout.display = None
        self._draw()

    def _measure_nuisance(self) -> None:
        """kNN accuracy of the backbone's features on each discrete nuisance factor (the toy shapes'
        colour), with the class kNN's memory bank: what the features keep that the views vary."""
        if not self.data.train_factors or self.trainer is None or self.error:
            return
        c, data, model = self.trainer.config, self.data, self.trainer.model
        layer = self._widgets["layer"].value if self._widgets is not None else self.layer
        if layer == "backbone":
            scores = evaluate.bank_knn_scores(model.backbone, data, c.eval_bank, c.knn_k, c.knn_temperature)
            scores.pop("knn_acc")  # the class's: the trainer's own evaluation has it
            if scores:
                self.nuisance.append({"step": self.trainer.step, **scores})
            return
        bank = c.eval_bank or len(data.train_x)
        train_z = probes.layer_features(model, data.train_x[:bank])[layer]
        test_z = probes.layer_features(model, data.test_x)[layer]
        in_bank = dataclasses.replace(data, train_x=data.train_x[:bank], train_y=data.train_y[:bank],
                                      train_factors={k: v[:bank] for k, v in data.train_factors.items()})
        scores = evaluate.knn_scores(train_z, test_z, in_bank, c.knn_k, c.knn_temperature)
        self.nuisance.append({"step": self.trainer.step, "layer": layer, "layer_knn": scores.pop("knn_acc"),
                              "layer_rankme": evaluate.rankme(test_z), **scores})

    def _nuisance_last(self) -> dict[str, float]:
        """The latest nuisance kNN accuracies, by the factor's readable name."""
        return report.nuisance_scores(self.nuisance[-1] if self.nuisance else {})

    def _layer_probe(self) -> dict[str, list[tuple[int, float]]]:
        """The class kNN at the probed projector layer over the run, ``{"kNN at <layer>": [(step, acc)]}``."""
        points = {}
        for record in self.nuisance:
            if "layer" in record:
                points.setdefault(f"kNN at {record['layer']}", []).append((record["step"], record["layer_knn"]))
        return points

    @property
    def history(self) -> list[dict]:
        return self.trainer.history if self.trainer else []

    @property
    def done(self) -> bool:
        return self.trainer is not None and self.trainer.step >= self.trainer.config.steps

    def run_chunk(self) -> bool:
        """Train ``chunk`` steps and redraw; False when the run is finished or failed."""
        if self.trainer is None:
            self.reset()
        if self.done or self.error:
            return False
        started, first = time.perf_counter(), self.trainer.step
        try:
            for _ in self.trainer.run(steps=self.trainer.step + self.chunk):
                pass
        except TrainingDiverged as err:  # show the diagnosis in the panel instead of a traceback
            self.error = str(err)
        self.timed_steps += self.trainer.step - first
        self.timed_seconds += time.perf_counter() - started
        self._measure_nuisance()
        self._draw()
        return not (self.done or self.error)

    def run(self) -> None:
        """Train to the end synchronously (what autorun and scripts use)."""
        if self.trainer is None:
            self.reset()
        self._stop_requested = False
        while not self._stop_requested and self.run_chunk():
            pass
        self.keep_run()

    async def _run_async(self) -> None:
        try:
            while not self._stop_requested and self.run_chunk():
                # A short real sleep, not sleep(0): the kernel needs several loop iterations to
                # handle one message (a click, a cell), and sleep(0) grants one per chunk.
                await asyncio.sleep(0.05)
        finally:
            self._task = None
            self.keep_run()
            self._set_buttons()

    def start(self):
        """Train in the background on the running event loop (the kernel's); returns the task.

        Without a running loop (a plain script) it trains synchronously instead.
        """
        if self._task is not None:
            return self._task
        if self.trainer is None or self.done or self.error:
            self.reset()
        self._stop_requested = False
        if self._widgets is not None:
            self._widgets["image"].layout.display = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self.run()
            return None
        self._task = loop.create_task(self._run_async())
        self._set_buttons()
        return self._task

    def stop(self) -> None:
        """Ask a running lab to stop; it does so before the next chunk starts."""
        self._stop_requested = True
        self._set_status()

    # -- drawing -----------------------------------------------------------------------
    def _embeddings(self):
        """The current model's embeddings of 1000 test images: what the loss sees, whose spectrum
        tells collapse. None before training and after a divergence (they would be NaN)."""
        if self.trainer is None or self.error:
            return None
        model = self.trainer.model
        return evaluate.embed(model, self.data.test_x[:1000], call=model.embed)

    def figure(self):
        """The dashboard of the current state as a matplotlib figure, earlier runs overlaid."""
        z = self._embeddings()
        last = self.nuisance[-1] if self.nuisance else {}
        where = f" at {last['layer']}" if "layer" in last else ""
        nuisance = {name + where: [(r["step"], r[key]) for r in self.nuisance
                                   if key in r and r.get("layer") == last.get("layer")]
                    for key, name in ((k, report.FACTOR_NAMES.get(k[:-len("_knn_acc")], k[:-len("_knn_acc")]))
                                      for k in last if k.endswith("_knn_acc"))}
        return plots.lab_dashboard(self.history, z, self.data.test_y[:1000] if z is not None else None,
                                   self.data.classes, title=f"{self.recipe_name} on {self.data.name}",
                                   previous=self._earlier_runs(), nuisance=nuisance, probe=self._layer_probe(),
                                   embedding=plots.EMBEDDING_NAMES.get(self.recipe_name, plots.EMBEDDING_NAMES[None]))

    def summary(self) -> str:
        if self.error:
            return f"stopped: {self.error}"
        if self.trainer is None:
            return "press Start to train"
        last = next((r for r in reversed(self.history) if "knn_acc" in r), {})
        state = "finished" if self.done else ("training" if self._task and not self._stop_requested else "paused")
        state += " (the book's committed run)" if self.committed else ""
        parts = [f"{state}: step {self.trainer.step}/{self.trainer.config.steps}"]
        if "loss" in self.history[-1]:
            parts.append(f"loss {self.history[-1]['loss']:.3f}")
        if self.timed_steps:  # training and its evaluations, while the run trains
            parts.append(f"{self.timed_steps / self.timed_seconds:.1f} steps/s")
        if last:
            probed = self.nuisance[-1] if self.nuisance else {}
            where = f" at {probed['layer']}" if "layer" in probed else ""
            nuisance = ", ".join(f"{name} {value:.3f}" for name, value in self._nuisance_last().items())
            nuisance = (f", kNN{where} {probed['layer_knn']:.3f}" if where else "") + \
                (f" (nuisances{where}: {nuisance})" if nuisance else "")
            parts.append(f"kNN {last['knn_acc']:.3f}{nuisance}, RankMe {last['rankme']:.1f}")
        agreement = self.rankme_vs_knn()
        if agreement["spearman"] is not None:
            parts.append(f"RankMe vs kNN over {len(agreement['steps'])} evaluations: "
                         f"Spearman {agreement['spearman']:+.2f}")
        return " | ".join(parts)

    def rankme_vs_knn(self) -> dict:
        """Does the label-free RankMe move with the labelled kNN accuracy during this run (chapter 13)?
        ``{"steps", "rankme", "knn", "spearman"}`` over the run's evaluations; ``spearman`` is None
        before three evaluations or while either one has not moved at all."""
        records = [r for r in self.history if "knn_acc" in r and "rankme" in r]
        pairs = {"steps": [r["step"] for r in records], "rankme": [r["rankme"] for r in records],
                 "knn": [r["knn_acc"] for r in records], "spearman": None}
        try:
            pairs["spearman"] = spearman(pairs["rankme"], pairs["knn"])
        except ValueError:  # fewer than three evaluations, or a constant (or non-finite) one
            pass
        return pairs

    def _set_status(self) -> None:
        if self._widgets is not None:
            self._widgets["status"].value = self.summary()

    def _set_buttons(self) -> None:
        if self._widgets is not None:
            running = self._task is not None
            self._widgets["start"].disabled = running
            self._widgets["stop"].disabled = not running
        self._set_status()

    def _draw(self) -> None:
        if self._widgets is not None and not self._frozen_run:
            self._widgets["image"].value = plots.to_png(self.figure(), dpi=72)
        self._set_status()

    # -- the panel ---------------------------------------------------------------------
    def widget(self):
        """Build (once) and return the panel."""
        if self._widgets is not None:
            return self._widgets["panel"]
        import ipywidgets as w

        augment, recipe = self._controls()
        start = w.Button(description="Start", button_style="success", icon="play")
        stop = w.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        reset = w.Button(description="Reset", icon="refresh")
        clear = w.Button(description="Clear runs", icon="trash", disabled=True,
                         tooltip="forget the kept runs drawn faded in the dashboard")
        status = w.Label(value="press Start to train")
        layer = w.Dropdown(options=self.layers, value=self.layer, description="probe layer",
                           style={"description_width": "120px"}, layout=w.Layout(width="330px"))
        runs = w.HTML(value="")  # the kept runs, as a table
        note = w.HTML(value="")  # set by an autorun: what a static page shows and why its buttons are dead
        note.add_class("cookbook-lab-static-note")
        image = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))  # shown by start()/reset()
        try:  # the loop the panel is shown from: the kernel's main loop
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        start.on_click(self._on_main_loop(lambda: self.start()))
        stop.on_click(self._on_main_loop(lambda: self.stop()))
        reset.on_click(self._on_main_loop(lambda: self.reset()))
        clear.on_click(self._on_main_loop(lambda: self.clear_runs()))
        panel = w.VBox([
            w.HBox([w.VBox([w.HTML("<b>views</b>"), *augment.values()]),
                    w.VBox([w.HTML(f"<b>{self.recipe_name}</b>"), *recipe.values()])]),
            w.HBox([start, stop, reset, clear]), *([layer] if len(self.layers) > 1 else []), note, status, image, runs])
        panel.add_class("cookbook-lab")  # the static book's script finds the panel by it (book/_widgets/lab-static.js)
        self._widgets = dict(panel=panel, augment=augment, recipe=recipe, start=start, stop=stop, reset=reset,
                             layer=layer, clear=clear, status=status, image=image, runs=runs, note=note)
        return panel

    def _on_main_loop(self, action):
        """A button callback that runs ``action`` on the kernel's main loop.

        JupyterLab 4.6 with ipykernel 7 delivers some widget messages on a subshell thread
        (setting "Kernel Comms over subshells"); run there, Start would train on that thread's
        loop and Reset would rebuild the model while another thread trains.
        """
        def callback(_button):
            if self._widgets is not None:  # someone pressed a button: the kernel is live, the static note is moot
                self._widgets["note"].value = ""
            loop = self._loop
            try:
                here = asyncio.get_running_loop()
            except RuntimeError:
                here = None
            if loop is None or loop is here or not loop.is_running():
                action()
            else:
                loop.call_soon_threadsafe(action)
        return callback

    def show(self):
        """Display the panel; in autorun mode, train now and show the final state as a static figure."""
        from IPython.display import Image, display

        panel = self.widget()
        if self.autorun:
            self._widgets["image"].layout.display = "none"  # the static figure below shows it
            display(panel)
            self.finish()
            self._widgets["note"].value = self.static_note()
            display(Image(plots.to_png(self.figure(), dpi=80)))
        else:
            display(panel)
        return None

    def _ipython_display_(self):
        self.show()

    def static_note(self) -> str:
        """What the frame under a static panel is: the committed run it draws, or the run trained when the
        page was executed; and why the buttons of a static page do nothing."""
        if self.committed:
            c = self.committed
            return COMMITTED_NOTE.format(steps=self.trainer.step, command=html.escape(c["command"]),
                                         seconds=c["cpu_seconds"], machine=html.escape(c["machine"]), date=c["date"])
        return STATIC_NOTE.format(steps=self.trainer.step)

    def finish(self, *, committed: bool = True) -> None:
        """A fresh run from the controls, to the end, with only its final frame drawn: no one watches the
        others (an autorun, :meth:`compare`, ``benchmarks/lab_runs.py``). With ``committed``, the book's
        committed run of the controls' settings (:func:`cookbook.book.lab_runs.find`) stands in for the
        training when there is one."""
        self._frozen_run = True
        try:
            layer = self._widgets["layer"].value if self._widgets is not None else self.layer
            record = lab_runs.find(self.recipe, self.config(), layer) if committed else None
            if record is None:
                self.reset()
                self.run()
            else:
                self._load_committed(record)
        finally:
            self._frozen_run = False
        self._set_buttons()

    def _load_committed(self, record: dict) -> None:
        """Hold the committed run ``record`` as the current, finished run, as :meth:`reset` and :meth:`run`
        would leave it: its model rebuilt from the kept weights, its curves and nuisance probes, kept in
        :attr:`runs`. Start trains a fresh run of the controls' settings from there."""
        config, model = self._next_run()
        lab_runs.load_weights(record, model)
        self.trainer = Trainer(model, self.data, config)
        self.trainer.step = config.steps
        self.trainer.history = [dict(r) for r in record["history"]]
        self.nuisance = [dict(r) for r in record["nuisance"]]
        self.timed_steps, self.timed_seconds = 0, 0.0  # its pace was the committing machine's, in the note
        self.committed = record
        self.keep_run()
        self._draw()

    def _panel_state(self) -> list[tuple[object, str, object]]:
        """What the panel shows now: each control's value, the status, the runs table, the note."""
        w = self._widgets
        shown = [(c, "value") for c in (*w["augment"].values(), *w["recipe"].values(), w["layer"], w["status"],
                                        w["runs"], w["note"])]
        return [(widget, name, getattr(widget, name)) for widget, name in [*shown, (w["clear"], "disabled")]]

    def compare(self, **settings) -> None:
        """Train another run with some controls changed (``jitter_strength=0.0``, ``lr=1e-2``: the
        names of :meth:`settings`), keep it beside the earlier ones, and display the dashboard with
        them overlaid and the table of runs. What a reader does with the sliders, Reset and Start,
        as one call for a script or a static page.

        With no one watching (autorun: the book build), the run is the book's committed run of these settings
        when there is one (:meth:`finish`), and the panel above keeps showing the run drawn under it, its
        settings and its status: the static page keeps the panel's last state, and this run has its own
        figure and table, with a line saying which run it is."""
        from IPython.display import HTML, Image, display

        self.widget()
        controls = {**self._widgets["augment"], **self._widgets["recipe"]}
        for name, value in settings.items():
            if name not in controls:
                raise ConfigError(f"the lab has no control {name!r}; its controls are {', '.join(controls)}")
            control = controls[name]
            if hasattr(control, "base"):  # a log slider's min and max are exponents
                low, high = control.base ** control.min, control.base ** control.max
            else:
                low, high = getattr(control, "min", value), getattr(control, "max", value)
            if not low <= value <= high:  # a slider would clamp it silently
                raise ConfigError(f"{name}={value} is outside the lab's range for it, [{low:g}, {high:g}]")
        panel = self._panel_state() if self.autorun else []
        for name, value in settings.items():
            controls[name].value = value
        self.finish(committed=self.autorun)  # a live kernel trains; the static page draws the committed run
        line = f"<p style='font-size:90%'>run {self._run_number}: {html.escape(self.summary())}</p>"
        display(Image(plots.to_png(self.figure(), dpi=80)), HTML(self.runs_table() + line))
        for widget, name, value in panel:
            setattr(widget, name, value)

    def metrics(self) -> dict[str, float]:
        """The latest evaluation record (kNN accuracy, RankMe) and the step it was taken at."""
        last = next((r for r in reversed(self.history) if "knn_acc" in r), None)
        return dict(last) if last else {}


COMMITTED_NOTE = ("<div style='border-left:3px solid #888;padding:2px 8px;font-size:90%'>Below is the final frame "
                  "of the book's committed {steps}-step run of these settings, trained once with this lab's own "
                  "loop ({seconds:.0f} CPU seconds on {machine}, {date}: <code>{command}</code>) and shipped "
                  "with the book, since a run long enough to learn takes longer than a chapter may. On a static page "
                  "the buttons do nothing: no Python runs behind them. Open the chapter in Colab (the rocket button "
                  "at the top) or in a local Jupyter, and Start trains these settings live.</div>")
STATIC_NOTE = ("<div style='border-left:3px solid #888;padding:2px 8px;font-size:90%'>Below is the final frame of a "
               "{steps}-step run, trained when this page was executed (for the HTML book: when the book was "
               "built). On a static page the buttons do nothing: no Python runs behind them. Open the chapter "
               "in Colab (the rocket button at the top) or in a local Jupyter to train live.</div>")


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)
