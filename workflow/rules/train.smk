# One job per (dataset, model, seed). Lightning's resumable checkpoints go to
# results/{dataset}/{model}/seed{seed}/checkpoints/, which is deliberately not a declared
# output: Snakemake deletes declared outputs before a rerun, and an interrupted job must find
# last.ckpt there to resume.
rule train:
    input:
        unpack(preprocessed),
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
        args=train_args,
        code=code_version("train"),
    shell:
        "python -m genoflow train --data $(dirname {input.meta}) --out $(dirname {output.model})"
        " --model {wildcards.model} {params.args} --seed {wildcards.seed} --threads {threads}"
        " > {log} 2>&1"
