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
        "python -m genoflow evaluate --predictions {input} --out {output}"
        " --bootstrap {params.bootstrap} > {log} 2>&1"


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
        runs=lambda w: shlex.join(run_dirs(w.dataset)),
        bootstrap=config["evaluate"]["bootstrap"],
        code=code_version("summarize"),
    shell:
        "python -m genoflow summarize --runs {params.runs} --out {output.summary}"
        " --bootstrap {params.bootstrap} > {log} 2>&1"


rule network:
    input:
        models=lambda w: [
            f"results/{w.dataset}/{m}/seed{s}/model.ckpt"
            for m in neural_models_of(w.dataset)
            for s in SEEDS
        ],
        meta="results/{dataset}/preprocess/meta.json",
        gold=lambda w: config["datasets"][w.dataset].get("gold_standard", []),
    output:
        edges="results/{dataset}/network/edges.tsv",
        ridge="results/{dataset}/network/ridge_edges.tsv",
        ridge_ar1="results/{dataset}/network/ridge_ar1_edges.tsv",
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
    params:
        gold=lambda w, input: f"--gold-standard {input.gold}" if input.gold else "",
        code=code_version("network"),
    shell:
        "python -m genoflow network --models {input.models} --data $(dirname {input.meta})"
        " {params.gold} --out $(dirname {output.metrics}) --figure {output.heatmap} > {log} 2>&1"
