# Stage 8: what every job cost. Each rule's `benchmark:` writes one TSV per job under
# benchmarks/jobs/ (wall and CPU seconds, peak memory); this table sums them per rule and
# suggests the mem_mb and runtime a cluster profile can ask for (src/useless_params/job_costs.py).


localrules:
    job_costs,


rule job_costs:
    """Wall time, CPU time and peak memory per rule, from every job's benchmark TSV."""
    input:
        benchmarks=[path for path, _ in job_benchmarks()],
    output:
        table=report(
            "benchmarks/job_costs.csv",
            caption="../report/job_costs.rst",
            category="4 Job costs",
        ),
    log:
        "logs/job_costs.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MB["job_costs"],
        runtime=measured_runtime(1),
    params:
        rules=[name for _, name in job_benchmarks()],
    script:
        "../../scripts/job_costs.py"
