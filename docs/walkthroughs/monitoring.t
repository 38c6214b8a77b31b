The monitoring loop: drift -> decay -> retrain -> gate, on a fresh clone whose origin is a bare repository
standing in for the team's, and the default DVC remote. Production is the default model on dataset version 3, with the evaluation set at
20,000 fresh rows and 400 gate resamples to keep the walkthrough short. Scratch files go to scratch/.

  $ git init -q --bare ~/attrition-origin.git && git remote set-url origin ~/attrition-origin.git
  $ dvc exp run -q -S evalset.n_samples=20000 -S gate.bootstrap.n=400
  generate: 800 rows of dataset version 3 -> data/employee_attrition_v3.csv
  extract: 800 rows (137 left) from dataset version 3 -> data/training_rows.csv
  train: hgb {'l2_regularization': 1.0, 'learning_rate': 0.05, 'max_depth': 2, 'max_iter': 60, 'min_samples_leaf': 20} columns ['job_role', 'monthly_income', 'years_at_company'] (dropped ['age']) calibration isotonic (6 knots) cv roc_auc 0.7833±0.0544 threshold 0.1774 in *s -> models/model.joblib (glob)
  evalset: 20160 rows of dataset version 3 (160 hold-out, 20000 fresh, 3349 positives) -> data/evalset_v3.csv
  package: v3-6af8d185a68d -> models/attrition-model (manifest verified, 6 sample predictions of model.joblib and model.json match to 1e-09)
  scored 800 employees with model v3-6af8d185a68d -> data/batch_scores.csv
  $ git add params.yaml dvc.lock metrics && git commit -qm "Version-3 model, a shorter gate"
  $ git push -q -u origin main && dvc push -q
  $ attrition registry propose && attrition registry promote
  propose: registered v1.0.0 of attrition-model at HEAD and assigned staging
  promote: no current prod; v1.0.0 becomes the first production version without a gate
  promote: v1.0.0 is now prod (was none)
  $ attrition registry show
  version  stages        model_version    data  roc_auc  precision  recall  registered           commit
  v1.0.0   staging,prod  v3-6af8d185a68d  v3    0.824    0.323      0.778   * (glob)
  $ attrition deploy --stage prod --to scratch/serving && cp data/batch_scores.csv scratch/serving/
  deploy: prod is v1.0.0 (model v3-6af8d185a68d) -> scratch/serving/current (was nothing)
  $ ATTRITION_AUDIT_DB=scratch/serving/audit.sqlite attrition serve --dev --package scratch/serving/current \
  >   --scores scratch/serving/batch_scores.csv --port 18434 > scratch/serve.log 2>&1 &
  $ timeout 120 sh -c 'until curl -sf http://127.0.0.1:18434/readyz > /dev/null; do sleep 1; done'
  $ attrition token --sub demo --scope "attrition:predict attrition:admin" > scratch/token

Version-3 traffic: nothing alerts.

  $ attrition simulate --population-version 3 --rows 1000 --seed 3001 --url http://127.0.0.1:18434 \
  >   --token-file scratch/token --outcomes scratch/outcomes_v3.csv
  simulate: 1000 employees of version 3 (seed 3001): 1000 answered, 0 refused, 0 failed; 171 left; outcomes -> scratch/outcomes_v3.csv
  $ attrition monitor --package scratch/serving/current --audit-db scratch/serving/audit.sqlite \
  >   --outcomes scratch/outcomes_v3.csv --out scratch/monitoring.json --prom scratch/monitor.prom
  decay    recall                 90d ok                recall 0.743 (95% CI 0.676-0.808, n=171) vs baseline 0.774: drop 3.1 pp
  decay    precision              90d ok                precision 0.318 (95% CI 0.273-0.364, n=399) vs baseline 0.327: drop 0.8 pp
  fairness age_band_recall_gap    90d insufficient_data too few positives per age band {'30-44': 65, '45+': 79, '<30': 27}; a verdict needs 100 in each
  calibration recall                 90d ok                realized recall 0.743 (n=171) vs estimated 0.814 (if calibrated 95% 0.759-0.868): within it widened by 5 pp
  calibration precision              90d ok                realized precision 0.318 (n=399) vs estimated 0.314 (if calibrated 95% 0.273-0.358): within it widened by 5 pp
  month    2026-12 1000 scored 1000 labelled: recall 0.814 (0.759-0.868) realized 0.743 (0.676-0.808); precision 0.314 (0.273-0.358) realized 0.318 (0.273-0.364)
  monitor: v3-6af8d185a68d drift=ok decay=ok fairness=insufficient_data calibration=ok estimate=insufficient_data (1000 labelled of 1000 employees)

Version-8 traffic: income drift and confirmed precision decay start `make retrain VERSION=8` (DVC's
per-stage lines left out); the gate judges the candidate.

  $ attrition simulate --population-version 8 --rows 2000 --seed 8001 --url http://127.0.0.1:18434 \
  >   --token-file scratch/token --outcomes scratch/outcomes_v8.csv
  simulate: 2000 employees of version 8 (seed 8001): 2000 answered, 0 refused, 0 failed; 280 left; outcomes -> scratch/outcomes_v8.csv
  $ attrition monitor --package scratch/serving/current --audit-db scratch/serving/audit.sqlite \
  >   --outcomes scratch/outcomes_v8.csv --out scratch/monitoring.json --prom scratch/monitor.prom \
  >   --on-decay 'make retrain VERSION=8' 2>&1 | grep -vE "^(> |Running stage|Updating lock file|Stage '.*' didn't change|WARNING: No file hash|$)"; \
  >   echo "monitor exited ${PIPESTATUS[0]}"
  == 1/6 branch retrain/v8 from * (glob)
  git checkout -b retrain/v8
  Switched to a new branch 'retrain/v8'
  == 2/6 candidate experiment on dataset version 8
  attrition warm -- dvc exp run -S version=8
  Reproducing experiment '*' (glob)
  generate: 800 rows of dataset version 8 -> data/employee_attrition_v8.csv
  extract: 800 rows (108 left) from dataset version 8 -> data/training_rows.csv
  train: hgb {'l2_regularization': 1.0, 'learning_rate': 0.05, 'max_depth': 2, 'max_iter': 60, 'min_samples_leaf': 20} columns ['job_role', 'years_at_company'] (dropped ['monthly_income', 'age']) calibration isotonic (8 knots) cv roc_auc 0.8200±0.0306 threshold 0.2380 in *s -> models/model.joblib (glob)
  evaluate: hold-out roc_auc 0.8277 precision 0.275 recall 0.864 at threshold 0.2380 -> metrics
  evalset: 20160 rows of dataset version 8 (160 hold-out, 20000 fresh, 2709 positives) -> data/evalset_v8.csv
  package: v8-ded79099456c -> models/attrition-model (manifest verified, 6 sample predictions of model.joblib and model.json match to 1e-09)
  scored 800 employees with model v8-ded79099456c -> data/batch_scores.csv
  Ran experiment(s): * (glob)
  Experiment results have been applied to your workspace.
  attrition warm: 7 stage(s) forked from one interpreter (libraries loaded once, *s), 0 ran cold; largest stage *GiB (glob)
  == 3/6 commit the experiment
  git add -- params.yaml dvc.lock metrics data/.gitignore models/.gitignore
  git commit -qm "Retrain on dataset version 8 (make retrain)" -- params.yaml dvc.lock metrics data/.gitignore models/.gitignore
  * Retrain on dataset version 8 (make retrain) (glob)
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
  gate: candidate v8-ded79099456c vs production v3-6af8d185a68d on 20160 rows (2709 positives)
    fail                  precision_at_production_recall: candidate - production -0.0017 [-0.0034, +0.0004]: not shown superior (lower bound <= 0)
    fail                  recall_at_production_precision: candidate - production -0.1853 [-0.2019, +0.0236]: not shown superior (lower bound <= 0)
    fail                  deployed_recall_noninferior: recall at packaged thresholds -0.0210 [-0.0307, -0.0119]; lower bound must be >= -0.0200
    pass                  age_band_recall_gap: candidate gap +0.0515 [+0.0087, +0.1008] (90% simultaneous; observed range +0.0559) straddles 0.02; candidate - production gap at most +0.1008 (not shown within 0.02); burden of proof: unfairness
  verdict: fail
  promote: v1.1.0 stays in staging (gate verdict fail); prod remains v1.0.0
  == retrain: candidate left in staging (gate exit 1; gate-v8.json says why)
  drift    monthly_income          1d alert             PSI 1.408 > 0.1 at 3000 rows
  drift    score                   1d alert             PSI 0.142 > 0.1 at 3000 rows
  drift    monthly_income          4d alert             PSI 1.408 > 0.1 at 3000 rows
  drift    score                   4d alert             PSI 0.142 > 0.1 at 3000 rows
  decay    recall                 90d ok                recall 0.779 (95% CI 0.731-0.827, n=280) vs baseline 0.774: rise 0.5 pp
  decay    precision              90d alert             precision 0.270 (95% CI 0.241-0.301, n=808) vs baseline 0.327: drop 5.7 pp
  fairness age_band_recall_gap    90d insufficient_data too few positives per age band {'30-44': 97, '<30': 68}; a verdict needs 100 in each
  calibration recall                 90d ok                realized recall 0.779 (n=280) vs estimated 0.842 (if calibrated 95% 0.804-0.875): within it widened by 5 pp
  calibration precision              90d ok                realized precision 0.270 (n=808) vs estimated 0.313 (if calibrated 95% 0.283-0.343): within it widened by 5 pp
  estimate recall               2026-12 ok                estimated recall 0.832 (95% 0.802-0.862, 3000 scored, 2000 labelled) vs baseline 0.774: rise 5.9 pp [scores drifted (PSI 0.14): calibration extrapolated]
  estimate precision            2026-12 ok                estimated precision 0.313 (95% 0.290-0.339, 3000 scored, 2000 labelled) vs baseline 0.327: drop 1.4 pp [scores drifted (PSI 0.14): calibration extrapolated]
  month    2026-12 3000 scored 2000 labelled: recall 0.832 (0.802-0.862); precision 0.313 (0.290-0.339)
  monitor: v3-6af8d185a68d drift=alert decay=alert fairness=insufficient_data calibration=ok estimate=ok (2000 labelled of 3000 employees); alerts: drift:monthly_income@1d, drift:score@1d, drift:monthly_income@4d, drift:score@4d, decay:precision@90d
  monitor: --on-decay exited 0
  monitor exited 1
  $ git show --stat --format=%s HEAD          # the retrain committed what it made, no scratch file
  Retrain on dataset version 8 (make retrain)
  
   data/.gitignore                            |   1 +
   dvc.lock                                   | 134 ++++++++++++-------------
   metrics/evaluation.json                    | 113 +++++++++++----------
   metrics/metrics.json                       |  10 +-
   metrics/plots/custom/calibration.json      |  38 +++----
   metrics/plots/custom/confusion_matrix.json |   8 +-
   metrics/plots/custom/precision_recall.json | 324 +++++++++---------------------------------------------------
   metrics/plots/custom/roc.json              | 399 ++++++++++++--------------------------------------------------------------
   params.yaml                                |   2 +-
   9 files changed, 256 insertions(+), 773 deletions(-)
  $ attrition registry show
  version  stages   model_version    data  roc_auc  precision  recall  registered           commit
  v1.1.0   staging  v8-ded79099456c  v8    0.828    0.275      0.864   * (glob)
  v1.0.0   prod     v3-6af8d185a68d  v3    0.824    0.323      0.778   * (glob)
  $ python -c 'import json; r=json.load(open("gate-v8.json")); print(r["verdict"], [(x["name"], x["outcome"]) for x in r["rules"]])'
  fail [('precision_at_production_recall', 'fail'), ('recall_at_production_precision', 'fail'), ('deployed_recall_noninferior', 'fail'), ('age_band_recall_gap', 'pass')]
  $ curl -s -H "Authorization: Bearer $(cat scratch/token)" -H 'content-type: application/json' \
  >   -d '{"age": 29, "job_role": "Sales", "monthly_income": 3500, "years_at_company": 1}' \
  >   http://127.0.0.1:18434/predict; echo
  {"attrition_probability":0.684,"decision":true,"decision_threshold":0.1773709473,"model_version":"v3-6af8d185a68d","source":"model","employee_id":null,"prediction_id":"*","warnings":[],"feature_source":"request","features":null,"feature_table_version":null,"features_as_of":null,"explanation":{"measured_in":"probability","baseline":0.16407301469851415,"contributions":{"monthly_income":0.1983652406161376,"years_at_company":0.14197362525525803,"job_role":0.17960360864757194},"reasons":[{"input":"monthly_income","contribution":0.1983652406161376,"text":"monthly income 3,500 is lower than about 90% of colleagues in Sales: +0.20"},{"input":"job_role","contribution":0.17960360864757194,"text":"job role Sales: +0.18"},{"input":"years_at_company","contribution":0.14197362525525803,"text":"years at company 1 is lower than about 90% of colleagues in Sales: +0.14"}]}} (glob)
  $ grep -E '^attrition_monitor_(psi|verdict)\{.*monthly_income.*window="1d"' scratch/monitor.prom
  attrition_monitor_verdict{check="drift",subject="monthly_income",verdict="ok",window="1d"} 0.0
  attrition_monitor_verdict{check="drift",subject="monthly_income",verdict="alert",window="1d"} 1.0
  attrition_monitor_verdict{check="drift",subject="monthly_income",verdict="insufficient_data",window="1d"} 0.0
  attrition_monitor_psi{subject="monthly_income",window="1d"} 1.407767388421573
