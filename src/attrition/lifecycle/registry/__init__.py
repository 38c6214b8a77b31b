"""The model registry (issue 9): the one thin layer over GTO and DVC for versions and stages.

GTO keeps versions and stage assignments as annotated git tags on the `attrition-model` artifact
declared in dvc.yaml; `dvc artifacts get` fetches a version's or a stage's package from the DVC
remote. This package only adds what they lack: the checks before a version is proposed (clean,
committed, pushed), the lineage JSON carried in the registration tag, the promotion gate before a
`prod` assignment (its result carried in the assignment tag), and rollback by deprecating the
current assignment (GTO's readers then take the previous prod version, as `dvc artifacts get` does).

Split as GTO itself splits (``gto.api`` beside ``gto.cli``); each module imports only those listed
before it (an import-linter contract in pyproject.toml):

* :mod:`.gto`: the plumbing: running git, gto and dvc, and reading gto's JSON into rows;
* :mod:`.api`: the policy as functions: propose, promote (load, judge, record), rollback;
* :mod:`.cli`: `attrition registry` (also ``python -m attrition.lifecycle.registry``): argparse and
  everything printed. Exit codes: 0 ok, 1 a check or the gate failed, 2 bad input, 3 the gate found
  insufficient evidence.
"""
