"""A tuned pandas version of the course's week 1 training code.

Used by `npm run bench` as the strong Python baseline. Same model and same numbers as
course_as_written.py, written the way an experienced pandas user would:
- read only the five needed columns (column projection in pyarrow);
- compute the duration vectorised (`.dt.total_seconds()`), no per-row `apply`;
- one-hot encode the location IDs with OneHotEncoder (sparse, unknown categories
  ignored, as DictVectorizer ignores unseen features) instead of building a dict per row;
- LinearRegression on the sparse matrix (the same LSQR solver as the course's code).

Usage: python course_tuned.py TRAIN.parquet VAL.parquet [--color yellow|green] [--exact]
Prints one JSON object on stdout (same shape as course_as_written.py).

--exact fits on the dense matrix (scipy's lstsq, the exact least-squares solution) instead of
the sparse LSQR iteration, whose default tolerance stops early when trip_distance has huge
outliers (RMSEs then differ in the third or fourth digit). Only for small files: tests use it.
"""

import json
import resource
import sys
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import scipy.sparse as sp
from sklearn.linear_model import LinearRegression
from sklearn.metrics import root_mean_squared_error
from sklearn.preprocessing import OneHotEncoder

CATEGORICAL = ['PULocationID', 'DOLocationID']


def read_dataframe(filename, prefix='tpep'):
    pickup, dropoff = f'{prefix}_pickup_datetime', f'{prefix}_dropoff_datetime'
    df = pd.read_parquet(filename, columns=[pickup, dropoff, *CATEGORICAL, 'trip_distance'])
    rows_read = len(df)
    duration = (df[dropoff] - df[pickup]).dt.total_seconds() / 60
    keep = ((duration >= 1) & (duration <= 60)).to_numpy()
    df = df.loc[keep, [*CATEGORICAL, 'trip_distance']]
    df['duration'] = duration.to_numpy()[keep]
    return df, rows_read


def features(encoder, df, fit):
    one_hot = encoder.fit_transform(df[CATEGORICAL]) if fit else encoder.transform(df[CATEGORICAL])
    distance = sp.csr_matrix(df[['trip_distance']].to_numpy(dtype=np.float64))
    return sp.hstack([one_hot, distance], format='csr')


def main(train_path, val_path, prefix, exact=False):
    seconds = {}
    t = time.perf_counter()
    df_train, rows_read_train = read_dataframe(train_path, prefix)
    df_val, rows_read_val = read_dataframe(val_path, prefix)
    seconds['read_and_clean'] = time.perf_counter() - t

    t = time.perf_counter()
    # Integer categories: the same one-hot columns as astype(str) + DictVectorizer, no strings.
    encoder = OneHotEncoder(handle_unknown='ignore', sparse_output=True, dtype=np.float64)
    X_train = features(encoder, df_train, fit=True)
    X_val = features(encoder, df_val, fit=False)
    seconds['vectorize'] = time.perf_counter() - t

    y_train = df_train['duration'].to_numpy()
    y_val = df_val['duration'].to_numpy()

    t = time.perf_counter()
    if exact:
        X_train, X_val = X_train.toarray(), X_val.toarray()
    lr = LinearRegression()
    lr.fit(X_train, y_train)
    seconds['fit'] = time.perf_counter() - t

    t = time.perf_counter()
    rmse_train = root_mean_squared_error(y_train, lr.predict(X_train))
    rmse_val = root_mean_squared_error(y_val, lr.predict(X_val))
    seconds['evaluate'] = time.perf_counter() - t

    return {
        'pipeline': 'course_tuned',
        'train': {'rowsRead': rows_read_train, 'rowsKept': int(len(y_train)), 'rmse': float(rmse_train)},
        'val': {'rowsRead': rows_read_val, 'rowsKept': int(len(y_val)), 'rmse': float(rmse_val)},
        'features': int(X_train.shape[1]),
        'seconds': seconds,
        'peakRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


if __name__ == '__main__':
    args = sys.argv[1:]
    prefix = 'tpep'
    exact = '--exact' in args
    if exact:
        args.remove('--exact')
    if '--color' in args:
        i = args.index('--color')
        prefix = {'yellow': 'tpep', 'green': 'lpep'}[args[i + 1]]
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit('usage: course_tuned.py TRAIN.parquet VAL.parquet [--color yellow|green] [--exact]')
    print(json.dumps(main(args[0], args[1], prefix, exact)))
