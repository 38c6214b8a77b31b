The registry walkthrough: propose, gate, promote, deploy, rollback, on a fresh clone whose origin is a
bare repository standing in for the team's, and the default DVC remote (~/.cache/attrition/dvc-remote).
Scratch files go to scratch/ (git-ignored). Production starts from the seed's logistic regression on its four columns.

  $ git init -q --bare ~/attrition-origin.git && git remote set-url origin ~/attrition-origin.git
  $ dvc exp run -q -S train.model=logreg -S train.selection.method=none
  generate: 800 rows of dataset version 3 -> data/employee_attrition_v3.csv
  extract: 800 rows (137 left) from dataset version 3 -> data/training_rows.csv
  train: logreg {'C': 1.0} columns ['age', 'job_role', 'monthly_income', 'years_at_company'] (dropped none) calibration isotonic (12 knots) cv roc_auc 0.7399±0.0727 threshold 0.1986 in *s -> models/model.joblib (glob)
  evaluate: hold-out roc_auc 0.7613 precision 0.262 recall 0.630 at threshold 0.1986 -> metrics
  evalset: 150160 rows of dataset version 3 (160 hold-out, 150000 fresh, 25902 positives) -> data/evalset_v3.csv
  package: v3-d3152cd00b30 -> models/attrition-model (manifest verified, 6 sample predictions of model.joblib and model.json match to 1e-09)
  scored 800 employees with model v3-d3152cd00b30 -> data/batch_scores.csv
  $ git add params.yaml dvc.lock metrics && git commit -qm "The seed's logistic regression on dataset version 3"
  $ git push -q -u origin main && dvc push -q
  $ attrition registry show
  no versions registered yet
  $ attrition registry propose
  propose: registered v1.0.0 of attrition-model at HEAD and assigned staging
  $ attrition registry promote
  promote: no current prod; v1.0.0 becomes the first production version without a gate
  promote: v1.0.0 is now prod (was none)
  $ attrition deploy --stage prod --to scratch/serving
  deploy: prod is v1.0.0 (model v3-d3152cd00b30) -> scratch/serving/current (was nothing)
  $ cp data/batch_scores.csv scratch/serving/batch_scores.csv
  $ attrition serve --dev --package scratch/serving/current --scores scratch/serving/batch_scores.csv \
  >   --audit-db scratch/serving/audit.sqlite --port 18433 > scratch/serve.log 2>&1 &
  $ echo $! > scratch/serve.pid
  $ timeout 120 sh -c 'until curl -sf http://127.0.0.1:18433/readyz > /dev/null; do sleep 1; done'
  $ attrition token --sub demo --scope "attrition:predict attrition:admin" > scratch/token   # same dev secret
  $ predict() { curl -s -H "Authorization: Bearer $(cat scratch/token)" -H 'content-type: application/json' \
  >   -d '{"age": 29, "job_role": "Sales", "monthly_income": 3500, "years_at_company": 1}' \
  >   http://127.0.0.1:18433/predict; echo; }
  $ predict
  {"attrition_probability":0.7484,"decision":true,"decision_threshold":0.1986231119,"model_version":"v3-d3152cd00b30","source":"model","employee_id":null,"prediction_id":"*","warnings":[],"feature_source":"request","features":null,"feature_table_version":null,"features_as_of":null,"explanation":{"measured_in":"probability","baseline":0.1767057691916364,"contributions":{"age":0.01220387760916002,"monthly_income":0.1699646475317835,"years_at_company":0.19364462750241052,"job_role":0.19583914911456973},"reasons":[{"input":"job_role","contribution":0.19583914911456973,"text":"job role Sales: +0.20"},{"input":"years_at_company","contribution":0.19364462750241052,"text":"years at company 1 is lower than about 90% of colleagues in Sales: +0.19"},{"input":"monthly_income","contribution":0.1699646475317835,"text":"monthly income 3,500 is lower than about 90% of colleagues in Sales: +0.17"}]}} (glob)

The weekly job for dataset version 4 (DVC's per-stage lines left out):

  $ make retrain VERSION=4 2>&1 | grep -vE "^(> |Running stage|Updating lock file|Stage '.*' didn't change|WARNING: No file hash|$)"
  == 1/6 branch retrain/v4 from * (glob)
  git checkout -b retrain/v4
  Switched to a new branch 'retrain/v4'
  == 2/6 candidate experiment on dataset version 4
  attrition warm -- dvc exp run -S version=4
  Reproducing experiment '*' (glob)
  generate: 800 rows of dataset version 4 -> data/employee_attrition_v4.csv
  extract: 800 rows (119 left) from dataset version 4 -> data/training_rows.csv
  train: logreg {'C': 1.0} columns ['age', 'job_role', 'monthly_income', 'years_at_company'] (dropped none) calibration isotonic (10 knots) cv roc_auc 0.7275±0.0464 threshold 0.1415 in *s -> models/model.joblib (glob)
  evaluate: hold-out roc_auc 0.7479 precision 0.254 recall 0.708 at threshold 0.1415 -> metrics
  evalset: 150160 rows of dataset version 4 (160 hold-out, 150000 fresh, 23932 positives) -> data/evalset_v4.csv
  package: v4-6f03d21131d9 -> models/attrition-model (manifest verified, 6 sample predictions of model.joblib and model.json match to 1e-09)
  scored 800 employees with model v4-6f03d21131d9 -> data/batch_scores.csv
  Ran experiment(s): * (glob)
  Experiment results have been applied to your workspace.
  attrition warm: 7 stage(s) forked from one interpreter (libraries loaded once, *s), 0 ran cold; largest stage *GiB (glob)
  == 3/6 commit the experiment
  git add -- params.yaml dvc.lock metrics data/.gitignore models/.gitignore
  git commit -qm "Retrain on dataset version 4 (make retrain)" -- params.yaml dvc.lock metrics data/.gitignore models/.gitignore
  * Retrain on dataset version 4 (make retrain) (glob)
  data/.gitignore
  dvc.lock
  metrics/evaluation.json
  metrics/metrics.json
  metrics/plots/custom/calibration.json
  metrics/plots/custom/confusion_matrix.json
  metrics/plots/custom/precision_recall.json
  metrics/plots/custom/roc.json
  params.yaml
  == 4/6 push code and outputs
  dvc push
  15 files pushed
  == 5/6 propose
  attrition registry propose
  propose: registered v1.1.0 of attrition-model at HEAD and assigned staging
  == 6/6 gate against prod and promote
  gate: candidate v4-6f03d21131d9 vs production v3-d3152cd00b30 on 150160 rows (23932 positives)
    fail                  precision_at_production_recall: candidate - production +0.0018 [-0.0008, +0.0045]: not shown superior (lower bound <= 0)
    fail                  recall_at_production_precision: candidate - production +0.0088 [-0.0045, +0.0255]: not shown superior (lower bound <= 0)
    pass                  deployed_recall_noninferior: recall at packaged thresholds +0.0654 [+0.0601, +0.0698]; lower bound must be >= -0.0200
    fail                  age_band_recall_gap: candidate gap +0.1500 [+0.1350, +0.1650] (90% simultaneous; observed range +0.1502) exceeds 0.02 by its lower bound; candidate - production gap at most +0.1289 (not shown within 0.02); burden of proof: unfairness
  verdict: fail
  promote: v1.1.0 stays in staging (gate verdict fail); prod remains v1.0.0
  == retrain: candidate left in staging (gate exit 1; gate-v4.json says why)
  $ attrition registry show
  version  stages   model_version    data  roc_auc  precision  recall  registered           commit
  v1.1.0   staging  v4-6f03d21131d9  v4    0.748    0.254      0.708   * (glob)
  v1.0.0   prod     v3-d3152cd00b30  v3    0.761    0.262      0.630   * (glob)

The champion (gradient boosting, column selection: the defaults) on dataset version 3, on a branch:

  $ git checkout -q -b champion main
  $ dvc exp run -q -S train.model=hgb -S train.selection.method=drop_column
  train: hgb {'l2_regularization': 1.0, 'learning_rate': 0.05, 'max_depth': 2, 'max_iter': 60, 'min_samples_leaf': 20} columns ['job_role', 'monthly_income', 'years_at_company'] (dropped ['age']) calibration isotonic (6 knots) cv roc_auc 0.7833±0.0544 threshold 0.1774 in *s -> models/model.joblib (glob)
  evaluate: hold-out roc_auc 0.8241 precision 0.323 recall 0.778 at threshold 0.1774 -> metrics
  package: v3-6af8d185a68d -> models/attrition-model (manifest verified, 6 sample predictions of model.joblib and model.json match to 1e-09)
  scored 800 employees with model v3-6af8d185a68d -> data/batch_scores.csv
  $ git add params.yaml dvc.lock metrics && git commit -qm "The champion on dataset version 3"
  $ git push -q -u origin champion && dvc push -q
  $ attrition registry propose
  propose: registered v1.2.0 of attrition-model at HEAD and assigned staging
  $ attrition registry promote v1.2.0 --out scratch/gate-v1.2.0.json
  gate: candidate v3-6af8d185a68d vs production v3-d3152cd00b30 on 150160 rows (25902 positives)
    pass                  precision_at_production_recall: candidate - production +0.0387 [+0.0359, +0.0417]: superior
    pass                  recall_at_production_precision: candidate - production +0.2194 [+0.1808, +0.2247]: superior
    pass                  deployed_recall_noninferior: recall at packaged thresholds +0.0516 [+0.0442, +0.0586]; lower bound must be >= -0.0200
    pass                  age_band_recall_gap: candidate gap +0.0081 [+0.0000, +0.0224] (90% simultaneous; observed range +0.0100) straddles 0.02; candidate - production gap at most -0.0008 (within 0.02); burden of proof: unfairness
  verdict: pass
  promote: v1.2.0 is now prod (was v1.0.0)
  $ attrition deploy --stage prod --to scratch/serving \
  >   --reload-url http://127.0.0.1:18433/admin/reload --token-file scratch/token
  deploy: prod is v1.2.0 (model v3-6af8d185a68d) -> scratch/serving/current (was releases/v3-d3152cd00b30-????????) (glob)
  deploy: service reloaded, now serving v3-6af8d185a68d
  $ predict
  {"attrition_probability":0.684,"decision":true,"decision_threshold":0.1773709473,"model_version":"v3-6af8d185a68d","source":"model","employee_id":null,"prediction_id":"*","warnings":[],"feature_source":"request","features":null,"feature_table_version":null,"features_as_of":null,"explanation":{"measured_in":"probability","baseline":0.16407301469851415,"contributions":{"monthly_income":0.1983652406161376,"years_at_company":0.14197362525525803,"job_role":0.17960360864757194},"reasons":[{"input":"monthly_income","contribution":0.1983652406161376,"text":"monthly income 3,500 is lower than about 90% of colleagues in Sales: +0.20"},{"input":"job_role","contribution":0.17960360864757194,"text":"job role Sales: +0.18"},{"input":"years_at_company","contribution":0.14197362525525803,"text":"years at company 1 is lower than about 90% of colleagues in Sales: +0.14"}]}} (glob)

Rollback, then deploy by SIGHUP:

  $ attrition registry rollback --reason "drift alert on v1.2.0; back to the last good model"
  rollback: prod v1.2.0 -> v1.0.0 (drift alert on v1.2.0; back to the last good model)
  $ attrition deploy --stage prod --to scratch/serving --pid $(cat scratch/serve.pid)
  deploy: prod is v1.0.0 (model v3-d3152cd00b30) -> scratch/serving/current (was releases/v3-6af8d185a68d-????????) (glob)
  deploy: sent SIGHUP to *; its reload verifies and keeps the old model on failure (glob)
  $ sleep 2; predict
  {"attrition_probability":0.7484,"decision":true,"decision_threshold":0.1986231119,"model_version":"v3-d3152cd00b30","source":"model","employee_id":null,"prediction_id":"*","warnings":[],"feature_source":"request","features":null,"feature_table_version":null,"features_as_of":null,"explanation":{"measured_in":"probability","baseline":0.1767057691916364,"contributions":{"age":0.01220387760916002,"monthly_income":0.1699646475317835,"years_at_company":0.19364462750241052,"job_role":0.19583914911456973},"reasons":[{"input":"job_role","contribution":0.19583914911456973,"text":"job role Sales: +0.20"},{"input":"years_at_company","contribution":0.19364462750241052,"text":"years at company 1 is lower than about 90% of colleagues in Sales: +0.19"},{"input":"monthly_income","contribution":0.1699646475317835,"text":"monthly income 3,500 is lower than about 90% of colleagues in Sales: +0.17"}]}} (glob)
  $ attrition registry show
  version  stages   model_version    data  roc_auc  precision  recall  registered           commit
  v1.2.0   staging  v3-6af8d185a68d  v3    0.824    0.323      0.778   * (glob)
  v1.1.0   -        v4-6f03d21131d9  v4    0.748    0.254      0.708   * (glob)
  v1.0.0   prod     v3-d3152cd00b30  v3    0.761    0.262      0.630   * (glob)
  $ readlink scratch/serving/current && ls scratch/serving/releases
  releases/v3-d3152cd00b30-???????? (glob)
  v3-6af8d185a68d-???????? (glob)
  v3-d3152cd00b30-???????? (glob)
  $ kill $(cat scratch/serve.pid)
