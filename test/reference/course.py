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
- "ridge": Ridge(alpha=1.0), the course's `Ridge()`, with scikit-learn's exact
  solver (solver="cholesky" on the dense design), checked here against an
  independent direct solve (scipy's sparse LU, the centring as a Sherman-Morrison
  correction);
  "courseDefaultRidge": the course's line as written (tol=1e-4).
- "lasso": Lasso(alpha=0.01), the course's line, run to tol=1e-12 (checked here
  against the Lasso optimality conditions); its coefficients, which are zero, the
  RMSEs; "courseDefaultLasso": the course's line as written (tol=1e-4).
  scikit-learn 1.9's Lasso refuses DictVectorizer output unless the CSR's index
  arrays are int32, so they are cast.
- "pairs": the course's engineered feature, PU_DO = PU + '_' + DO (with
  trip_distance): feature names; the exact minimum-norm least squares in closed
  form (per-pair means and the within-pair slope of the distance; scikit-learn's
  sparse LinearRegression(tol=1e-14) agrees to 2e-8, its LSQR's limit on the
  outliers design); ridge and lasso as above.

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
import scipy.sparse
import sklearn
from sklearn.feature_extraction import DictVectorizer
from scipy.sparse import linalg as sparse_linalg
from sklearn.linear_model import Lasso, LinearRegression, Ridge
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
    df["PU_DO"] = df["PULocationID"] + "_" + df["DOLocationID"]
    stats = {
        "rowsRead": rows_read,
        "rowsWithNulls": int(with_nulls.sum()),
        "rowsKept": len(df),
        "durationSum": float(df.duration.sum()),
        "tripDistanceSum": float(df.trip_distance.sum()),
        "tripDistanceMax": float(df.trip_distance.max()),
    }
    return df.reset_index(drop=True), stats


RIDGE_ALPHA = 1.0
LASSO_ALPHA = 0.01
LASSO_TOL = 1e-12


def int32_indices(X):
    """scikit-learn 1.9's Lasso accepts only CSR with 32-bit index arrays."""
    X = X.tocsr().copy()
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    return X


def rel_diff(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def ridge_direct(X, y, alpha):
    """Ridge with an unpenalized intercept, solved directly: (XcᵀXc + αI) w = Xcᵀyc, where
    XcᵀXc = XᵀX − s sᵀ/n is a sparse matrix minus a rank-one term (Sherman-Morrison)."""
    n = X.shape[0]
    s = np.asarray(X.sum(axis=0)).ravel()
    yc = y - y.mean()
    A = (X.T @ X + alpha * scipy.sparse.identity(X.shape[1])).tocsc()
    lu = sparse_linalg.splu(A)
    rhs = X.T @ yc  # = Xcᵀyc, since yc sums to zero
    u, v = lu.solve(rhs), lu.solve(s)
    coef = u + v * (s @ u) / (n - s @ v)
    return coef, y.mean() - (s / n) @ coef


def fit_ridge(X_train, y_train):
    """Ridge(alpha=1.0) with scikit-learn's exact solver (Cholesky on the dense design; its
    sparse solvers are iterative and, on the outliers design, agree with each other only to
    about 2e-7), checked against an independent sparse direct solve."""
    ridge = Ridge(alpha=RIDGE_ALPHA, solver="cholesky").fit(X_train.toarray(), y_train)
    direct, intercept = ridge_direct(X_train, y_train, RIDGE_ALPHA)
    if rel_diff(direct, ridge.coef_) > 1e-9 or abs(intercept - ridge.intercept_) > 1e-9 * max(1.0, abs(intercept)):
        raise SystemExit(f"course.py: Ridge (dense Cholesky) and a sparse direct solve disagree ({rel_diff(direct, ridge.coef_):.3g})")
    return ridge


def fit_lasso(X_train, y_train):
    X32 = int32_indices(X_train)
    lasso = Lasso(alpha=LASSO_ALPHA, tol=LASSO_TOL, max_iter=1_000_000).fit(X32, y_train)
    # Optimality (KKT) of 1/(2n)‖y − Xw − b‖² + α‖w‖₁: |Xcᵀr|/n ≤ α, = α·sign(w) where w ≠ 0.
    n = X32.shape[0]
    r = y_train - lasso.predict(X32)
    grad = (X32.T @ (r - r.mean())) / n
    nz = lasso.coef_ != 0
    worst = max(float(np.max(np.abs(grad[nz] - LASSO_ALPHA * np.sign(lasso.coef_[nz])), initial=0)), float(np.max(np.abs(grad[~nz]), initial=0)) - LASSO_ALPHA)
    if worst > 1e-8:
        raise SystemExit(f"course.py: Lasso did not reach its optimality conditions ({worst:.3g})")
    return lasso


def penalized(model, X_train, y_train, X_val, y_val, sparse_coef=False):
    coef = [float(c) for c in model.coef_]
    out = {
        "alpha": float(model.alpha),
        "intercept": float(model.intercept_),
        "rmseTrain": float(root_mean_squared_error(y_train, model.predict(X_train))),
        "rmseValidation": float(root_mean_squared_error(y_val, model.predict(X_val))),
    }
    if sparse_coef:
        out["tol"] = LASSO_TOL
        out["nonzero"] = [int(j) for j in np.flatnonzero(model.coef_)]
        out["coefNonzero"] = [coef[j] for j in out["nonzero"]]
    else:
        out["coef"] = coef
    return out


def course_default(model, X_train, y_train, X_val, y_val):
    return {
        "rmseTrain": float(root_mean_squared_error(y_train, model.predict(X_train))),
        "rmseValidation": float(root_mean_squared_error(y_val, model.predict(X_val))),
    }


def pairs_least_squares(df_train, X_train, y_train, names):
    """The exact minimum-norm least squares on PU_DO + trip_distance, in closed form: the
    within-pair slope of the distance, per-pair means, and the pair coefficients centred to
    sum to zero (the minimum-norm choice: the pairs sum to the intercept's column)."""
    d = df_train.trip_distance.values
    g = df_train.groupby("PU_DO")
    dc = d - g.trip_distance.transform("mean").values
    yc = y_train - g.duration.transform("mean").values
    slope = float(dc @ yc / (dc @ dc))
    level = g.duration.mean() - slope * g.trip_distance.mean()
    coef = np.zeros(len(names))
    index = {n: j for j, n in enumerate(names)}
    for pair, a in level.items():
        coef[index["PU_DO=" + pair]] = a
    pair_cols = np.array([n.startswith("PU_DO=") for n in names])
    coef[pair_cols] -= coef[pair_cols].mean()
    coef[index["trip_distance"]] = slope
    intercept = float(y_train.mean() - np.asarray(X_train.mean(axis=0)).ravel() @ coef)
    return coef, intercept


def run_pairs(df_train, df_val, y_train, y_val):
    dv = DictVectorizer()
    X_train = dv.fit_transform(df_train[["PU_DO"] + NUMERICAL].to_dict(orient="records"))
    X_val = dv.transform(df_val[["PU_DO"] + NUMERICAL].to_dict(orient="records"))
    names = [str(n) for n in dv.get_feature_names_out()]
    coef, intercept = pairs_least_squares(df_train, X_train, y_train, names)
    # scikit-learn's sparse LinearRegression (LSQR) with a tight tolerance reaches the same answer,
    # to 2e-8 on the outliers design (its conditioning stops LSQR there).
    lsqr = LinearRegression(tol=1e-14).fit(X_train, y_train)
    if rel_diff(coef, lsqr.coef_) > 1e-6:
        raise SystemExit(f"course.py: PU_DO least squares: LSQR and the closed form disagree ({rel_diff(coef, lsqr.coef_):.3g})")
    predict = lambda X: X @ coef + intercept
    ridge = fit_ridge(X_train, y_train)
    lasso = fit_lasso(X_train, y_train)
    X_train32, X_val32 = int32_indices(X_train), int32_indices(X_val)
    return {
        "featureNames": names,
        "exact": {
            "intercept": intercept,
            "coef": [float(c) for c in coef],
            "rmseTrain": float(root_mean_squared_error(y_train, predict(X_train))),
            "rmseValidation": float(root_mean_squared_error(y_val, predict(X_val))),
        },
        "ridge": penalized(ridge, X_train, y_train, X_val, y_val),
        "lasso": penalized(lasso, X_train32, y_train, X_val32, y_val, sparse_coef=True),
    }


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

    ridge = fit_ridge(X_train, y_train)
    lasso = fit_lasso(X_train, y_train)
    X_train32, X_val32 = int32_indices(X_train), int32_indices(X_val)
    # The course's lines as written: Ridge() and Lasso(0.01) at their default tolerance.
    ridge_default = Ridge().fit(X_train, y_train)
    lasso_default = Lasso(LASSO_ALPHA).fit(X_train32, y_train)

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
        "ridge": penalized(ridge, X_train, y_train, X_val, y_val),
        "courseDefaultRidge": course_default(ridge_default, X_train, y_train, X_val, y_val),
        "lasso": penalized(lasso, X_train32, y_train, X_val32, y_val, sparse_coef=True),
        "courseDefaultLasso": course_default(lasso_default, X_train32, y_train, X_val32, y_val),
        "pairs": run_pairs(df_train, df_val, y_train, y_val),
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
        coefficient = ".coef[" in path or ".coefNonzero[" in path
        if coefficient:
            scale = max(scale, 1.0)
        if not math.isclose(expected, actual, rel_tol=tol, abs_tol=tol * scale if coefficient else 0.0):
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
