"""Training: train, tune-select, the tuning figure, the ensemble row."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genoflow.commands.common import json_object, select_by_option, settings_option
from genoflow.progress import log
from genoflow.registry import MODEL_TASKS


def cmd_train(args: argparse.Namespace) -> None:
    name = args.model or args.type
    if args.type == "window_logreg":
        from genoflow.evaluate.baselines import train_window_baseline

        info = train_window_baseline(
            args.data, args.out, model_name=name, seed=args.seed, **args.model_args
        )
    elif args.type in ("kmer_logreg", "kmer_ridge"):
        from genoflow.evaluate.baselines import train_kmer_baseline

        info = train_kmer_baseline(
            args.data,
            args.out,
            model_name=name,
            model_type=args.type,
            seed=args.seed,
            **args.model_args,
        )
    elif args.type in ("persistence", "ridge_ar"):
        from genoflow.evaluate.forecast import train_baseline

        info = train_baseline(
            args.data, args.out, model_name=name, model_type=args.type, seed=args.seed
        )
    else:
        from genoflow.tasks.train import TrainConfig, train

        settings, tuned = {"model_args": args.model_args, "train": args.train}, None
        if args.tuned:  # the configuration tune-select chose, over the model's own
            from genoflow.tune import tuned_settings

            settings = tuned_settings(settings, args.tuned)
            tuned = settings["tuned"]
        info = train(
            args.data,
            args.out,
            model_name=name,
            model_type=args.type,
            model_args=dict(settings["model_args"]),
            train_config=TrainConfig.from_dict(settings["train"]),
            seed=args.seed,
            threads=args.threads,
            test=not args.no_test,
            tuned=tuned,
        )
    if not info:
        return  # a DDP worker process: the first process reports
    log().info(f"trained {info['model']} seed {info['seed']}: {info['params']} parameters")
    log().info(f"training took {info['train_seconds']} s")


def train_parser(commands) -> None:
    p = commands.add_parser("train", help="train one model with one seed; predict the test split")
    p.add_argument("--data", required=True, help="folder written by `genoflow preprocess`")
    p.add_argument("--out", required=True, help="run folder (model.ckpt, history.csv, ...)")
    p.add_argument("--type", required=True, choices=list(MODEL_TASKS))
    p.add_argument("--model", help="name of the model (default: its type)")
    p.add_argument(
        "--model-args",
        type=json_object,
        default={},
        help="JSON object of the model's keyword arguments, e.g. '{\"hidden\": 64}'",
    )
    p.add_argument(
        "--train",
        type=json_object,
        default={},
        help="JSON object of training options (the config's train: section)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument(
        "--tuned",
        metavar="SELECTED_JSON",
        help="neural models: set the parameters of the trial `genoflow tune-select` chose",
    )
    p.add_argument(
        "--no-test",
        action="store_true",
        help="a tuning trial: write history.csv and train.json only; never touch the test split",
    )
    settings_option(p)
    p.set_defaults(func=cmd_train)


def cmd_tune_select(args: argparse.Namespace) -> None:
    from genoflow.tune import select

    selected = select(args.trials, args.space, args.out_dir, args.select_by)
    log().info(
        f"selected trial {selected['trial']} of {selected['trials']} on {args.select_by}"
        f" {selected['val_loss']:.4g}: {json.dumps(selected['params'], sort_keys=True)}"
    )


def tune_select_parser(commands) -> None:
    p = commands.add_parser(
        "tune-select",
        help="tuning trials -> trials.tsv, selected.json (by validation loss) and an Optuna study",
    )
    p.add_argument("--trials", nargs="+", required=True, help="trial folders (trial<n>/train.json)")
    p.add_argument("--space", type=json_object, required=True, help="the search space (JSON)")
    p.add_argument("--out-dir", required=True)
    select_by_option(p)
    p.set_defaults(func=cmd_tune_select)


def cmd_tuning_figure(args: argparse.Namespace) -> None:
    from genoflow.report.figures.tuning import write_tuning_figure

    write_tuning_figure(list(map(Path, args.trials)), Path(args.out))
    log().info(f"wrote {args.out}")


def tuning_figure_parser(commands) -> None:
    p = commands.add_parser("tuning-figure", help="trials.tsv of a dataset -> validation loss SVG")
    p.add_argument("--trials", nargs="+", required=True, help="trials.tsv per tuned model")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_tuning_figure)


def cmd_ensemble(args: argparse.Namespace) -> None:
    from genoflow.evaluate.ensemble import ensemble

    info = ensemble(args.runs, args.out, args.select_by, args.data)
    loss = info["best_val_loss"]
    log().info(f"ensemble of {len(info['members'])} of {len(args.runs)} runs: {info['members']}")
    log().info(f"chosen on validation (loss {loss})" if loss is not None else "no validation loss")


def ensemble_parser(commands) -> None:
    p = commands.add_parser(
        "ensemble",
        help="neural runs of a classification (sequences or residues), multilabel, regression"
        " or forecasting dataset -> their mean probabilities (predicted values)",
    )
    p.add_argument("--runs", nargs="+", required=True, help="run folders (predictions.tsv)")
    p.add_argument("--out", required=True, help="the ensemble's run folder")
    p.add_argument(
        "--data",
        help="the dataset's preprocess folder (meta.json: a regression's target sd, a forecast's"
        " transform)",
    )
    select_by_option(p)
    p.set_defaults(func=cmd_ensemble)
