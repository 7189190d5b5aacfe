"""A sweep a reader can scrub without a kernel: sliders over the swept settings, and that run's curves.

``show(sweep)`` displays, for a sweep loaded with :func:`cookbook.book.report.load_sweep`, one slider
per swept setting (or one over the runs, when the points are not a full grid) and, for the run the
sliders select, its training loss, kNN accuracy and RankMe against the step and the
singular-value spectrum of its final features, every other run of the sweep drawn in light grey
behind it. The kNN and RankMe curves start at step 0 with the untrained network (a sweep that
evaluates only at its end still draws a line, not one lone point), and each evaluation is
marked. The kNN, RankMe and spectrum axes span all runs, so moving a slider moves the curve, not
the axes; the loss axis follows the selected run, since losses of different settings need not share
a scale (VICReg's grows with its output size) and a shared axis would flatten every curve but one.
It is one piece of HTML with its data and a few lines of JavaScript that draw SVG: no kernel, no
widget library and no CDN, so the same output works in the static HTML book, JupyterLab and Colab.
"""
from __future__ import annotations

import html
import itertools
import json
from typing import Any

from cookbook.book import report

# Curves the viewer draws: (the key in a run's history, the panel's title).
CURVES = (("loss", "training loss"), ("knn_acc", "kNN accuracy"), ("rankme", "RankMe"))


def controls_of(sweep: dict[str, Any]) -> tuple[list[dict], list[list[int]]]:
    """The sliders and each point's position on them: one slider per setting that varies across
    the points (a setting a point does not name takes the sweep's base value) when the points are
    every combination of those values once; otherwise one slider over the points themselves."""
    points, base = sweep["points"], sweep.get("base_config", {})
    names = sorted({name for p in points for name in p["settings"]})
    full = [{**{n: base.get(n) for n in names}, **p["settings"],
             **({"seed": p["seed"]} if p.get("seed") is not None else {})}
            for p in points]
    varying = [n for n in (names + ["seed"]) if len({json.dumps(f.get(n)) for f in full}) > 1]
    values = {n: sorted({f.get(n) for f in full}, key=lambda v: (v is None, v)) for n in varying}
    combinations = {tuple(f.get(n) for n in varying) for f in full}
    grid = varying and len(combinations) == len(points) == len(list(itertools.product(*values.values())))
    if not grid:
        return [{"name": "run", "values": [p["label"] for p in points]}], [[i] for i in range(len(points))]
    controls = [{"name": n, "values": values[n]} for n in varying]
    return controls, [[values[n].index(f.get(n)) for n in varying] for f in full]


def _curve(point: dict[str, Any], key: str) -> list[list[float]]:
    """A run's ``[step, value]`` records of ``key``; for a measure of the features (kNN, RankMe) the untrained
    network's value first, at step 0, when the history does not start there: a run evaluated only at its end
    then draws a line from where it started, not a lone point on a one-step axis."""
    series = [[r["step"], r[key]] for r in point.get("history", []) if key in r]
    start = point.get("before", {}).get(key)
    if key != "loss" and start is not None and not (series and series[0][0] == 0):
        series.insert(0, [0, start])
    return series


def viewer_html(sweep: dict[str, Any], element_id: str | None = None) -> str:
    """The viewer as self-contained HTML (see the module docstring)."""
    controls, positions = controls_of(sweep)
    runs = []
    for point, position in zip(sweep["points"], positions):
        runs.append({"label": point["label"], "at": position, "spectrum": point.get("spectrum", []),
                     "knn": point["after"]["knn_acc"], "knn_before": point["before"]["knn_acc"],
                     "rankme": point["after"]["rankme"], "dim": point["after"].get("dim"),
                     "seconds": point.get("seconds"), "steps": point["after"].get("step"),
                     "nuisance": report.nuisance_scores(point["after"]),
                     "curves": {key: _curve(point, key) for key, _ in CURVES}})
    data = {"title": f"{sweep['recipe']} sweep {sweep['sweep']!r}: {len(runs)} runs", "controls": controls,
            "runs": runs, "curves": CURVES, "command": sweep.get("command", "")}
    element_id = element_id or f"sweep-{sweep['sweep']}".replace(" ", "-")
    payload = json.dumps(data).replace("</", "<\\/")  # no "</script>" can end the script early
    return (f'<div class="cookbook-sweep-viewer" id="{html.escape(element_id)}" '
            f'style="font-family:sans-serif;font-size:13px;max-width:900px">'
            f'<div class="sv-title" style="font-weight:bold"></div><div class="sv-controls"></div>'
            f'<div class="sv-readout" style="margin:4px 0"></div><svg class="sv-figure" width="100%" '
            f'viewBox="0 0 880 220" role="img" aria-label="the selected run"></svg>'
            f'<div style="color:#666;font-size:11px">grey: the other runs of the sweep; '
            f'{html.escape(data["command"])}</div></div>'
            f'<script>({_SCRIPT})(document.getElementById({json.dumps(element_id)}), {payload});</script>')


def show(sweep: dict[str, Any], element_id: str | None = None) -> None:
    """Display the viewer of ``sweep`` in a notebook."""
    from IPython.display import HTML, display

    display(HTML(viewer_html(sweep, element_id)))


# Draws into the viewer's <svg>: four panels, every run in grey, the selected run in colour, its
# evaluations (kNN, RankMe) marked. The axes span all runs, so moving a slider moves the curve, not the
# axes; the loss's axis alone follows the selected run (the other runs' losses are clipped to it).
_SCRIPT = r"""
function (root, data) {
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  const NS = "http://www.w3.org/2000/svg", svg = root.querySelector(".sv-figure");
  root.querySelector(".sv-title").textContent = data.title;
  const format = (v) => typeof v === "number" ? String(Number(v.toPrecision(3))) : String(v);
  const chosen = data.controls.map(() => 0);
  const readouts = data.controls.map((control, i) => {
    const row = document.createElement("label");
    row.style.display = "block";
    const name = document.createElement("span");
    name.textContent = control.name.replace(/^augment\./, "views: ") + " ";  // augment.x is a setting of the views
    name.style.display = "inline-block"; name.style.minWidth = "170px";
    const slider = document.createElement("input");
    Object.assign(slider, {type: "range", min: 0, max: control.values.length - 1, step: 1, value: 0});
    slider.setAttribute("aria-label", control.name);
    slider.style.width = "260px"; slider.style.verticalAlign = "middle";
    const value = document.createElement("span");
    value.className = "sv-value"; value.style.marginLeft = "8px";
    slider.addEventListener("input", () => { chosen[i] = Number(slider.value); draw(); });
    row.append(name, slider, value);
    root.querySelector(".sv-controls").append(row);
    return value;
  });
  const panels = data.curves.map(([key, title]) => ({key, title, log: false, own: key === "loss"}))
    .concat([{key: "spectrum", title: "singular values / largest", log: true}]);
  const seriesOf = (run, panel) => panel.key === "spectrum"
    ? run.spectrum.map((v, i) => [i + 1, Math.log10(Math.max(v, 1e-6))]) : run.curves[panel.key];
  function element(tag, attributes, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  }
  function draw() {
    data.controls.forEach((control, i) => { readouts[i].textContent = format(control.values[chosen[i]]); });
    const run = data.runs.find((r) => r.at.every((v, i) => v === chosen[i]));
    svg.replaceChildren();
    panels.forEach((panel, p) => {
      const x0 = 10 + p * 218, y0 = 20, w = 170, h = 160, left = x0 + 38;
      const all = data.runs.flatMap((r) => seriesOf(r, panel));
      if (!all.length) return;
      const mine = run && panel.own ? seriesOf(run, panel) : [];
      const xs = all.map((q) => q[0]), ys = (mine.length ? mine : all).map((q) => q[1]);
      const [xmin, xmax, ymin, ymax] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
      const sx = (x) => left + (w * (x - xmin)) / ((xmax - xmin) || 1);
      const sy = (y) => y0 + h - (h * (y - ymin)) / ((ymax - ymin) || 1);
      element("text", {x: left + w / 2, y: 12, "text-anchor": "middle", "font-size": 12},
              panel.title + (mine.length ? " (this run's axis)" : ""));
      element("rect", {x: left, y: y0, width: w, height: h, fill: "none", stroke: "#999"});
      const tick = (y) => panel.log ? "1e" + format(y) : format(y);
      element("text", {x: left - 3, y: y0 + 9, "text-anchor": "end", "font-size": 10}, tick(ymax));
      element("text", {x: left - 3, y: y0 + h, "text-anchor": "end", "font-size": 10}, tick(ymin));
      element("text", {x: left, y: y0 + h + 13, "font-size": 10}, format(xmin));
      element("text", {x: left + w, y: y0 + h + 13, "text-anchor": "end", "font-size": 10},
              format(xmax) + (panel.key === "spectrum" ? " (index)" : " (step)"));
      const clip = root.id + "-clip-" + p;
      const box = document.createElementNS(NS, "rect");  // what a line draws outside the frame is cut off
      Object.entries({x: left, y: y0, width: w, height: h}).forEach(([k, v]) => box.setAttribute(k, v));
      element("clipPath", {id: clip}).append(box);
      const line = (series, colour, width) => series.length && element("polyline", {
        points: series.map(([x, y]) => sx(x).toFixed(1) + "," + sy(y).toFixed(1)).join(" "),
        fill: "none", stroke: colour, "stroke-width": width, "clip-path": "url(#" + clip + ")"});
      data.runs.forEach((r) => { if (r !== run) line(seriesOf(r, panel), "#d0d0d0", 1); });
      if (run) {
        const colour = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"][p], series = seriesOf(run, panel);
        line(series, colour, 2);
        if (panel.key !== "spectrum" && panel.key !== "loss") series.forEach(([x, y]) => element("circle", {
          cx: sx(x).toFixed(1), cy: sy(y).toFixed(1), r: 2.5, fill: colour}));
      }
    });
    root.querySelector(".sv-readout").textContent = run
      ? run.label + ": kNN " + (100 * run.knn).toFixed(1) + "% (" + (100 * run.knn_before).toFixed(1) +
        "% before training), RankMe " + run.rankme.toFixed(1) + (run.dim ? " / " + run.dim : "") +
        ", " + run.steps + " steps" + (run.seconds ? ", trained in " + run.seconds + " s" : "") +
        Object.entries(run.nuisance || {}).map(([name, v], i) => (i ? ", " : " | kNN on nuisances: ") + name + " " +
                                                (100 * v).toFixed(0) + "%").join("")
      : "no run of this sweep has these settings";
  }
  draw();
}
"""
