#!/usr/bin/env bash
# Assemble the docker build context for deploy/docker/Dockerfile in OUT (recreated):
#   wheels/   the attrition wheel, every pinned wheel of the serving set, and pip's own wheel
#   model/    (with --package) the model package and optionally the batch scores, for the `model` stage
#   app/      params.yaml, for the `tools` stage
# Wheels are fetched here, on the host, for CPython 3.11 on glibc >= 2.17 x86_64, so the image build
# itself needs no network and no CA bundle.
#
# usage: build-context.sh OUT [--requirements FILE] [--package DIR] [--scores CSV]
#   --requirements  requirements-serve.txt (default), requirements-serve-pickle.txt, or
#                   requirements-tools.txt: the whole project (../../requirements.txt) for the jobs image
# env:  PYTHON  the interpreter whose pip downloads (default: python3)
set -euo pipefail

usage() { echo "usage: $0 OUT [--requirements FILE] [--package DIR] [--scores CSV]" >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
requirements=requirements-serve.txt package="" scores=""
while [ $# -gt 0 ]; do
  case $1 in
    --requirements) requirements=${2:?}; shift 2 ;;
    --package) package=${2:?}; shift 2 ;;
    --scores) scores=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
PIP_VERSION=23.2.1
SETUPTOOLS_VERSION=65.5.0  # what python3.11's venv ships; only the tools image needs it

if [ "$requirements" != requirements-tools.txt ] && [ ! -f "$here/$requirements" ]; then
  echo "error: --requirements $requirements: no such file in $here; use requirements-serve.txt, requirements-serve-pickle.txt or requirements-tools.txt" >&2
  exit 2
fi
if [ -n "$package" ] && [ ! -f "$package/MANIFEST.sha256" ]; then
  echo "error: --package $package: not a model package (no MANIFEST.sha256); run make repro first" >&2
  exit 2
fi

rm -rf "$out"
mkdir -p "$out/wheels"
pip=("$python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" wheel --no-deps --wheel-dir "$out/wheels" "$repo"
cp "$here/Dockerfile" "$here"/requirements-serve*.txt "$out/"
if [ "$requirements" = requirements-tools.txt ]; then
  # The whole project minus its editable self; a few of its pins exist only as sdists, so wheels
  # are built here (same interpreter family as the image: CPython 3.11, glibc x86_64).
  # pip freeze leaves setuptools out of requirements.txt, but zc.lockfile (DVC) declares it.
  { grep -v '^-e ' "$repo/requirements.txt"; echo "setuptools==$SETUPTOOLS_VERSION"; } > "$out/requirements-tools.txt"
  "${pip[@]}" wheel --no-deps --wheel-dir "$out/wheels" -r "$out/requirements-tools.txt" "pip==$PIP_VERSION"
else
  "${pip[@]}" download --no-deps --only-binary=:all: --implementation cp --python-version 3.11 \
    --abi cp311 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 --dest "$out/wheels" -r "$here/$requirements" "pip==$PIP_VERSION"
fi
mkdir -p "$out/app"
cp "$repo/params.yaml" "$out/app/params.yaml"  # the jobs image's pipeline parameters (monitor)
[ ! -f "$here/.dockerignore" ] || cp "$here/.dockerignore" "$out/"
mkdir -p "$out/model"
if [ -n "$package" ]; then
  cp -R "$package" "$out/model/attrition-model"
fi
if [ -n "$scores" ]; then
  cp "$scores" "$out/model/batch_scores.csv"
fi
# Stage outputs are written 0600 (atomic temp files); the image runs as uid 10001, not their owner.
chmod -R a+rX "$out/model"
echo "$out: $(ls "$out/wheels" | wc -l) wheels, $(du -sm "$out/wheels" | cut -f1) MB"
