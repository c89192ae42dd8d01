# Cached between workflows, like ingest (see ingest.smk).
rule preprocess:
    input:
        table="results/{dataset}/ingest/sequences.tsv",
        summary="results/{dataset}/ingest/summary.json",
    output:
        tokens="results/{dataset}/preprocess/tokens.npy",
        lengths="results/{dataset}/preprocess/lengths.npy",
        labels="results/{dataset}/preprocess/labels.npy",
        residue_labels="results/{dataset}/preprocess/residue_labels.npy",
        targets="results/{dataset}/preprocess/targets.npy",
        split="results/{dataset}/preprocess/split.npy",
        records="results/{dataset}/preprocess/records.tsv",
        leakage="results/{dataset}/preprocess/leakage.tsv",
        meta="results/{dataset}/preprocess/meta.json",
    log:
        "logs/preprocess/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(SEQUENCE_DATASETS),
    cache: True
    conda:
        "../../envs/genoflow.yaml"
    threads: config["threads"]
    params:
        args=preprocess_args,
        code=code_version("preprocess"),
    shell:
        "python -m genoflow preprocess --ingest $(dirname {input.summary}) {params.args}"
        " --threads {threads} --out $(dirname {output.meta}) > {log} 2>&1"


rule preprocess_series:
    input:
        matrix="results/{dataset}/ingest/matrix.npy",
        samples="results/{dataset}/ingest/samples.tsv",
        summary="results/{dataset}/ingest/summary.json",
    output:
        values="results/{dataset}/preprocess/values.npy",
        raw="results/{dataset}/preprocess/raw.npy",
        series="results/{dataset}/preprocess/series.npy",
        time="results/{dataset}/preprocess/time.npy",
        windows="results/{dataset}/preprocess/windows.npy",
        window_split="results/{dataset}/preprocess/window_split.npy",
        records="results/{dataset}/preprocess/records.tsv",
        meta="results/{dataset}/preprocess/meta.json",
    log:
        "logs/preprocess_series/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(SERIES_DATASETS),
    cache: True
    conda:
        "../../envs/genoflow.yaml"
    params:
        args=preprocess_series_args,
        code=code_version("preprocess_series"),
    shell:
        "python -m genoflow preprocess-series --ingest $(dirname {input.summary}) {params.args}"
        " --out $(dirname {output.meta}) > {log} 2>&1"
