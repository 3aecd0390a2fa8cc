"""The course's week 1 training code, as written (pandas + pyarrow + scikit-learn).

Used by `npm run bench` as the reference the TypeScript pipeline is measured against.
The data steps are the course notebook's lines unchanged: read the whole file,
`apply` a Python lambda per row for the duration, filter 1..60 minutes, `astype(str)`
the location IDs, `to_dict(orient='records')`, DictVectorizer, LinearRegression.
The one change is the metric: `mean_squared_error(..., squared=False)` was removed in
scikit-learn 1.6, so we call `root_mean_squared_error` (same number).

Usage: python course_as_written.py TRAIN.parquet VAL.parquet
Prints one JSON object on stdout: rows, RMSEs, feature count, seconds per stage and
peak RSS (bytes, from getrusage; the benchmark also measures it from outside).
"""

import json
import resource
import sys
import time

import pandas as pd
import pyarrow.parquet as pq
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression
from sklearn.metrics import root_mean_squared_error


def read_dataframe(filename):
    df = pd.read_parquet(filename)

    df.tpep_dropoff_datetime = pd.to_datetime(df.tpep_dropoff_datetime)
    df.tpep_pickup_datetime = pd.to_datetime(df.tpep_pickup_datetime)

    df['duration'] = df.tpep_dropoff_datetime - df.tpep_pickup_datetime
    df.duration = df.duration.apply(lambda td: td.total_seconds() / 60)

    df = df[(df.duration >= 1) & (df.duration <= 60)]

    categorical = ['PULocationID', 'DOLocationID']
    df[categorical] = df[categorical].astype(str)

    return df


def main(train_path, val_path):
    seconds = {}
    # Not in the course: rows read, from the footer (no data read) for the metrics.
    rows_read_train = pq.ParquetFile(train_path).metadata.num_rows
    rows_read_val = pq.ParquetFile(val_path).metadata.num_rows

    t = time.perf_counter()
    df_train = read_dataframe(train_path)
    df_val = read_dataframe(val_path)
    seconds['read_and_clean'] = time.perf_counter() - t

    t = time.perf_counter()
    categorical = ['PULocationID', 'DOLocationID']
    numerical = ['trip_distance']

    dv = DictVectorizer()

    train_dicts = df_train[categorical + numerical].to_dict(orient='records')
    X_train = dv.fit_transform(train_dicts)

    val_dicts = df_val[categorical + numerical].to_dict(orient='records')
    X_val = dv.transform(val_dicts)
    seconds['vectorize'] = time.perf_counter() - t

    target = 'duration'
    y_train = df_train[target].values
    y_val = df_val[target].values

    t = time.perf_counter()
    lr = LinearRegression()
    lr.fit(X_train, y_train)
    seconds['fit'] = time.perf_counter() - t

    t = time.perf_counter()
    rmse_train = root_mean_squared_error(y_train, lr.predict(X_train))
    y_pred = lr.predict(X_val)
    rmse_val = root_mean_squared_error(y_val, y_pred)
    seconds['evaluate'] = time.perf_counter() - t

    return {
        'pipeline': 'course_as_written',
        'train': {'rowsRead': rows_read_train, 'rowsKept': int(len(y_train)), 'rmse': float(rmse_train)},
        'val': {'rowsRead': rows_read_val, 'rowsKept': int(len(y_val)), 'rmse': float(rmse_val)},
        'features': len(dv.feature_names_),
        'seconds': seconds,
        # ru_maxrss is in kilobytes on Linux.
        'peakRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: course_as_written.py TRAIN.parquet VAL.parquet')
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
