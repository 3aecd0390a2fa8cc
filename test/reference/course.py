"""The course's week-1 pipeline in pandas + pyarrow + scikit-learn: the reference
that test/parity.test.ts holds the TypeScript library to.

Nothing here shares code with the TypeScript. For each design (a training and a
validation parquet file in test/reference/trips/) it reads the file, computes the
duration in minutes, drops rows with a null in the five needed columns, keeps
1 <= duration <= 60, one-hot encodes PULocationID / DOLocationID as strings with
DictVectorizer (plus trip_distance), fits LinearRegression and scores RMSE, as the
course's notebook does. It records:

- rows read / with nulls / kept and sums over the kept rows (same rows kept?),
- the feature names in order,
- "exact": LinearRegression fitted on the dense design with tol=1e-10, which is
  scipy's SVD least squares: the minimum-norm least-squares solution (checked here
  against numpy.linalg.lstsq on the centred design). This is what the library
  must match to 1e-6.
- "courseDefault": LinearRegression() on the sparse design, exactly the course's
  line. scikit-learn then runs LSQR with tol=1e-6, which stops short of the
  optimum (predictions several percent off on these files, far more with
  trip_distance outliers); recorded so the tests can show the library's train RMSE
  is never worse than it.
- predictions on sample rows (spread out, the largest trip distances, and
  validation rows whose location was never seen in training).

Usage (from the project root):
    .venv/bin/python test/reference/course.py TRAIN.parquet VAL.parquet   # print one result
    .venv/bin/python test/reference/course.py --write                    # rewrite the goldens
    .venv/bin/python test/reference/course.py --check                    # recompute, diff, exit 1 on mismatch

Differences from the course's code, on purpose: rows with a null in a needed
column are dropped first (the course's `astype(str)` would turn a column with a
null ID into '132.0' strings, and scikit-learn rejects a null distance); the
duration uses `.dt.total_seconds()` instead of `.apply(...)` (same numbers, faster).
"""
import json
import math
import pathlib
import platform
import sys

import numpy as np
import pandas as pd
import pyarrow
import scipy
import sklearn
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression
from sklearn.metrics import root_mean_squared_error

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent.parent
CATEGORICAL = ["PULocationID", "DOLocationID"]
NUMERICAL = ["trip_distance"]

DESIGNS = [
    {
        "name": "base",
        "description": "Two 10,000-row months with the generator's default quirks (nulls, out-of-range durations, a few huge distances that come with a garbled clock and are filtered out).",
        "train": "trips/yellow_tripdata_2024-01.parquet",
        "validation": "trips/yellow_tripdata_2024-02.parquet",
    },
    {
        "name": "outliers",
        "description": "2% of trips with trip_distance between 1,000 and 300,000 miles on ordinary trips (kept by the filter) in both months: the conditioning test.",
        "train": "trips/yellow_tripdata_2024-03.parquet",
        "validation": "trips/yellow_tripdata_2024-04.parquet",
    },
    {
        "name": "unseen",
        "description": "Training on 500 trips, validating on 10,000: many validation rows have a location never seen in training.",
        "train": "trips/yellow_tripdata_2024-05.parquet",
        "validation": "trips/yellow_tripdata_2024-02.parquet",
    },
]


def read_dataframe(path):
    """The course's read_dataframe, plus dropping nulls in the needed columns."""
    df = pd.read_parquet(path)
    prefix = "tpep" if "tpep_pickup_datetime" in df.columns else "lpep"
    pickup, dropoff = f"{prefix}_pickup_datetime", f"{prefix}_dropoff_datetime"
    rows_read = len(df)
    needed = [pickup, dropoff] + CATEGORICAL + NUMERICAL
    with_nulls = df[needed].isna().any(axis=1)
    df = df[~with_nulls].copy()
    df["duration"] = (df[dropoff].astype("datetime64[us]") - df[pickup].astype("datetime64[us]")).dt.total_seconds() / 60
    df = df[(df.duration >= 1) & (df.duration <= 60)].copy()
    # int64 first: a nullable or float-typed ID column would otherwise print as '132.0'.
    df[CATEGORICAL] = df[CATEGORICAL].astype("int64").astype(str)
    stats = {
        "rowsRead": rows_read,
        "rowsWithNulls": int(with_nulls.sum()),
        "rowsKept": len(df),
        "durationSum": float(df.duration.sum()),
        "tripDistanceSum": float(df.trip_distance.sum()),
        "tripDistanceMax": float(df.trip_distance.max()),
    }
    return df.reset_index(drop=True), stats


def run(train_path, validation_path):
    df_train, train_stats = read_dataframe(train_path)
    df_val, val_stats = read_dataframe(validation_path)

    dv = DictVectorizer()
    X_train = dv.fit_transform(df_train[CATEGORICAL + NUMERICAL].to_dict(orient="records"))
    X_val = dv.transform(df_val[CATEGORICAL + NUMERICAL].to_dict(orient="records"))
    y_train = df_train.duration.values
    y_val = df_val.duration.values
    names = [str(n) for n in dv.get_feature_names_out()]
    vocab = set(names)
    unseen = ~(("PULocationID=" + df_val.PULocationID).isin(vocab) & ("DOLocationID=" + df_val.DOLocationID).isin(vocab))
    val_stats["unseenRows"] = int(unseen.sum())

    # The course's model, as written (sparse input → LSQR with tol=1e-6).
    course = LinearRegression().fit(X_train, y_train)
    # The exact minimum-norm least-squares solution, with scikit-learn's dense solver.
    exact = LinearRegression(tol=1e-10).fit(X_train.toarray(), y_train)
    # Independent check of "exact": numpy's SVD least squares on the centred design.
    X_dense = X_train.toarray()
    x_mean = X_dense.mean(axis=0)
    coef_np = np.linalg.lstsq(X_dense - x_mean, y_train - y_train.mean(), rcond=None)[0]
    check = float(np.max(np.abs(coef_np - exact.coef_)) / max(1.0, np.max(np.abs(exact.coef_))))
    if check > 1e-7:
        raise SystemExit(f"course.py: scikit-learn's dense solution and numpy's lstsq disagree ({check:.3g})")

    def scores(model, dense):
        to = (lambda X: X.toarray()) if dense else (lambda X: X)
        p_train = model.predict(to(X_train))
        p_val = model.predict(to(X_val))
        return p_train, p_val, root_mean_squared_error(y_train, p_train), root_mean_squared_error(y_val, p_val)

    e_train, e_val, e_rmse_train, e_rmse_val = scores(exact, True)
    c_train, c_val, c_rmse_train, c_rmse_val = scores(course, False)

    samples = []

    def add(split, df, rows, pred_exact, pred_course):
        for i in rows:
            i = int(i)
            if any(s["split"] == split and s["row"] == i for s in samples):
                continue
            samples.append({
                "split": split,
                "row": i,
                "PULocationID": int(df.PULocationID.iloc[i]),
                "DOLocationID": int(df.DOLocationID.iloc[i]),
                "trip_distance": float(df.trip_distance.iloc[i]),
                "duration": float(df.duration.iloc[i]),
                "prediction": float(pred_exact[i]),
                "predictionCourseDefault": float(pred_course[i]),
            })

    for split, df, pe, pc in [("train", df_train, e_train, c_train), ("validation", df_val, e_val, c_val)]:
        n = len(df)
        add(split, df, sorted({0, n // 7, n // 3, n // 2, 2 * n // 3, n - 1}), pe, pc)
        add(split, df, np.argsort(-df.trip_distance.values, kind="stable")[:2], pe, pc)
    add("validation", df_val, np.flatnonzero(unseen.values)[:3], e_val, c_val)

    rel = lambda p: str(pathlib.Path(p).resolve().relative_to(ROOT)) if pathlib.Path(p).resolve().is_relative_to(ROOT) else str(p)
    return {
        "train": {"file": rel(train_path), **train_stats},
        "validation": {"file": rel(validation_path), **val_stats},
        "featureNames": names,
        "exact": {
            "rank": int(exact.rank_),
            "intercept": float(exact.intercept_),
            "coef": [float(c) for c in exact.coef_],
            "rmseTrain": float(e_rmse_train),
            "rmseValidation": float(e_rmse_val),
        },
        "courseDefault": {
            "intercept": float(course.intercept_),
            "rmseTrain": float(c_rmse_train),
            "rmseValidation": float(c_rmse_val),
        },
        "samples": samples,
    }


def versions():
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
        "scikit-learn": sklearn.__version__,
    }


def golden(design):
    result = run(HERE / design["train"], HERE / design["validation"])
    return {"design": design["name"], "description": design["description"], "generatedBy": versions(), **result}


def compare(expected, actual, path="", problems=None):
    """Exact for strings / integers / names; floats relative 1e-9 (1e-6 for the
    course's LSQR, whose stopping point may move with BLAS)."""
    problems = [] if problems is None else problems
    if "generatedBy" in path:
        return problems
    if isinstance(expected, dict):
        if set(expected) != set(actual):
            problems.append(f"{path}: keys {sorted(expected)} != {sorted(actual)}")
        for k in expected:
            if k in actual:
                compare(expected[k], actual[k], f"{path}.{k}", problems)
    elif isinstance(expected, list):
        if len(expected) != len(actual):
            problems.append(f"{path}: length {len(expected)} != {len(actual)}")
        else:
            for i, (e, a) in enumerate(zip(expected, actual)):
                compare(e, a, f"{path}[{i}]", problems)
    elif isinstance(expected, float) or isinstance(actual, float):
        tol = 1e-6 if ("courseDefault" in path or "CourseDefault" in path) else 1e-9
        scale = max(abs(expected), abs(actual), 1e-300)
        if ".coef[" in path:
            scale = max(scale, 1.0)
        if not math.isclose(expected, actual, rel_tol=tol, abs_tol=tol * scale if ".coef[" in path else 0.0):
            problems.append(f"{path}: golden {expected!r} != now {actual!r}")
    elif expected != actual:
        problems.append(f"{path}: golden {expected!r} != now {actual!r}")
    return problems


def main(argv):
    if len(argv) == 2 and not argv[0].startswith("--"):
        print(json.dumps(run(argv[0], argv[1]), indent=1))
        return 0
    if argv == ["--write"]:
        for design in DESIGNS:
            out = HERE / f"{design['name']}.json"
            out.write_text(json.dumps(golden(design), indent=1) + "\n")
            print(f"wrote {out.relative_to(ROOT)}")
        return 0
    if argv == ["--check"]:
        failed = False
        for design in DESIGNS:
            path = HERE / f"{design['name']}.json"
            if not path.exists():
                print(f"parity: {path.relative_to(ROOT)} is missing; run with --write")
                failed = True
                continue
            problems = compare(json.loads(path.read_text()), golden(design))
            status = "ok" if not problems else f"{len(problems)} differences"
            print(f"parity: {design['name']}: {status}")
            for p in problems[:20]:
                print(f"  {p}")
            failed = failed or bool(problems)
        if failed:
            print("parity: the goldens no longer hold; if the change is intended, rerun with --write and review the diff")
        return 1 if failed else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
