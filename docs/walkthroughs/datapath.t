The whole loop on the company's own history (after features.t, in the same clone): DVC trains and
packages on the store's rows, the registry's gate judges the candidate on the latest labelled window,
and the service answers `/predict` by employee id from the online file. DVC's per-stage lines left out.

The team's first model on the store: the seed's method (a logistic regression on four columns) as of
2025-06-30, table version 29; the hold-out is the latest snapshot whose 12-month label was known then:

  $ git init -q --bare ~/attrition-origin.git && git remote set-url origin ~/attrition-origin.git
  $ dvc exp run -q -S data.source=hris -S data.store=scratch/store -S data.table_version=29 \
  >   -S data.as_of=2025-06-30 -S train.model=logreg -S train.selection.method=none
  $ git add params.yaml dvc.lock metrics && git commit -qm "Logistic regression on the store as of 2025-06-30"
  $ git push -q -u origin main && dvc push -q
  $ attrition registry propose && attrition registry promote

Six months later, the champion's method as of the last extract (table version 35):

  $ dvc exp run -q -S data.table_version=35 -S data.as_of=2025-12-31 -S train.model=hgb \
  >   -S train.selection.method=drop_column
  $ git add params.yaml dvc.lock metrics && git commit -qm "The champion on the store as of 2025-12-31"
  $ git push -q && dvc push -q
  $ attrition registry propose
  $ attrition registry promote v1.1.0 --out scratch/gate-v1.1.0.json
  $ attrition registry show
  $ attrition lineage | sed -n 2,3p

Deployed, the service reads each employee's current features from the online file features.t
materialized (as of 2025-12-31, table version 35): a request names the employee, nothing else.

  $ attrition deploy --stage prod --to scratch/serving
  $ attrition serve --dev --package scratch/serving/current --online-features scratch/online.json.gz \
  >   --audit-db scratch/serving/audit.sqlite --port 18434 > scratch/serve.log 2>&1 &
  $ echo $! > scratch/serve.pid
  $ timeout 120 sh -c 'until curl -sf http://127.0.0.1:18434/readyz > /dev/null; do sleep 1; done'
  $ attrition token --sub demo --scope "attrition:predict" > scratch/token
  $ by_id() { curl -s -w ' HTTP %{http_code}\n' -H "Authorization: Bearer $(cat scratch/token)" \
  >   -H 'content-type: application/json' -d "{\"employee_id\": \"$1\"}" http://127.0.0.1:18434/predict; }
  $ by_id E000002
  $ by_id E000005
  $ by_id E999999
  $ kill $(cat scratch/serve.pid)
