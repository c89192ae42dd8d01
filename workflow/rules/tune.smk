# Hyperparameter search (config `tune:`): one job per trial, trained once on the train split
# and scored on the validation split only (`--no-test`: no test predictions, no model.ckpt);
# tune_select ranks the trials, and rule train retrains the selected settings per seed.
rule tune_trial:
    input:
        unpack(preprocessed),
    output:
        history="results/{dataset}/tune/{model}/trial{trial}/history.csv",
        info="results/{dataset}/tune/{model}/trial{trial}/train.json",
    log:
        "logs/tune/{dataset}/{model}/trial{trial}.log",
    benchmark:
        "benchmarks/tune/{dataset}/{model}/trial{trial}.tsv"
    wildcard_constraints:
        trial=r"\d+",
    conda:
        "../../envs/genoflow.yaml"
    threads: config["threads"]
    params:
        settings=trial_settings,
        data=folder_of("meta", of="input"),
        out=folder_of("info"),
        seed=TUNE["seed"],
        code=code_version("train"),
    shell:
        "genoflow train --data {params.data:q} --out {params.out:q} --model {wildcards.model:q}"
        " --settings {params.settings:q} --seed {params.seed:q} --no-test"
        " --threads {threads} > {log:q} 2>&1"


rule tune_select:
    input:
        lambda w: [f"{folder}/train.json" for folder in trial_dirs(w)],
    output:
        trials="results/{dataset}/tune/{model}/trials.tsv",
        selected="results/{dataset}/tune/{model}/selected.json",
        study="results/{dataset}/tune/{model}/study.jsonl",
    log:
        "logs/tune_select/{dataset}/{model}.log",
    localrule: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        trials=trial_dirs,
        space=lambda w: json.dumps(TUNE["models"][w.model], sort_keys=True),
        out=folder_of("selected"),
        select_by=config["evaluate"]["select_by"],
        code=code_version("tune_select"),
    shell:
        "genoflow tune-select --trials {params.trials:q} --space {params.space:q}"
        " --out-dir {params.out:q} --select-by {params.select_by:q} > {log:q} 2>&1"


rule tuning_figure:
    input:
        lambda w: tuning_tables(w.dataset),
    output:
        report(
            "results/{dataset}/figures/tuning.svg",
            caption="../report/tuning.rst",
            category="{dataset}",
            subcategory="tuning",
        ),
    log:
        "logs/tuning_figure/{dataset}.log",
    localrule: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        code=code_version("tuning_figure"),
    shell:
        "genoflow tuning-figure --trials {input:q} --out {output:q} > {log:q} 2>&1"
