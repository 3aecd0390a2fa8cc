"""What the benchmark's Python pipelines share: the course's design matrix built straight from
the location IDs, the fit, the scores and the report every pipeline prints.

The design is the course's DictVectorizer output, built without a dict per row or an encoder:
one column per location ID seen in training (``DOLocationID=…``, ``PULocationID=…``) and
``trip_distance``, in DictVectorizer's order (names sorted as strings), as a CSR matrix with
three entries a row. IDs not seen in training get no column and contribute nothing, as
DictVectorizer.transform ignores unseen features.
"""

import json
import resource
import sys
import time

import numpy as np
import scipy.sparse as sp

CATEGORICAL = ['PULocationID', 'DOLocationID']
NUMERICAL = ['trip_distance']
PREFIX = {'yellow': 'tpep', 'green': 'lpep'}
# Each dataset's pickup time, dropoff time and distance columns (high-volume FHV: trip_miles).
TRIP_COLUMNS = {
    'yellow': ('tpep_pickup_datetime', 'tpep_dropoff_datetime', 'trip_distance'),
    'green': ('lpep_pickup_datetime', 'lpep_dropoff_datetime', 'trip_distance'),
    'fhvhv': ('pickup_datetime', 'dropoff_datetime', 'trip_miles'),
}


class Vocabulary:
    """The columns DictVectorizer.fit would make from the training IDs.

    ``ids[name]`` holds the sorted distinct IDs of a categorical column and ``columns[name]``
    the design column of each; ``names`` are the feature names in column order.
    """

    def __init__(self, pu, do):
        self.ids = {'PULocationID': np.unique(pu), 'DOLocationID': np.unique(do)}
        names = sorted(
            [f'{col}={i}' for col, ids in self.ids.items() for i in ids.tolist()] + NUMERICAL
        )
        index = {name: k for k, name in enumerate(names)}
        self.names = names
        self.columns = {
            col: np.array([index[f'{col}={i}'] for i in ids.tolist()], dtype=np.int32)
            for col, ids in self.ids.items()
        }
        self.distance_column = index['trip_distance']

    def codes(self, col, ids):
        """The design column of each ID, or -1 where the ID was not seen in training."""
        known = self.ids[col]
        if len(known) == 0:
            return np.full(len(ids), -1, dtype=np.int32)
        ids = np.asarray(ids)
        if known[0] >= 0 and known[-1] < 1 << 16 and len(ids) and ids.min() >= 0 and ids.max() < 1 << 16:
            # Location IDs are small (1..265): a lookup table is ten times faster than a search.
            table = np.full(max(int(known[-1]), int(ids.max())) + 1, -1, dtype=np.int32)
            table[known] = self.columns[col]
            return table[ids]
        pos = np.minimum(np.searchsorted(known, ids), len(known) - 1)
        return np.where(known[pos] == ids, self.columns[col][pos], -1).astype(np.int32)


def design_matrix(vocab, pu, do, distance):
    """The CSR design of rows (pu, do, distance): up to three entries a row, columns sorted."""
    n = len(distance)
    cols = np.column_stack([
        vocab.codes('DOLocationID', do),  # DOLocationID=… sorts before PULocationID=…,
        vocab.codes('PULocationID', pu),  # which sorts before trip_distance
        np.full(n, vocab.distance_column, dtype=np.int32),
    ])
    data = np.ones((n, 3))
    data[:, 2] = distance
    shape = (n, len(vocab.names))
    keep = cols >= 0
    if keep.all():  # every ID seen in training (always so for the training rows): three entries a row
        return sp.csr_matrix((data.ravel(), cols.ravel(), np.arange(0, 3 * n + 1, 3)), shape=shape)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    return sp.csr_matrix((data[keep], cols[keep], indptr), shape=shape)


class Clock:
    """Seconds per stage, in the order the stages ran."""

    def __init__(self):
        self.seconds = {}
        self._t = time.perf_counter()

    def lap(self, stage):
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._t
        self._t = now


def fit_and_score(clock, X_train, y_train, X_val, y_val, tol=None, exact=False):
    """LinearRegression as the course fits it (sparse LSQR, default tol 1e-6) unless told
    otherwise; returns the train and validation RMSE."""
    # Imported here: polars_stats.py uses this module without scikit-learn, whose import
    # alone takes about half a second of its runs.
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import root_mean_squared_error

    if exact:  # dense, scipy's lstsq: the exact least-squares answer, small files only
        X_train, X_val = X_train.toarray(), X_val.toarray()
    lr = LinearRegression() if tol is None else LinearRegression(tol=tol)
    lr.fit(X_train, y_train)
    clock.lap('fit')
    rmse_train = root_mean_squared_error(y_train, lr.predict(X_train))
    rmse_val = root_mean_squared_error(y_val, lr.predict(X_val))
    clock.lap('evaluate')
    return float(rmse_train), float(rmse_val)


def report(pipeline, clock, train, val, features, **extra):
    """The JSON every benchmark pipeline prints: the shape of the CLI's metrics JSON."""
    return {
        'pipeline': pipeline,
        'train': train,
        'val': val,
        'features': int(features),
        'seconds': clock.seconds,
        # ru_maxrss is in kilobytes on Linux; the benchmark also measures it from outside.
        'peakRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        **extra,
    }


def split(rows_read, rows_kept, rmse):
    return {'rowsRead': int(rows_read), 'rowsKept': int(rows_kept), 'rmse': rmse}


def parse_args(usage, argv, flags=(), options=()):
    """TRAIN[,TRAIN...] VAL plus --flag and --option VALUE; exits with the usage on a mistake."""
    args, found = list(argv), {}
    for flag in flags:
        found[flag] = flag in args
        if found[flag]:
            args.remove(flag)
    for option in options:
        if option in args:
            i = args.index(option)
            if i + 1 >= len(args):
                sys.exit(f'usage: {usage}')
            found[option] = args[i + 1]
            del args[i:i + 2]
    if len(args) != 2 or any(a.startswith('--') for a in args):
        sys.exit(f'usage: {usage}')
    return args[0].split(','), args[1], found


def emit(result):
    print(json.dumps(result))
