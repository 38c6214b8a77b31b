Back to the baseline after `dvc exp apply`: params, lock and metrics from git, outputs from DVC's cache.

  $ git checkout HEAD -- params.yaml dvc.lock metrics && dvc checkout
  M       models/attrition-model/
  M       data/batch_scores.csv
  M       models/model.joblib
  M       models/train.json
  $ git status --short
  $ dvc status
  Data and pipelines are up to date.
