The whole loop on the company's own history (after features.t, in the same clone): DVC trains and
packages on the store's rows, the registry's gate judges the candidate on the latest labelled window,
and the service answers `/predict` by employee id from the online file. DVC's per-stage lines left out.

The team's first model on the store: the seed's method (a logistic regression on four columns) as of
2025-06-30, table version 29; the hold-out is the latest snapshot whose 12-month label was known then:

  $ git init -q --bare ~/attrition-origin.git && git remote set-url origin ~/attrition-origin.git
  $ dvc exp run -q -S data.source=hris -S data.store=scratch/store -S data.table_version=29 \
  >   -S data.as_of=2025-06-30 -S train.model=logreg -S train.selection.method=none
  generate: 800 rows of dataset version 3 -> data/employee_attrition_v3.csv
  extract: 88497 rows (13512 left) from scratch/store table version 29 as of 2025-06-30 (18 snapshots) -> data/training_rows.csv
  train: logreg {'C': 0.1} columns ['age', 'job_role', 'monthly_income', 'years_at_company'] (dropped none) calibration isotonic (28 knots) cv roc_auc 0.7789±0.0195 threshold 0.2047 in *s -> models/model.joblib (glob)
  evaluate: hold-out roc_auc 0.7793 precision 0.311 recall 0.578 at threshold 0.2047 -> metrics
  evalset: 4922 rows of the store (4922 hold-out, 0 fresh, 748 positives) -> data/evalset_v3.csv
  package: t29-5141729aa185 -> models/attrition-model (manifest verified, 6 sample predictions of model.joblib and model.json match to 1e-09)
  scored 800 employees with model t29-5141729aa185 -> data/batch_scores.csv
  $ git add params.yaml dvc.lock metrics && git commit -qm "Logistic regression on the store as of 2025-06-30"
  $ git push -q -u origin main && dvc push -q
  $ attrition registry propose && attrition registry promote
  propose: registered v1.0.0 of attrition-model at HEAD and assigned staging
  promote: no current prod; v1.0.0 becomes the first production version without a gate
  promote: v1.0.0 is now prod (was none)

Six months later, the champion's method as of the last extract (table version 35):

  $ dvc exp run -q -S data.table_version=35 -S data.as_of=2025-12-31 -S train.model=hgb \
  >   -S train.selection.method=drop_column
  extract: 117979 rows (17981 left) from scratch/store table version 35 as of 2025-12-31 (24 snapshots) -> data/training_rows.csv
  train: hgb {'l2_regularization': 1.0, 'learning_rate': 0.05, 'max_depth': 2, 'max_iter': 60, 'min_samples_leaf': 20} columns ['job_role', 'monthly_income', 'years_at_company'] (dropped ['age']) calibration isotonic (22 knots) cv roc_auc 0.8300±0.0120 threshold 0.2089 in *s -> models/model.joblib (glob)
  evaluate: hold-out roc_auc 0.8439 precision 0.310 recall 0.889 at threshold 0.2089 -> metrics
  evalset: 4916 rows of the store (4916 hold-out, 0 fresh, 738 positives) -> data/evalset_v3.csv
  package: t35-bb71038a4d92 -> models/attrition-model (manifest verified, 6 sample predictions of model.joblib and model.json match to 1e-09)
  scored 800 employees with model t35-bb71038a4d92 -> data/batch_scores.csv
  $ git add params.yaml dvc.lock metrics && git commit -qm "The champion on the store as of 2025-12-31"
  $ git push -q && dvc push -q
  $ attrition registry propose
  propose: registered v1.1.0 of attrition-model at HEAD and assigned staging
  $ attrition registry promote v1.1.0 --out scratch/gate-v1.1.0.json
  gate: candidate t35-bb71038a4d92 vs production t29-5141729aa185 on 4916 rows (738 positives)
    pass                  precision_at_production_recall: candidate - production +0.0757 [+0.0519, +0.1008]: superior
    pass                  recall_at_production_precision: candidate - production +0.3415 [+0.0593, +0.4585]: superior
    pass                  deployed_recall_noninferior: recall at packaged thresholds +0.3482 [+0.3091, +0.3897]; lower bound must be >= -0.0200
    pass                  age_band_recall_gap: candidate gap +0.0000 [+0.0000, +0.0839] (90% simultaneous; observed range +0.0209) straddles 0.02; candidate - production gap at most +0.0839 (not shown within 0.02); burden of proof: unfairness
  verdict: pass
  promote: v1.1.0 is now prod (was v1.0.0)
  $ attrition registry show
  version  stages        model_version     data  roc_auc  precision  recall  registered           commit
  v1.1.0   staging,prod  t35-bb71038a4d92  t35   0.844    0.310      0.889   * (glob)
  v1.0.0   -             t29-5141729aa185  t29   0.779    0.311      0.578   * (glob)
  $ attrition lineage | sed -n 2,3p
  model version   t35-bb71038a4d92
  dataset         feature store scratch/store table version 35 as of 2025-12-31, 117979 rows, md5 26baf1548126ea98897c30fdea0d54aa

Deployed, the service reads each employee's current features from the online file features.t
materialized (as of 2025-12-31, table version 35): a request names the employee, nothing else.

  $ attrition deploy --stage prod --to scratch/serving
  deploy: prod is v1.1.0 (model t35-bb71038a4d92) -> scratch/serving/current (was nothing)
  $ attrition serve --dev --package scratch/serving/current --online-features scratch/online.json.gz \
  >   --audit-db scratch/serving/audit.sqlite --port 18434 > scratch/serve.log 2>&1 &
  $ echo $! > scratch/serve.pid
  $ timeout 120 sh -c 'until curl -sf http://127.0.0.1:18434/readyz > /dev/null; do sleep 1; done'
  $ attrition token --sub demo --scope "attrition:predict" > scratch/token
  $ by_id() { curl -s -w ' HTTP %{http_code}\n' -H "Authorization: Bearer $(cat scratch/token)" \
  >   -H 'content-type: application/json' -d "{\"employee_id\": \"$1\"}" http://127.0.0.1:18434/predict; }
  $ by_id E000002
  {"attrition_probability":0.0007,"decision":false,"decision_threshold":0.2089381399,"model_version":"t35-bb71038a4d92","source":"model","employee_id":"E000002","prediction_id":"*","warnings":[],"feature_source":"online_store","features":{"age":48,"job_role":"HR","monthly_income":6098.79,"years_at_company":21},"feature_table_version":35,"features_as_of":"2025-12-31","explanation":{"measured_in":"probability","baseline":0.13878104360921673,"contributions":{"monthly_income":-0.018534942904418795,"years_at_company":-0.036100606449545415,"job_role":-0.08345405493221456},"reasons":[{"input":"job_role","contribution":-0.08345405493221456,"text":"job role HR: -0.08"},{"input":"years_at_company","contribution":-0.036100606449545415,"text":"years at company 21 is higher than about 90% of colleagues in HR: -0.04"},{"input":"monthly_income","contribution":-0.018534942904418795,"text":"monthly income 6,099 is lower than about 60% of colleagues in HR: -0.02"}]}} HTTP 200 (glob)
  $ by_id E000005
  {"detail":"employee E000005 left on 2024-06-19 (online feature store as of 2025-12-31): no score for a former employee"} HTTP 410
  $ by_id E999999
  {"detail":"employee E999999 is not in the online feature store (as of 2025-12-31, table version 35); send all four features to score someone it does not know"} HTTP 404
  $ kill $(cat scratch/serve.pid)
