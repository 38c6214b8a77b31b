#!/usr/bin/env bash
# Build the serving image (deploy/docker/Dockerfile) with the docker CLI on PATH / DOCKER_HOST.
#
# usage: build-image.sh [--package DIR] [--scores CSV] [--base IMAGE] [--context DIR] [--tools]
# Builds two images from one context: the `service` stage (no model) as
# attrition-service:<attrition version> and the `model` stage (package and batch scores baked in)
# as attrition:<model_version>, the image the Helm chart deploys. With --tools it builds instead the
# jobs image attrition-tools:<model_version>: the same package on the whole project (pandas, DVC).
# A package with a data-only model (model.json in its manifest) gets the slim serving set; an older
# one needs scikit-learn to unpickle model.joblib and gets requirements-serve-pickle.txt (printed).
# Prints the two image references as the last two lines (service, then model).
# env: PYTHON (interpreter for pip and reading metadata), DOCKER (default: docker)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
package=$repo/models/attrition-model scores=$repo/data/batch_scores.csv
base="" context=$repo/build/image tools=""
python=${PYTHON:-python3}
docker=${DOCKER:-docker}

usage() {
  echo "usage: $0 [--package DIR] [--scores CSV] [--base IMAGE] [--context DIR] [--tools]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
    --package) package=${2:?}; shift 2 ;;
    --scores) scores=${2:?}; shift 2 ;;
    --base) base=${2:?}; shift 2 ;;
    --context) context=${2:?}; shift 2 ;;
    --tools) tools=1; shift ;;
    *) usage ;;
  esac
done
if [ ! -f "$package/MANIFEST.sha256" ]; then
  echo "error: --package $package: not a model package (no MANIFEST.sha256); run make repro first" >&2
  exit 2
fi

if [ -n "$tools" ]; then
  requirements=requirements-tools.txt
elif grep -qE '  model\.json$' "$package/MANIFEST.sha256"; then
  requirements=requirements-serve.txt
else
  requirements=requirements-serve-pickle.txt
  echo "note: $package has no model.json; the image needs scikit-learn to unpickle model.joblib ($requirements)" >&2
fi

extra=(--package "$package")
[ ! -f "$scores" ] || extra+=(--scores "$scores")
PYTHON=$python "$here/build-context.sh" "$context" --requirements "$requirements" "${extra[@]}" >&2

model_tag=attrition:$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["model_version"])' "$package/metadata.json")
service_tag=attrition-service:$("$python" -c 'import attrition; print(attrition.__version__)')
build_args=(--build-arg "REQUIREMENTS=$requirements")
[ -z "$base" ] || build_args+=(--build-arg "BASE=$base")
targets="service model"
if [ -n "$tools" ]; then
  targets=tools service_tag="" model_tag=attrition-tools:${model_tag#attrition:}
fi
for target in $targets; do
  if [ $target = service ]; then tag=$service_tag; else tag=$model_tag; fi
  DOCKER_BUILDKIT=1 "$docker" build --network none --target $target "${build_args[@]}" --tag "$tag" "$context" >&2
done
[ -z "$service_tag" ] || echo "$service_tag"
echo "$model_tag"
