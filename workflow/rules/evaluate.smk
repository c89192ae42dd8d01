rule evaluate:
    input:
        "results/{dataset}/{model}/seed{seed}/predictions.tsv",
    output:
        "results/{dataset}/{model}/seed{seed}/metrics.json",
    log:
        "logs/evaluate/{dataset}/{model}/seed{seed}.log",
    conda:
        "../../envs/genoflow.yaml"
    params:
        bootstrap=config["evaluate"]["bootstrap"],
    shell:
        "python -m genoflow evaluate --predictions {input} --out {output}"
        " --bootstrap {params.bootstrap} > {log} 2>&1"


rule summarize:
    input:
        metrics=run_files("metrics.json"),
        info=run_files("train.json"),
    output:
        report(
            "results/{dataset}/summary.tsv",
            caption="../report/summary.rst",
            category="{dataset}",
            subcategory="comparison",
        ),
    log:
        "logs/summarize/{dataset}.log",
    conda:
        "../../envs/genoflow.yaml"
    params:
        runs=lambda w: shlex.join(run_dirs(w.dataset)),
    shell:
        "python -m genoflow summarize --runs {params.runs} --out {output} > {log} 2>&1"
