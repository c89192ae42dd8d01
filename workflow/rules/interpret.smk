# Why the best classifier (by validation loss) decides: in-silico mutagenesis, saliency and
# (Transformer) attention on its test records; the figures join the dataset's other figures.
rule interpret:
    input:
        models=lambda w: [f"{run}/model.ckpt" for run in neural_run_dirs(w.dataset)],
        info=lambda w: [f"{run}/train.json" for run in neural_run_dirs(w.dataset)],
        meta="results/{dataset}/preprocess/meta.json",
    output:
        summary="results/{dataset}/interpret/summary.json",
        logo=report(
            "results/{dataset}/figures/logo.svg",
            caption="../report/logo.rst",
            category="{dataset}",
            subcategory="interpretation",
        ),
        maps=report(
            "results/{dataset}/figures/maps.svg",
            caption="../report/maps.rst",
            category="{dataset}",
            subcategory="interpretation",
        ),
    log:
        "logs/interpret/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(INTERPRET_DATASETS),
    conda:
        "../../envs/genoflow.yaml"
    params:
        runs=lambda w: shlex.join(neural_run_dirs(w.dataset)),
        records=config["interpret"]["records"],
        code=code_version("interpret"),
    shell:
        "python -m genoflow interpret --runs {params.runs} --data $(dirname {input.meta})"
        " --out $(dirname {output.summary}) --figures-dir $(dirname {output.logo})"
        " --records {params.records} > {log} 2>&1"
