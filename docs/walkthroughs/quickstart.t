Quick start: `make repro` on a fresh clone rebuilds everything and leaves git status clean.

  $ make repro
  python -m attrition.params params.yaml
  params.yaml: ok (version 3, model hgb)
  attrition warm -- dvc repro
  Running stage 'generate':
  [>] attrition\ generate\ \-\-params\ params\.yaml\ \-\-out\ data/employee_attrition_v3\.csv\ \-\-run\-record\ models/\.runs/generate\.json (re)
  generate: 800 rows of dataset version 3 -> data/employee_attrition_v3.csv
  
  Running stage 'extract':
  [>] attrition\ extract\ \-\-params\ params\.yaml\ \-\-run\-record\ models/\.runs/extract\.json\ \-\-seed\-data\ data/employee_attrition_v3\.csv\ \-\-out\ data/training_rows\.csv\ \-\-record\ data/training_rows\.json (re)
  extract: 800 rows (137 left) from dataset version 3 -> data/training_rows.csv
  
  Running stage 'train':
  [>] attrition\ train\ \-\-params\ params\.yaml\ \-\-run\-record\ models/\.runs/train\.json\ \-\-data\ data/training_rows\.csv\ \-\-model\ models/model\.joblib\ \-\-record\ models/train\.json (re)
  train: hgb {'l2_regularization': 1.0, 'learning_rate': 0.05, 'max_depth': 2, 'max_iter': 60, 'min_samples_leaf': 20} columns ['job_role', 'monthly_income', 'years_at_company'] (dropped ['age']) calibration isotonic (6 knots) cv roc_auc 0.7833±0.0544 threshold 0.1774 in *s -> models/model.joblib (glob)
  
  Stage 'evaluate' didn't change, skipping
  Running stage 'evalset':
  [>] attrition\ evalset\ \-\-params\ params\.yaml\ \-\-run\-record\ models/\.runs/evalset\.json\ \-\-data\ data/training_rows\.csv\ \-\-out\ data/evalset_v3\.csv (re)
  evalset: 150160 rows of dataset version 3 (160 hold-out, 150000 fresh, 25902 positives) -> data/evalset_v3.csv
  
  Running stage 'package':
  [>] attrition\ package\ \-\-params\ params\.yaml\ \-\-run\-record\ models/\.runs/package\.json\ \-\-data\ data/training_rows\.csv\ \-\-extract\ data/training_rows\.json\ \-\-model\ models/model\.joblib\ \-\-record\ models/train\.json\ \-\-metrics\ metrics/evaluation\.json\ \-\-evalset\ data/evalset_v3\.csv\ \-\-out\ models/attrition\-model (re)
  package: v3-6af8d185a68d -> models/attrition-model (manifest verified, 6 sample predictions of model.joblib and model.json match to 1e-09)
  
  Running stage 'score':
  [>] attrition\ score\ \-\-run\-record\ models/\.runs/score\.json\ \-\-package\ models/attrition\-model\ \-\-data\ data/employee_attrition_v3\.csv\ \-\-out\ data/batch_scores\.csv (re)
  scored 800 employees with model v3-6af8d185a68d -> data/batch_scores.csv
  Use `dvc push` to send your updates to remote storage.
  attrition warm: 6 stage(s) forked from one interpreter (libraries loaded once, *s), 0 ran cold; largest stage *GiB (glob)
  dvc metrics show
  Path                  fairness.age_gap    fairness.age_gap_status    holdout.precision    holdout.recall    holdout.roc_auc    holdout.threshold
  metrics/metrics.json  0.04942             insufficient_data          0.32308              0.77778           0.82414            0.17737
  $ git status --short
  $ dvc status
  Data and pipelines are up to date.
