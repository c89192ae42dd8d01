# evaluate and summarize are light: under a cluster executor they run on the submitting host.
rule evaluate:
    input:
        "results/{dataset}/{model}/seed{seed}/predictions.tsv",
    output:
        "results/{dataset}/{model}/seed{seed}/metrics.json",
    log:
        "logs/evaluate/{dataset}/{model}/seed{seed}.log",
    localrule: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        bootstrap=config["evaluate"]["bootstrap"],
        code=code_version("evaluate"),
    shell:
        "genoflow evaluate --predictions {input:q} --out {output:q}"
        " --bootstrap {params.bootstrap:q} > {log:q} 2>&1"


# The mean of the dataset's neural runs' probabilities or predicted values
# (genoflow/evaluate/ensemble.py; meta.json: a regression's target sd, a forecast's
# transform), a run folder like any other: evaluate, summarize and the figures take it as
# they come.
rule ensemble:
    input:
        predictions=lambda w: [
            f"{run}/predictions.tsv" for run in neural_run_dirs(w.dataset)
        ],
        meta="results/{dataset}/preprocess/meta.json",
    output:
        predictions=f"results/{{dataset}}/{ENSEMBLE}/seed0/predictions.tsv",
        history=f"results/{{dataset}}/{ENSEMBLE}/seed0/history.csv",
        info=f"results/{{dataset}}/{ENSEMBLE}/seed0/train.json",
    log:
        "logs/ensemble/{dataset}.log",
    localrule: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        runs=lambda w: neural_run_dirs(w.dataset),
        out=folder_of("info"),
        data=folder_of("meta", of="input"),
        select_by=config["evaluate"]["select_by"],
        code=code_version("ensemble"),
    shell:
        "genoflow ensemble --runs {params.runs:q} --out {params.out:q}"
        " --data {params.data:q} --select-by {params.select_by:q} > {log:q} 2>&1"


ruleorder: ensemble > train


rule summarize:
    input:
        metrics=run_files("metrics.json"),
        info=run_files("train.json"),
        predictions=run_files("predictions.tsv"),
    output:
        summary=report(
            "results/{dataset}/summary.tsv",
            caption="../report/summary.rst",
            category="{dataset}",
            subcategory="comparison",
        ),
        comparison="results/{dataset}/comparison.json",
    log:
        "logs/summarize/{dataset}.log",
    localrule: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        runs=lambda w: run_dirs(w.dataset),
        bootstrap=config["evaluate"]["bootstrap"],
        select_by=config["evaluate"]["select_by"],
        code=code_version("summarize"),
    shell:
        "genoflow summarize --runs {params.runs:q} --out {output.summary:q}"
        " --bootstrap {params.bootstrap:q} --select-by {params.select_by:q} > {log:q} 2>&1"


rule network:
    input:
        models=lambda w: [
            f"results/{w.dataset}/{m}/seed{s}/model.ckpt"
            for m in neural_models_of(w.dataset)
            for s in SEEDS
        ],
        meta="results/{dataset}/preprocess/meta.json",
        gold=lambda w: config["datasets"][w.dataset].get("gold_standard", []),
        regulators=regulators_file,
    output:
        edges="results/{dataset}/network/edges.tsv",
        regulation="results/{dataset}/network/regulation_edges.tsv",
        ridge="results/{dataset}/network/ridge_edges.tsv",
        ridge_ar1="results/{dataset}/network/ridge_ar1_edges.tsv",
        dyngenie3="results/{dataset}/network/dyngenie3_edges.tsv",
        metrics="results/{dataset}/network/metrics.json",
        heatmap=report(
            "results/{dataset}/figures/network.svg",
            caption="../report/network.rst",
            category="{dataset}",
            subcategory="interpretation",
        ),
    log:
        "logs/network/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(SERIES_DATASETS),
    conda:
        "../../envs/genoflow.yaml"
    threads: config["threads"]
    params:
        gold=lambda w, input: ["--gold-standard", input.gold] if input.gold else [],
        regulators=regulator_args,
        data=folder_of("meta", of="input"),
        out=folder_of("metrics"),
        code=code_version("network"),
    shell:
        "genoflow network --models {input.models:q} --data {params.data:q} {params.gold:q}"
        " {params.regulators:q} --threads {threads}"
        " --out {params.out:q} --figure {output.heatmap:q} > {log:q} 2>&1"
