rule preprocess:
    input:
        table="results/{dataset}/ingest/sequences.tsv",
        summary="results/{dataset}/ingest/summary.json",
    output:
        tokens="results/{dataset}/preprocess/tokens.npy",
        lengths="results/{dataset}/preprocess/lengths.npy",
        labels="results/{dataset}/preprocess/labels.npy",
        split="results/{dataset}/preprocess/split.npy",
        records="results/{dataset}/preprocess/records.tsv",
        leakage="results/{dataset}/preprocess/leakage.tsv",
        meta="results/{dataset}/preprocess/meta.json",
    log:
        "logs/preprocess/{dataset}.log",
    benchmark:
        "benchmarks/preprocess/{dataset}.tsv"
    conda:
        "../../envs/genoflow.yaml"
    params:
        args=preprocess_args,
    shell:
        "python -m genoflow preprocess --ingest $(dirname {input.summary}) {params.args}"
        " --out $(dirname {output.meta}) > {log} 2>&1"
