rule ingest:
    input:
        unpack(ingest_inputs),
    output:
        table="results/{dataset}/ingest/sequences.tsv",
        rejected="results/{dataset}/ingest/rejected.tsv",
        summary=report(
            "results/{dataset}/ingest/summary.json",
            caption="../report/ingest.rst",
            category="{dataset}",
            subcategory="data",
        ),
    log:
        "logs/ingest/{dataset}.log",
    benchmark:
        "benchmarks/ingest/{dataset}.tsv"
    conda:
        "../../envs/genoflow.yaml"
    params:
        args=ingest_args,
    shell:
        "python -m genoflow ingest {params.args} --out $(dirname {output.summary}) > {log} 2>&1"
