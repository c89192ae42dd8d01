# New FASTA files scored with a trained model (the config's `predict:` section). The
# checkpoint carries how its data was prepared; records the model cannot take are listed in
# the output with the reason, not a failed job.
rule predict:
    input:
        model=predict_checkpoint,
        fasta=lambda w: config["predict"][w.name]["fasta"],
    output:
        "results/predict/{name}.tsv",
    log:
        "logs/predict/{name}.log",
    wildcard_constraints:
        name=one_of(PREDICTIONS),
    conda:
        "../../envs/genoflow.yaml"
    params:
        code=code_version("predict"),
    shell:
        "python -m genoflow predict --checkpoint {input.model} --input {input.fasta}"
        " --output {output} > {log} 2>&1"
