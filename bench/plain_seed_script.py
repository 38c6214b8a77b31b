"""The seed exercise as one plain script: the yardstick the DVC pipeline's overhead is measured against.

Generate one dataset version, fit the seed's logistic regression, print accuracy/precision/recall,
dump the model with joblib, load it back and check its predictions. No DVC, no validation, no
package: what a data scientist would write first. `bench_pipeline.py` times it in the same run;
`bench_retrain.py` runs it with --data on the feature store's training set instead of generating.

    .venv/bin/python bench/plain_seed_script.py --rows 800 --out /tmp/plain
    .venv/bin/python bench/plain_seed_script.py --data training_rows.csv --out /tmp/plain
"""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_score, recall_score
from sklearn.model_selection import train_test_split

from attrition.method.synthetic import generate_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=800)
    parser.add_argument("--version", type=int, default=3)
    parser.add_argument("--data", type=Path, help="train on these rows (a CSV) instead of generating")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.data is not None:
        frame = pd.read_csv(args.data)
    else:
        frame = generate_frame(args.version, args.rows)
        frame.to_csv(args.out / f"employee_attrition_v{args.version}.csv", index=False)
    X = frame[["age", "monthly_income", "years_at_company"]].join(
        frame["job_role"].str.get_dummies().astype(float)
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, frame["attrition"], test_size=0.2, random_state=42, stratify=frame["attrition"]
    )
    model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    predicted = model.predict(X_test)
    print(
        f"accuracy {accuracy_score(y_test, predicted):.3f} precision "
        f"{precision_score(y_test, predicted, zero_division=0):.3f} "
        f"recall {recall_score(y_test, predicted):.3f}"
    )
    joblib.dump(model, args.out / "model.joblib")
    loaded = joblib.load(args.out / "model.joblib")
    assert np.array_equal(loaded.predict(X_test), predicted)


if __name__ == "__main__":
    main()
