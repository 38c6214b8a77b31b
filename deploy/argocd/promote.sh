#!/usr/bin/env bash
# The promotion pipeline's last step: after `gto promote attrition-model <version> --stage prod` has
# pushed its tag and CI has built and pushed attrition:<model_version> (make image), point production
# at that image with one commit. Argo CD sees the commit and rolls the Deployment; the new pods only
# receive traffic once /readyz says their baked package verified. Rollback: git revert this commit.
#
# usage: promote.sh MODEL_VERSION    (e.g. v3-bea571367755, or t35-bb71038a4d92 for a model trained on
#                                     the feature store's table version 35; metadata.json's model_version)
set -euo pipefail
version=${1:-}
if ! [[ $version =~ ^[vt][0-9]+-[0-9a-f]{12}$ ]]; then
  echo "error: model version '$version' is not like v3-bea571367755 or t35-bb71038a4d92; pass metadata.json's model_version" >&2
  exit 2
fi
values=$(cd "$(dirname "$0")" && pwd)/values-prod.yaml
sed -i -E "s/^(  tag: ).*/\1$version/" "$values"
git add "$values"
git commit -m "Serve model $version in production (GTO promotion)" -- "$values"
