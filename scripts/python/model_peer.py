"""scikit-learn's side of `npm run bench:model`: the course's three estimators on a full month's
sparse design, timed fit by fit.

For each feature set (the course's zones, `PULocationID` + `DOLocationID`; the pair `PU_DO`;
both with `trip_distance`) it builds the one-hot design from the month's columns with numpy
(the same columns DictVectorizer would give, in another order; building it is not timed), then
times `fit` of the course's lines as written:
- LinearRegression()  (sparse LSQR, tol=1e-6)
- Ridge()             (alpha=1; sparse input with an intercept: sparse_cg, tol=1e-4)
- Lasso(0.01)         (coordinate descent on the sparse matrix, tol=1e-4, max_iter=1000;
                       int32 CSR indices, as scikit-learn 1.9 requires)
and reports each fit's seconds and training RMSE.

Usage: python model_peer.py TRAIN.parquet [--color yellow|green] [--estimators Lasso,Ridge,LinearRegression]
Prints one JSON object on stdout: {"rows": n, "fits": [{"features", "estimator", "seconds", "rmseTrain", "columns"}]}.
"""

import json
import sys
import time

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.metrics import root_mean_squared_error


def read_month(path, prefix):
    """The five needed columns; duration in minutes; rows with a null dropped; 1 <= duration <= 60."""
    pickup, dropoff = f"{prefix}_pickup_datetime", f"{prefix}_dropoff_datetime"
    table = pq.read_table(path, columns=[pickup, dropoff, "PULocationID", "DOLocationID", "trip_distance"]).drop_null()
    seconds = pc.divide(pc.cast(pc.subtract(table[dropoff], table[pickup]), "int64"), 1_000_000).to_numpy(zero_copy_only=False)
    duration = seconds / 60
    keep = (duration >= 1) & (duration <= 60)
    column = lambda name: table[name].to_numpy(zero_copy_only=False)[keep]
    return column("PULocationID").astype(np.int64), column("DOLocationID").astype(np.int64), column("trip_distance").astype(np.float64), duration[keep]


def design(groups, distance):
    """CSR with one one-hot column per distinct value of each group, then trip_distance."""
    n = len(distance)
    indices, offset = [], 0
    for codes in groups:
        _, inverse = np.unique(codes, return_inverse=True)
        indices.append(inverse + offset)
        offset += int(inverse.max()) + 1
    indices.append(np.full(n, offset))
    k = len(indices)
    X = sp.csr_matrix(
        (np.concatenate([np.ones(n * (k - 1)), distance]).reshape(k, n).T.ravel(), np.stack(indices, axis=1).ravel().astype(np.int32), np.arange(0, n * k + 1, k, dtype=np.int32)),
        shape=(n, offset + 1),
    )
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    return X


def main(argv):
    if not argv or argv[0].startswith("--"):
        print(__doc__)
        return 2
    prefix = "lpep" if "--color" in argv and argv[argv.index("--color") + 1] == "green" else "tpep"
    chosen = argv[argv.index("--estimators") + 1].split(",") if "--estimators" in argv else ["LinearRegression", "Ridge", "Lasso"]
    pu, do, distance, y = read_month(argv[0], prefix)
    fits = []
    for features, groups in [("course", [pu, do]), ("pairs", [pu * 100_000 + do])]:
        X = design(groups, distance)
        for name, make in [("LinearRegression", LinearRegression), ("Ridge", Ridge), ("Lasso", lambda: Lasso(0.01))]:
            if name not in chosen:
                continue
            model = make()
            t = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - t
            fits.append({
                "features": features,
                "estimator": name,
                "columns": X.shape[1],
                "seconds": seconds,
                "rmseTrain": float(root_mean_squared_error(y, model.predict(X))),
            })
    print(json.dumps({"rows": int(len(y)), "fits": fits}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
