Experiments: independent runs from the committed baseline, through DVC's queue.

  $ dvc exp run --queue -n logreg -S train.model=logreg        # the seed's logistic regression
  Queueing with overrides '{'params.yaml': ['train.model=logreg']}'.
  Queued experiment 'logreg' for future execution.
  $ dvc exp run --queue -n v5     -S version=5                 # another dataset version
  Queueing with overrides '{'params.yaml': ['version=5']}'.
  Queued experiment 'v5' for future execution.
  $ dvc exp run --run-all -j 1 -q                              # or: dvc queue start, in the background
  $ dvc exp show --no-pager --drop '.*' \
  >   --keep 'Experiment|^version$|train.model|holdout.roc_auc|holdout.precision$|holdout.recall$|holdout.threshold'
   ───────────────────────────────────────────────────────────────────────────────────────────────────────────────────────── 
    Experiment             holdout.roc_auc   holdout.precision   holdout.recall   holdout.threshold   version   train.model  
   ───────────────────────────────────────────────────────────────────────────────────────────────────────────────────────── 
    workspace                      0.82414             0.32308          0.77778             0.17737   3         hgb          
    main                           0.82414             0.32308          0.77778             0.17737   3         hgb          
    ├── ??????? [v5]               0.82738             0.38095          0.85714             0.24281   5         hgb           (glob)
    └── ??????? [logreg]           0.71568              0.2625          0.77778             0.14701   3         logreg        (glob)
   ───────────────────────────────────────────────────────────────────────────────────────────────────────────────────────── 
  $ git status --short                                         # the workspace is as it was

A typo fails its experiment with one line naming the key and what is allowed; the workspace is untouched.

  $ dvc exp run --queue -n typo -S train.model=hbg
  Queueing with overrides '{'params.yaml': ['train.model=hbg']}'.
  Queued experiment 'typo' for future execution.
  $ dvc exp run --run-all -q
  Failed to reproduce experiment(s) 'typo'
  $ dvc queue logs typo | grep '^error'
  error: params.yaml: invalid train.model = 'hbg'; allowed: 'logreg' or 'hgb'
  $ dvc exp remove typo
  Removed experiments: 'typo'
  $ git status --short

Take one into the workspace:

  $ dvc exp apply logreg
  Changes for experiment 'logreg' have been applied to your current workspace.
  $ git status --short
   M dvc.lock
   M metrics/evaluation.json
   M metrics/metrics.json
   M metrics/plots/custom/calibration.json
   M metrics/plots/custom/confusion_matrix.json
   M metrics/plots/custom/precision_recall.json
   M metrics/plots/custom/roc.json
   M params.yaml
