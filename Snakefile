# Useless Parameters: how much does each trained parameter matter? See README.md.
# The entry point users run (`snakemake all` in the repository root); the workflow itself is
# defined in workflow/Snakefile, where the Snakemake workflow catalog and `module` users look.
from snakemake.utils import min_version

min_version("9.0")


include: "workflow/Snakefile"


# An included file's default target does not carry over to the file that includes it (Snakemake
# restores the includer's after each include): a bare `snakemake` builds `all` here too, as it
# does where workflow/Snakefile is imported as a module.
workflow.default_target = "all"
