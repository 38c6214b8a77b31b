"""Monitoring that closes the loop: drift (PSI), decay (recall/precision) and fairness from live traffic.

`reference` freezes what the checks compare with at packaging time, `predictions` reads the audit store
and the outcomes file, `checks` turns them into `ok` / `alert` / `insufficient_data` verdicts with their
figures, and `run` (``attrition monitor``) writes monitoring.json and Prometheus text. `simulate`
(``attrition simulate``) is the traffic generator the demo and the tests drive the service with.
"""
