"""How the `attrition` commands that DVC runs are launched: cold, or forked from a warm interpreter.

A DVC stage is a new process, and most of a stage process's time at the pipeline's sizes is importing
pandas, scikit-learn (with SciPy) and dvclive, once per stage. `attrition warm -- dvc repro` keeps one
interpreter with those libraries loaded for the length of one command and forks each stage from it,
as Bazel's persistent workers or Android's zygote do. DVC sees the same commands, deps and outputs;
the stage's own code (everything under ``attrition.``) is imported afresh in each fork, so code
changes and each stage's code identity are exactly those of a cold run.
"""

# Set by `attrition warm` for the command it runs: the stage server's socket. Here rather than in
# client.py because both sides use it (attrition.cli spells it out; its comment says why).
SERVER_VARIABLE = "ATTRITION_STAGE_SERVER"
