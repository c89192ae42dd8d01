"""Results: evaluate, summarize, figures, report, the distance figure, interpret."""

from __future__ import annotations

import argparse
from pathlib import Path

from genoflow.commands.common import json_object, select_by_option
from genoflow.errors import InputError
from genoflow.progress import log


def cmd_evaluate(args: argparse.Namespace) -> None:
    from genoflow.evaluate.metrics import evaluate
    from genoflow.registry import METRICS_BY_TASK

    result = evaluate(args.predictions, args.out, n_boot=args.bootstrap, seed=args.seed)
    main_metric = METRICS_BY_TASK[result["task"]][0]
    interval = result.get("ci95", {}).get(main_metric)
    log().info(f"{main_metric} {result[main_metric]:.4f} (95% CI {interval})")


def evaluate_parser(commands) -> None:
    p = commands.add_parser("evaluate", help="predictions.tsv -> metrics.json with bootstrap CIs")
    p.add_argument("--predictions", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_evaluate)


def cmd_summarize(args: argparse.Namespace) -> None:
    from genoflow.evaluate.summarize import summarize

    table = summarize(
        args.runs, args.out, n_boot=args.bootstrap, seed=args.seed, criterion=args.select_by
    )
    log().info("summary:\n%s", table.to_string(index=False, max_cols=8))


def summarize_parser(commands) -> None:
    p = commands.add_parser(
        "summarize", help="run folders -> summary.tsv, and comparison.json (best vs runner-up)"
    )
    p.add_argument("--runs", nargs="+", required=True, help="run folders with metrics/train.json")
    p.add_argument("--out", required=True)
    p.add_argument("--bootstrap", type=int, default=1000, help="paired bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    select_by_option(p)
    p.set_defaults(func=cmd_summarize)


def cmd_figures(args: argparse.Namespace) -> None:
    from genoflow.report.figures import write_figures

    paths = write_figures([Path(p) for p in args.runs], Path(args.out_dir))
    log().info(f"wrote {len(paths)} figures to {args.out_dir}: {', '.join(p.name for p in paths)}")


def figures_parser(commands) -> None:
    p = commands.add_parser("figures", help="run folders -> the SVG figures of their task")
    p.add_argument("--runs", nargs="+", required=True, help="run folders of one dataset")
    p.add_argument("--out-dir", required=True, help="folder for the SVG figures")
    p.set_defaults(func=cmd_figures)


def cmd_report(args: argparse.Namespace) -> None:
    from genoflow.report.html import write_report

    out = write_report(
        args.results,
        args.datasets,
        args.out,
        config=args.config_json,
        command=args.run_command,
        workflow_dir=args.workflow_dir,
        distance_figure=args.distance_figure,
    )
    log().info(f"wrote {out}")


def report_parser(commands) -> None:
    p = commands.add_parser("report", help="results -> one self-contained HTML report")
    p.add_argument("--results", required=True, help="results folder (holds one folder per dataset)")
    p.add_argument("--datasets", nargs="+", required=True, help="dataset names, in page order")
    p.add_argument(
        "--config-json",
        type=json_object,
        default={},
        help="the workflow config as a JSON object, shown in the provenance section",
    )
    # dest differs from the flag: `command` already holds the subcommand's name.
    p.add_argument(
        "--command", dest="run_command", default="", help="the command that produced the results"
    )
    p.add_argument("--workflow-dir", default=".", help="folder whose git commit is recorded")
    p.add_argument("--distance-figure", help="SVG of accuracy against motif distance, if any")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.set_defaults(func=cmd_report)


def cmd_distance_figure(args: argparse.Namespace) -> None:
    from genoflow.report.figures.comparison import write_distance_figure

    if len(args.summaries) != len(args.distances):
        raise InputError(None, "give one --distances entry per --summaries file")
    write_distance_figure(
        dict(zip(args.distances, map(Path, args.summaries), strict=True)), Path(args.out)
    )
    log().info(f"wrote {args.out}")


def distance_figure_parser(commands) -> None:
    p = commands.add_parser(
        "distance-figure", help="summary.tsv of simulated datasets -> accuracy vs distance SVG"
    )
    p.add_argument("--summaries", nargs="+", required=True, help="summary.tsv per dataset")
    p.add_argument("--distances", nargs="+", type=int, required=True, help="motif distance of each")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_distance_figure)


def cmd_interpret(args: argparse.Namespace) -> None:
    from genoflow.evaluate.interpret import best_run, interpret
    from genoflow.report.figures.interpretation import write_interpretation_figures

    run = best_run([Path(p) for p in args.runs], args.select_by)
    summary = interpret(run, args.data, args.out, max_records=args.records)
    figures_dir = Path(args.figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    for figure in write_interpretation_figures(Path(args.out)):
        figure.replace(figures_dir / figure.name)  # beside the dataset's other figures
    log().info(f"interpreted {summary['model']} on {summary['records']} test records")


def interpret_parser(commands) -> None:
    p = commands.add_parser(
        "interpret", help="ISM, saliency and attention of the best classifier's test records"
    )
    p.add_argument("--runs", nargs="+", required=True, help="run folders; the best neural one")
    p.add_argument("--data", required=True, help="folder written by `genoflow preprocess`")
    p.add_argument("--out", required=True, help="folder for the arrays and summary.json")
    p.add_argument("--figures-dir", required=True, help="folder for logo.svg and maps.svg")
    p.add_argument("--records", type=int, default=300, help="test records to explain, at most")
    select_by_option(p)
    p.set_defaults(func=cmd_interpret)
