"""A tuned pandas version of the course's week 1 training code.

Used by `npm run bench` as the strong pandas baseline. Same model and same numbers as
course_as_written.py, written the way an experienced pandas user would:
- read only the five needed columns (column projection in pyarrow);
- compute the duration vectorised (`.dt.total_seconds()`), no per-row `apply`;
- build the one-hot design straight from the location IDs as a CSR matrix
  (bench_common.design_matrix), instead of a dict per row (DictVectorizer) or OneHotEncoder,
  which spent 7 of this script's 9 seconds;
- LinearRegression on the sparse matrix (the same LSQR solver as the course's code).
Rows with a null in one of the five columns are dropped, as this project's pipeline does.

Usage: python course_tuned.py TRAIN.parquet VAL.parquet [--color yellow|green] [--exact] [--tol T]
Prints one JSON object on stdout (same shape as course_as_written.py).

--exact fits on the dense matrix (scipy's lstsq, the exact least-squares solution) instead of
the sparse LSQR iteration, whose default tolerance stops early when trip_distance has huge
outliers (RMSEs then differ in the third or fourth digit). Only for small files: tests use it.
--tol sets LinearRegression's LSQR tolerance (default scikit-learn's 1e-6).
"""

import sys

import pandas as pd

from bench_common import CATEGORICAL, NUMERICAL, PREFIX, Clock, Vocabulary, design_matrix, emit, fit_and_score, parse_args, report, split

USAGE = 'course_tuned.py TRAIN.parquet VAL.parquet [--color yellow|green] [--exact] [--tol T]'


def read_dataframe(filename, prefix='tpep'):
    pickup, dropoff = f'{prefix}_pickup_datetime', f'{prefix}_dropoff_datetime'
    df = pd.read_parquet(filename, columns=[pickup, dropoff, *CATEGORICAL, *NUMERICAL])
    rows_read = len(df)
    # A column with nulls comes back as float64 (NaN); the IDs are integers again once they are gone.
    df = df.dropna().astype({col: 'int64' for col in CATEGORICAL})
    duration = (df[dropoff] - df[pickup]).dt.total_seconds() / 60
    keep = ((duration >= 1) & (duration <= 60)).to_numpy()
    df = df.loc[keep, [*CATEGORICAL, *NUMERICAL]]
    df['duration'] = duration.to_numpy()[keep]
    return df, rows_read


def design(vocab, df):
    return design_matrix(vocab, df['PULocationID'].to_numpy(), df['DOLocationID'].to_numpy(), df['trip_distance'].to_numpy())


def main(train_path, val_path, prefix, exact=False, tol=None):
    clock = Clock()
    df_train, rows_read_train = read_dataframe(train_path, prefix)
    df_val, rows_read_val = read_dataframe(val_path, prefix)
    clock.lap('read_and_clean')

    vocab = Vocabulary(df_train['PULocationID'].to_numpy(), df_train['DOLocationID'].to_numpy())
    X_train, X_val = design(vocab, df_train), design(vocab, df_val)
    y_train, y_val = df_train['duration'].to_numpy(), df_val['duration'].to_numpy()
    clock.lap('vectorize')

    rmse_train, rmse_val = fit_and_score(clock, X_train, y_train, X_val, y_val, tol=tol, exact=exact)
    return report(
        'course_tuned', clock,
        split(rows_read_train, len(y_train), rmse_train),
        split(rows_read_val, len(y_val), rmse_val),
        len(vocab.names),
    )


if __name__ == '__main__':
    trains, val, opts = parse_args(USAGE, sys.argv[1:], flags=['--exact'], options=['--color', '--tol'])
    if len(trains) != 1 or opts.get('--color', 'yellow') not in PREFIX:
        sys.exit(f'usage: {USAGE}')
    tol = float(opts['--tol']) if '--tol' in opts else None
    emit(main(trains[0], val, PREFIX[opts.get('--color', 'yellow')], opts['--exact'], tol))
