# New FASTA files scored with a trained model (the config's `predict:` section). The
# checkpoint carries how its data was prepared; records the model cannot take are listed in
# the output with the reason, not a failed job.
rule predict:
    input:
        unpack(predict_inputs),
        model=predict_checkpoint,
    output:
        "results/predict/{name}.tsv",
    log:
        "logs/predict/{name}.log",
    wildcard_constraints:
        name=one_of(PREDICTIONS),
    conda:
        "../../envs/genoflow.yaml"
    params:
        inputs=predict_args,
        code=code_version("predict"),
    shell:
        "genoflow predict --checkpoint {input.model:q} {params.inputs:q} --output {output:q}"
        " > {log:q} 2>&1"
