"""Packages pickled before the layout by capability still open: their pickles name attrition.calibration."""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from attrition.method import calibration
from attrition.modelpkg.artifact import LEGACY_MODULES, load_model


def test_a_model_pickled_under_the_old_module_path_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    model = calibration.RecalibratedClassifier(LogisticRegression(), [-1.0, 1.0], [-2.0, 2.0], "platt").fit(
        X, y
    )
    # Pickle it as a release before 72f2401 did: the class lived in attrition.calibration.
    monkeypatch.setattr(calibration.RecalibratedClassifier, "__module__", "attrition.calibration")
    monkeypatch.setitem(sys.modules, "attrition.calibration", calibration)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    assert b"attrition.calibration" in path.read_bytes()
    monkeypatch.undo()
    sys.modules.pop("attrition.calibration", None)

    loaded = load_model(path)

    assert type(loaded) is calibration.RecalibratedClassifier
    assert np.allclose(loaded.predict_proba(X), model.predict_proba(X))


def test_every_legacy_module_names_an_existing_one() -> None:
    import importlib

    for current in LEGACY_MODULES.values():
        importlib.import_module(current)
