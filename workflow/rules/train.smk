# One job per (dataset, model, seed). Lightning's resumable checkpoints go to
# results/{dataset}/{model}/seed{seed}/checkpoints/, which is deliberately not a declared
# output: Snakemake deletes declared outputs before a rerun, and an interrupted job must find
# last.ckpt there to resume.
rule train:
    input:
        unpack(train_inputs),
    output:
        model="results/{dataset}/{model}/seed{seed}/model.ckpt",
        history="results/{dataset}/{model}/seed{seed}/history.csv",
        predictions="results/{dataset}/{model}/seed{seed}/predictions.tsv",
        info="results/{dataset}/{model}/seed{seed}/train.json",
    log:
        "logs/train/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{dataset}/{model}/seed{seed}.tsv"
    conda:
        "../../envs/genoflow.yaml"
    threads: config["threads"]
    params:
        settings=settings("train"),
        data=folder_of("meta", of="input"),
        out=folder_of("model"),
        code=code_version("train"),
        tuned=lambda w, input: (
            ["--tuned", input.tuned] if "tuned" in input.keys() else []
        ),
    shell:
        "genoflow train --data {params.data:q} --out {params.out:q} --model {wildcards.model:q}"
        " --settings {params.settings:q} --seed {wildcards.seed:q} {params.tuned:q}"
        " --threads {threads} > {log:q} 2>&1"
