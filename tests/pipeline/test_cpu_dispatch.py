"""Every DVC output is byte-identical whichever SIMD path NumPy and OpenBLAS take (issue 19).

NumPy picks its float64 ``log``/``exp`` kernels by CPU at run time (AVX-512 has its own, which differ
from the C library's in the last bit), and OpenBLAS its BLAS kernels. On one machine the test compares
the session's repository template (`dvc repro` under the default dispatch) with every stage rebuilt,
as dvc.yaml runs it, with NumPy's optional SIMD features this CPU has switched off
(``NPY_DISABLE_CPU_FEATURES``: the top group, then all of them), under two forced OpenBLAS cores
(``OPENBLAS_CORETYPE``) and with glibc's non-FMA ``log``/``exp`` (``GLIBC_TUNABLES``), and requires
the same md5 for every declared output. Each run reports what NumPy, OpenBLAS and libm actually
used, so a setting that did not take is caught, not passed.

Each imitation runs its seven stages one after the other in one Python process
(tests/support/one_process.py: the probe first, then each stage's dvc.yaml command with the project's
modules imported afresh), not one process per stage: the settings act when NumPy and OpenBLAS load,
once per process either way. Alone, this module took 97 s with a process per stage and 47 s so. It is
the stricter check: a stage whose bytes depended on what an earlier stage left in the process would
differ from the template, where `dvc repro` ran each stage in its own process.

The imitations also run the stages on the machine's own BLAS threads and on 1, then 3 OpenMP threads
(``OMP_NUM_THREADS``; the template ran on the suite's share), so a model whose bytes depended on the
core count would differ here too, should a stage stop pinning its work to one thread. This
is where the core-count check lives (it was two forced `dvc repro -f` rebuilds and a train-twice test,
70 s of the suite for a subset of these settings); `dvc repro` reproducing `dvc.lock` byte for byte
is tests/integration/test_dvc_pipeline.py's from-scratch build.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, THREAD_VARIABLES, stage_env
from tests.support.one_process import md5, output_md5s, run_in_one_process, stage_commands

pytestmark = pytest.mark.dvc

OPENBLAS_CORES = {"x86_64": ("Haswell", "Nehalem"), "aarch64": ("NEOVERSEN1", "ARMV8")}
# OpenMP threads (HistGradientBoosting's) per imitation: one, and more than this machine's two cores.
THREAD_COUNTS = ("1", "3")
# glibc's libm picks its log/exp by CPU too (FMA or not): the oldest imitation masks FMA from it.
NO_FMA_LIBM = {"x86_64": "glibc.cpu.hwcaps=-AVX2,-FMA"}

# What the process actually runs on: NumPy's dispatched SIMD groups, the OpenBLAS core(s), whether
# the CPU has FMA, and a fingerprint of the C library's log and exp (which change with its variant).
PROBE = """
import hashlib, json, math
import scipy.linalg  # SciPy's own OpenBLAS, loaded as the stages load it
import sklearn.ensemble  # loads the OpenMP runtime the stages' HistGradientBoosting uses
from numpy._core import _multiarray_umath as umath
from threadpoolctl import threadpool_info
simd = [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)]
blas = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
cores = sorted({i.get("architecture") or "?" for i in blas})
xs = [(k + 0.5) / 20000 for k in range(20000)]
libm = hashlib.md5(repr([(math.log(x), math.exp(-x)) for x in xs]).encode()).hexdigest()[:8]
fma = bool(umath.__cpu_features__.get("FMA3"))
omp = sorted({str(i["num_threads"]) for i in threadpool_info() if i.get("internal_api") == "openmp"})
print(json.dumps({"simd": simd, "openblas": cores, "libm": [libm], "fma": [str(fma)], "omp": omp}))
"""


@dataclass(frozen=True)
class Build:
    """One rebuild: its setting, what NumPy and OpenBLAS actually used, and every output file's md5."""

    env: dict[str, str]
    simd: list[str]
    openblas: list[str]
    libm: str
    omp_threads: list[str]
    outputs: dict[str, str]


def probe(env: dict[str, str]) -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def probe_and_run(
    commands: list[list[str]], cwd: Path, env: dict[str, str], what: str
) -> dict[str, list[str]]:
    """In one process: the probe (before any stage could change a thread limit), then `commands`."""
    return dict(json.loads(run_in_one_process(commands, cwd, env, before=PROBE, what=what).before))


def settings() -> list[dict[str, str]]:
    """The default, then imitations of older CPUs: NumPy's optional SIMD groups off, an older OpenBLAS core.

    The first imitation switches off the top groups (AVX-512 here: the AVX2-only machine of issue 19),
    the next every optional group (the baseline) and FMA for glibc's libm; each is paired with one
    forced OpenBLAS core and one OpenMP thread count, so every value of every switch runs in three
    rebuilds instead of seven.
    """
    found = probe(stage_env())["simd"]
    groups = ([found[1:]] if len(found) > 1 else []) + ([found] if found else [])
    cores = list(OPENBLAS_CORES.get(platform.machine(), ()))
    chosen: list[dict[str, str]] = [{}]
    for number in range(max(len(groups), len(cores))):
        env = {}
        if number < len(groups):
            env["NPY_DISABLE_CPU_FEATURES"] = " ".join(groups[number])
        if number < len(cores):
            env["OPENBLAS_CORETYPE"] = cores[number]
        if number < len(THREAD_COUNTS):
            env["OMP_NUM_THREADS"] = THREAD_COUNTS[number]
        if number == len(groups) - 1 and platform.machine() in NO_FMA_LIBM:
            env["GLIBC_TUNABLES"] = NO_FMA_LIBM[platform.machine()]
        chosen.append(env)
    return chosen


def snapshot_commands(snapshot: Path) -> dict[str, tuple[list[str], list[str]]]:
    return stage_commands(snapshot / "dvc.yaml", snapshot / "params.yaml")


def template_build(template: Path) -> Build:
    """The session's repository template as the default setting: `dvc repro` ran every stage there, in
    the suite's own environment, from scratch (tests/conftest.py)."""
    used = probe(stage_env())
    outputs = output_md5s(template, snapshot_commands(template))
    return Build({}, used["simd"], used["openblas"], used["libm"][0], used["omp"], outputs)


def build(snapshot: Path, workdir: Path, extra: dict[str, str]) -> Build:
    """Run every stage in `workdir` with the snapshot's code and params under `extra`; hash each output."""
    workdir.mkdir(parents=True)
    shutil.copy(snapshot / "params.yaml", workdir / "params.yaml")
    # bytecode beside the build, not in the snapshot's src (the template other tests copy)
    env = stage_env({"PYTHONPATH": str(snapshot / "src"), "PYTHONPYCACHEPREFIX": str(workdir / "pycache")})
    # the machine's own thread counts by default (the suite limits them per xdist worker)
    for key in ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES", "GLIBC_TUNABLES", *THREAD_VARIABLES):
        env.pop(key, None)
    env.update(extra)  # an OPENBLAS_CORETYPE this machine sets stays unless the setting forces one
    commands = snapshot_commands(snapshot)
    used = probe_and_run([command for command, _ in commands.values()], workdir, env, f"stages under {extra}")
    return Build(
        extra, used["simd"], used["openblas"], used["libm"][0], used["omp"], output_md5s(workdir, commands)
    )


def differing(builds: list[Build]) -> list[str]:
    files = set().union(*(b.outputs for b in builds))
    return sorted(f for f in files if len({b.outputs.get(f) for b in builds}) > 1)


def table(builds: list[Build]) -> str:
    """A legend of the settings, then one row per output file with each setting's md5 prefix (* differs)."""
    legend = [
        f"{i}: {' '.join(f'{k}={v!r}' for k, v in b.env.items()) or 'default environment'}\n"
        f"   ran on NumPy SIMD {'+'.join(b.simd) or 'baseline only'}, OpenBLAS {'+'.join(b.openblas)}, "
        f"libm log/exp {b.libm}, OpenMP threads {'+'.join(b.omp_threads)}"
        for i, b in enumerate(builds)
    ]
    files, odd = sorted(set().union(*(b.outputs for b in builds))), set(differing(builds))
    head = f"  {'output':<46}" + "".join(f" {i:<8}" for i in range(len(builds)))
    rows = [
        f"{'*' if f in odd else ' '} {f:<46}"
        + "".join(f" {b.outputs.get(f, 'missing')[:8]:<8}" for b in builds)
        for f in files
    ]
    return "\n".join([*legend, head, *rows])


@pytest.fixture(scope="module")
def builds(repo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Build]:
    """The session's repository template, then every imitation rebuilt with the template's code,
    dvc.yaml and params: one snapshot, taken when the run began (edits meanwhile are not a CPU's
    doing). The template is the default setting's build, so it is not built twice."""
    root = tmp_path_factory.mktemp("dispatch")
    imitations = settings()[1:]
    done = [template_build(repo_template)]
    done += [build(repo_template, root / str(i), extra) for i, extra in enumerate(imitations, start=1)]
    text = table(done)
    (root / "dispatch_md5.txt").write_text(text + "\n", encoding="utf-8")
    print(f"\n{text}\n(also in {root / 'dispatch_md5.txt'})")
    return done


def test_every_output_is_byte_identical_under_every_dispatch(builds: list[Build]) -> None:
    assert len(builds) >= 3 and len(builds[0].outputs) >= 10, table(builds)
    assert not differing(builds), f"outputs differ between settings: {differing(builds)}\n{table(builds)}"


def test_each_setting_took_effect(builds: list[Build]) -> None:
    """A disabled SIMD group still in use, a forced OpenBLAS core or libm variant not taken, tests nothing."""
    has_fma = probe(stage_env())["fma"] == ["True"]
    for b in builds:
        if "GLIBC_TUNABLES" in b.env and has_fma:
            assert b.libm != builds[0].libm, table(builds)
        disabled = set(b.env.get("NPY_DISABLE_CPU_FEATURES", "").split())
        assert not disabled & set(b.simd), table(builds)
        if "OMP_NUM_THREADS" in b.env:
            assert b.omp_threads == [b.env["OMP_NUM_THREADS"]], table(builds)
        if "OPENBLAS_CORETYPE" in b.env:
            assert [core.lower() for core in b.openblas] == [b.env["OPENBLAS_CORETYPE"].lower()], table(
                builds
            )


def test_the_seed_logistic_regression_is_byte_identical_under_every_blas_core(tmp_path: Path) -> None:
    """train.model=logreg reaches its coefficients and its calibration's log-odds through BLAS: the
    train stage must write the same model.joblib under every OpenBLAS core (the default pipeline's
    trees need no BLAS, so the full rebuilds above would not see a linear model's last bits move)."""
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["train"]["model"] = "logreg"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    commands = stage_commands(REPO_ROOT / "dvc.yaml", tmp_path / "params.yaml")
    env = stage_env({"PYTHONPATH": str(REPO_ROOT / "src")})
    for key in THREAD_VARIABLES:  # BLAS on the machine's own thread count, as a user's train runs
        env.pop(key, None)
    models = {}
    for core in ("", *OPENBLAS_CORES.get(platform.machine(), ())):
        run_env = {**env, "OPENBLAS_CORETYPE": core} if core else env
        # the default's process also writes the data the others train on
        steps = ("train",) if models else ("generate", "extract", "train")
        used = probe_and_run(
            [commands[s][0] for s in steps], tmp_path, run_env, f"train on {core or 'default'}"
        )
        assert core in "".join(used["openblas"]) or not core, f"OPENBLAS_CORETYPE={core} not taken"
        models[core or "default"] = md5(tmp_path / "models" / "model.joblib")
    assert len(models) >= 2
    assert len(set(models.values())) == 1, models
