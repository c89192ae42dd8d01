# Figures and the report are light: under a cluster executor they run on the submitting host.
for task, names in FIGURES.items():

    rule:
        name:
            f"figures_{task}"
        input:
            predictions=run_files("predictions.tsv"),
            history=run_files("history.csv"),
            metrics=run_files("metrics.json"),
            info=run_files("train.json"),
        output:
            **{
                name: report(
                    f"results/{{dataset}}/figures/{name}.svg",
                    caption=f"../report/{name}.rst",
                    category="{dataset}",
                    subcategory="figures",
                )
                for name in names
            },
        log:
            "logs/figures/{dataset}.log",
        wildcard_constraints:
            dataset=one_of(datasets_of(task)),
        localrule: True
        conda:
            "../../envs/genoflow.yaml"
        params:
            runs=lambda w: run_dirs(w.dataset),
            out=folder_of("comparison"),
            code=code_version("figures"),
        shell:
            "genoflow figures --runs {params.runs:q} --out-dir {params.out:q} > {log:q} 2>&1"


# With several simulated datasets (long_range.yaml): test accuracy against motif distance.
rule distance_figure:
    input:
        expand("results/{dataset}/summary.tsv", dataset=SIMULATED_DATASETS),
    output:
        report(
            "results/report/distance.svg",
            caption="../report/distance.rst",
            category="Report",
        ),
    log:
        "logs/distance_figure/distance_figure.log",
    localrule: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        distances=[
            config["datasets"][d]["simulate"]["distance"] for d in SIMULATED_DATASETS
        ],
        code=code_version("distance_figure"),
    shell:
        "genoflow distance-figure --summaries {input:q} --distances {params.distances:q}"
        " --out {output:q} > {log:q} 2>&1"


rule report:
    input:
        summaries=expand("results/{dataset}/summary.tsv", dataset=DATASETS),
        comparisons=expand("results/{dataset}/comparison.json", dataset=DATASETS),
        figures=[path for dataset in DATASETS for path in figure_files(dataset)],
        ingest=expand("results/{dataset}/ingest/summary.json", dataset=DATASETS),
        meta=expand("results/{dataset}/preprocess/meta.json", dataset=DATASETS),
        network=expand(
            "results/{dataset}/network/metrics.json", dataset=NETWORK_DATASETS
        ),
        interpret=expand(
            "results/{dataset}/interpret/summary.json", dataset=INTERPRET_DATASETS
        ),
        distance=["results/report/distance.svg"] if len(SIMULATED_DATASETS) > 1 else [],
        tuning=[table for dataset in DATASETS for table in tuning_tables(dataset)]
        + [f"results/{d}/figures/tuning.svg" for d in DATASETS if tuned_models(d)],
    output:
        report(
            "results/report/index.html",
            caption="../report/index.rst",
            category="Report",
        ),
    log:
        "logs/report/report.log",
    localrule: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        datasets=DATASETS,
        config=json.dumps(config, sort_keys=True),
        command=RERUN_COMMAND,
        workflow_dir=str(ROOT),
        code=code_version("report"),
        distance=lambda w, input: (
            ["--distance-figure", input.distance[0]] if input.distance else []
        ),
    shell:
        "genoflow report --results results --datasets {params.datasets:q}"
        " --config-json {params.config:q} --command {params.command:q}"
        " --workflow-dir {params.workflow_dir:q} {params.distance:q} --out {output:q}"
        " > {log:q} 2>&1"
