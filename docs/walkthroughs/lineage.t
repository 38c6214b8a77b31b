Lineage of the workspace's model and of a revision (the last commit that changed dvc.lock recorded it).

  $ attrition lineage
  revision        workspace
  model version   v3-6af8d185a68d
  dataset         version 3, 800 rows, md5 7746c79dafe141387f4379bff616300c
  code (train)    sha256 * (glob)
  params          {"data": {"as_of": null, *, "version": 3} (glob)
  metrics         roc_auc 0.8241 precision 0.323 recall 0.778 at threshold 0.1774
  package md5     *.dir (glob)
  recorded by     * (glob)
  built (evalset ) * on * in *s at commit * (glob)
  built (extract ) * on * in *s at commit * (glob)
  built (generate) * on * in *s at commit * (glob)
  built (package ) * on * in *s at commit * (glob)
  built (score   ) * on * in *s at commit * (glob)
  built (train   ) * on * in *s at commit * (glob)
  $ attrition lineage --rev HEAD
  revision        * (glob)
  model version   v3-6af8d185a68d
  dataset         version 3, 800 rows, md5 7746c79dafe141387f4379bff616300c
  code (train)    sha256 * (glob)
  params          {"data": {"as_of": null, *, "version": 3} (glob)
  metrics         roc_auc 0.8241 precision 0.323 recall 0.778 at threshold 0.1774
  package md5     *.dir (glob)
  recorded by     * (glob)
