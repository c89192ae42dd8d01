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
            runs=lambda w: shlex.join(run_dirs(w.dataset)),
            code=code_version("figures"),
        shell:
            "python -m genoflow figures --runs {params.runs} --out-dir $(dirname {output.comparison})"
            " > {log} 2>&1"


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
        distances=" ".join(
            str(config["datasets"][d]["simulate"]["distance"])
            for d in SIMULATED_DATASETS
        ),
        code=code_version("distance_figure"),
    shell:
        "python -m genoflow distance-figure --summaries {input} --distances {params.distances}"
        " --out {output} > {log} 2>&1"


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
        datasets=shlex.join(DATASETS),
        config=shlex.quote(json.dumps(config, sort_keys=True)),
        command=shlex.quote(RERUN_COMMAND),
        workflow_dir=workflow.basedir,
        code=code_version("report"),
        distance=lambda w, input: (
            f"--distance-figure {input.distance[0]}" if input.distance else ""
        ),
    shell:
        "python -m genoflow report --results results --datasets {params.datasets}"
        " --config-json {params.config} --command {params.command}"
        " --workflow-dir {params.workflow_dir} {params.distance} --out {output} > {log} 2>&1"
