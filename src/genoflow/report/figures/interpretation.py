"""Why the models decide: mutagenesis logos and per-record maps of the best classifier, and the
gene-interaction heatmap of the forecasters."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from genoflow.formats.files import load_array, read_json
from genoflow.registry import (
    INTERPRETATION_FIGURES,
)
from genoflow.report.figures.style import (
    STYLE,
    message_figure,
    natural_key,
    save_figure,
)

# Nucleotides in the usual logo colours; residues by chemistry (acidic, basic, polar, other).
LETTER_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839", "U": "#D62839"}


RESIDUE_GROUPS = (("DE", "#D62839"), ("KRH", "#255C99"), ("STNQCGY", "#109648"))


MAX_MAPS = 4  # records drawn in maps.svg


LOGO_FLOOR = 0.01  # letters below this share of the largest height are not drawn


def write_interpretation_figures(interpret_dir: Path) -> list[Path]:
    """logo.svg (per class, the aggregate ISM logo of correctly classified test records; a note
    when lengths vary) and maps.svg (ISM, saliency and attention of a few test records), from
    the files `genoflow interpret` wrote to `interpret_dir`."""
    interpret_dir = Path(interpret_dir)
    summary = read_json(interpret_dir / "summary.json")
    records = pd.read_csv(interpret_dir / "records.tsv", sep="\t", dtype={"id": str})
    arrays = {
        name: load_array(interpret_dir / f"{name}.npy")
        for name in ("ism", "saliency", "attention")
        if (interpret_dir / f"{name}.npy").is_file()
    }
    drawers = {
        "logo": lambda: logo_figure(summary),
        "maps": lambda: maps_figure(summary, records, arrays),
    }
    written = []
    with matplotlib.rc_context(STYLE):
        for name in INTERPRETATION_FIGURES:
            path = interpret_dir / f"{name}.svg"
            save_figure(drawers[name](), path, title=f"{name} ({summary['model']})")
            written.append(path)
    return written


def _letter_colour(letter: str) -> str:
    if letter in LETTER_COLOURS:
        return LETTER_COLOURS[letter]
    for members, colour in RESIDUE_GROUPS:
        if letter in members:
            return colour
    return "#333333"


def logo_figure(summary: dict) -> Figure:
    logos = summary["logos"]
    if not logos:
        why = (
            "lengths vary, so positions do not align"
            if not summary["fixed_length"]
            else ("no class has a correctly classified test record")
        )
        return message_figure(f"No aggregate logo: {why}. See the per-record maps.")
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    font = FontProperties(family="DejaVu Sans", weight="bold")
    glyphs = {letter: TextPath((0, 0), letter, size=1, prop=font) for letter in summary["letters"]}
    width = len(next(iter(logos.values())))
    figure = Figure(
        figsize=(min(12, 2 + 0.14 * width), 1.5 * len(logos) + 0.4), layout="constrained"
    )
    axes = figure.subplots(len(logos), 1, squeeze=False, sharex=True).ravel()
    for ax, (name, matrix) in zip(axes, logos.items(), strict=True):
        matrix = np.asarray(matrix)
        floor = LOGO_FLOOR * max(np.abs(matrix).max(), 1e-12)
        for position, heights in enumerate(matrix, start=1):
            up = down = 0.0
            for k in np.argsort(np.abs(heights)):
                height = heights[k]
                if abs(height) < floor:
                    continue
                base = up if height > 0 else down - abs(height)
                _glyph(
                    ax,
                    glyphs[summary["letters"][k]],
                    position,
                    base,
                    abs(height),
                    _letter_colour(summary["letters"][k]),
                )
                up, down = (up + height, down) if height > 0 else (up, down + height)
        top = max(matrix.clip(min=0).sum(axis=1).max(), 1e-6)
        bottom = min(matrix.clip(max=0).sum(axis=1).min(), 0)
        ax.set_ylim(bottom * 1.05, top * 1.1)
        ax.set_xlim(0.4, width + 0.6)
        ax.axhline(0, color="#999999", linewidth=0.5)
        ax.set_ylabel("Δ log p")
        title = f"{name}: ISM logo of correctly classified test records ({summary['model']})"
        ax.set_title(title, loc="left")
    axes[-1].set_xlabel("Position")
    return figure


def _glyph(ax, path, x: float, y: float, height: float, colour: str) -> None:
    """A letter glyph stretched to a cell of width 0.9 centred on x, from y up by height."""
    from matplotlib.patches import PathPatch
    from matplotlib.transforms import Affine2D

    box = path.get_extents()
    transform = (
        Affine2D()
        .translate(-box.x0, -box.y0)
        .scale(0.9 / box.width, height / box.height)
        .translate(x - 0.45, y)
    )
    ax.add_patch(PathPatch(transform.transform_path(path), facecolor=colour, edgecolor="none"))


def maps_figure(summary: dict, records: pd.DataFrame, arrays: dict) -> Figure:
    """Per record (one correctly classified record per class first): the ISM change of every
    letter at every position as a heatmap, with saliency and attention as tracks below."""
    correct = records.index[records["label"] == records["predicted"]]
    chosen = list(records.loc[correct].groupby("label").head(1).index)
    chosen += [i for i in correct if i not in chosen]
    chosen = chosen[:MAX_MAPS]
    if not chosen:
        return message_figure("No correctly classified test record to show.")
    tracks = [name for name in ("saliency", "attention") if name in arrays]
    letters = summary["letters"]
    height_ratios = [len(letters) / 4 + 0.6, *[0.7] * len(tracks)] * len(chosen)
    figure = Figure(figsize=(9, 0.55 * sum(height_ratios) + 0.6), layout="constrained")
    axes = figure.subplots(len(height_ratios), 1, height_ratios=height_ratios, squeeze=False)
    axes = axes.ravel()
    for n, row in enumerate(chosen):
        record = records.loc[row]
        length = int(record["length"])
        ism = arrays["ism"][row, :length].T  # (letters, length)
        limit = max(np.nanmax(np.abs(ism)), 1e-6)
        panels = axes[n * (1 + len(tracks)) : (n + 1) * (1 + len(tracks))]
        image = panels[0].imshow(
            ism,
            aspect="auto",
            cmap="RdBu",
            vmin=-limit,
            vmax=limit,
            interpolation="nearest",
            extent=(0.5, length + 0.5, len(letters) - 0.5, -0.5),
        )
        panels[0].set_yticks(
            range(len(letters)), list(letters), fontsize=6 if len(letters) > 4 else 8
        )
        panels[0].set_title(
            f"{record['id']} (class {record['label']}): ISM, change in log p of the class",
            loc="left",
        )
        figure.colorbar(image, ax=panels[0], fraction=0.02, pad=0.01)
        for ax, name in zip(panels[1:], tracks, strict=True):
            values = arrays[name][row, :length]
            ax.fill_between(np.arange(1, length + 1), values, step="mid", color="#0072B2", lw=0)
            ax.set_xlim(0.5, length + 0.5)
            ax.set_ylabel(name, fontsize=7)
            ax.tick_params(labelsize=6)
        panels[-1].set_xlabel("Position")
    return figure


def write_network_heatmap(edges: Path, out: Path, gold: pd.DataFrame | None = None) -> Path:
    """The neural gene-interaction ranking as a regulator × target heatmap (score of each
    directed pair; the diagonal, never scored, left blank), known edges of the gold standard
    outlined."""
    table = pd.read_csv(edges, sep="\t", dtype={"regulator": str, "target": str})
    genes = sorted(set(table["regulator"]) | set(table["target"]), key=natural_key)
    index = {gene: i for i, gene in enumerate(genes)}
    scores = np.full((len(genes), len(genes)), np.nan)
    scores[table["regulator"].map(index), table["target"].map(index)] = table["score"]
    size = min(9.0, 2.2 + 0.32 * len(genes))
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(size + 1.0, size), layout="constrained")
        ax = figure.subplots()
        image = ax.imshow(scores, cmap="viridis", interpolation="nearest")
        figure.colorbar(image, ax=ax, fraction=0.04, label="edge score (rank ensemble)")
        if gold is not None:
            known = gold[gold["edge"] == 1]
            rows, columns = known["regulator"].map(index), known["target"].map(index)
            ax.scatter(
                columns,
                rows,
                s=90,
                facecolors="none",
                edgecolors="#D55E00",
                linewidths=1.2,
                label="known edge (gold standard)",
            )
            ax.legend(loc="upper left", bbox_to_anchor=(0, -0.08), frameon=False, fontsize=7)
        labelled = len(genes) <= 40  # beyond that, names would overlap
        ax.set_xticks(range(len(genes)), genes if labelled else [], rotation=90)
        ax.set_yticks(range(len(genes)), genes if labelled else [])
        ax.set_xlabel("Target gene")
        ax.set_ylabel("Regulator gene")
        ax.set_title("Gene interactions ranked by the neural forecasters", loc="left")
        save_figure(figure, Path(out), title="network")
    return Path(out)
