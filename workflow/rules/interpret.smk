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
        runs=lambda w: neural_run_dirs(w.dataset),
        records=config["interpret"]["records"],
        data=folder_of("meta", of="input"),
        out=folder_of("summary"),
        figures=folder_of("logo"),
        select_by=config["evaluate"]["select_by"],
        code=code_version("interpret"),
    shell:
        "genoflow interpret --runs {params.runs:q} --data {params.data:q} --out {params.out:q}"
        " --figures-dir {params.figures:q} --records {params.records:q}"
        " --select-by {params.select_by:q} > {log:q} 2>&1"
