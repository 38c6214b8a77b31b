"""The promotion gate: may a candidate package replace production? (issue 9)

The plan's rule, "superior recall and precision, bias metric within +-2 pp", is judged on ONE set of
labelled rows that neither model trained on, with paired-bootstrap 95% intervals (see
:mod:`attrition.lifecycle.gate.rules` for how "superior" and "within" are read). A promotion walks
three steps, one module each, so each can be read and tested alone:

* load (:mod:`.load`): read and verify both packages (hashes before unpickling) and the evaluation
  rows, and score both models on them;
* judge (:mod:`.rules`, over :mod:`.curves`): pure functions of the scores, no file I/O, giving
  every figure, each rule's outcome and the verdict;
* record (:mod:`.record`): the gate.json document, its summary lines, and writing it.

:mod:`.cli` is `attrition gate` (also ``python -m attrition.lifecycle.gate``); the registry's promote
runs the same three steps on the packages it fetched.
"""
