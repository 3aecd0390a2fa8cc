"""The course's model as a strong engineer would write it today: polars + numpy + scikit-learn.

Used by `npm run bench` as the main peer, and with --tol 1e-12 as the exact least-squares
reference the benchmark checks every pipeline against.
- polars scans the parquet lazily, reading only the five needed columns, and computes the
  duration and the 1–60 minute filter vectorised; train and validation are collected together
  (`pl.collect_all`), on every core;
- the one-hot design is a CSR matrix built straight from the location IDs with numpy
  (bench_common.design_matrix: DictVectorizer's columns, no dict per row);
- scikit-learn's LinearRegression fits it (sparse LSQR, as in the course).
Rows with a null in one of the five columns are dropped, as this project's pipeline does.

Usage: python polars_pipeline.py TRAIN[,TRAIN...] VAL [--color yellow|green|fhvhv] [--tol T]
Several training files (comma-separated) are scanned as one table: bench:scale uses that.
--tol sets LinearRegression's LSQR tolerance (atol = btol; default scikit-learn's 1e-6).
Prints one JSON object on stdout (the shape of the CLI's metrics JSON).
"""

import sys

import polars as pl

from bench_common import CATEGORICAL, NUMERICAL, TRIP_COLUMNS, Clock, Vocabulary, design_matrix, emit, fit_and_score, parse_args, report, split

USAGE = 'polars_pipeline.py TRAIN[,TRAIN...] VAL [--color yellow|green|fhvhv] [--tol T]'


def trips(paths, color, min_minutes=1, max_minutes=60):
    """The kept trips of `paths` (a path or a list) of a dataset (`yellow`, `green`, `fhvhv`): location IDs, distance and duration in minutes (lazy)."""
    pickup_name, dropoff_name, distance_name = TRIP_COLUMNS[color]
    pickup, dropoff = pl.col(pickup_name), pl.col(dropoff_name)
    # One scan per file, concatenated: TLC's schema drifts between months (int64 IDs before
    # 2023, `airport_fee` in 2023-01), which one scan over several files refuses.
    needed = [
        pl.scan_parquet(path).select(pickup, dropoff, *CATEGORICAL, pl.col(distance_name).alias('trip_distance'))
        for path in _as_list(paths)
    ]
    return (
        pl.concat(needed, how='vertical_relaxed')
        .drop_nulls()
        # seconds first, then minutes: pandas' total_seconds() / 60, to the last bit
        .with_columns(duration=(dropoff - pickup).dt.total_microseconds() / 1e6 / 60)
        .filter(pl.col('duration').is_between(min_minutes, max_minutes))
        .select(*CATEGORICAL, *NUMERICAL, 'duration')
    )


def rows_in(paths):
    """Rows in the files, from their footers (polars reads no data for this)."""
    return sum(pl.scan_parquet(path).select(pl.len()).collect().item() for path in _as_list(paths))


def _as_list(paths):
    return [paths] if isinstance(paths, str) else list(paths)


def design(vocab, df):
    return design_matrix(vocab, df['PULocationID'].to_numpy(), df['DOLocationID'].to_numpy(), df['trip_distance'].to_numpy())


def main(train_paths, val_path, color, tol=None):
    clock = Clock()
    df_train, df_val = pl.collect_all([trips(train_paths, color), trips(val_path, color)])
    clock.lap('read_and_clean')

    vocab = Vocabulary(df_train['PULocationID'].to_numpy(), df_train['DOLocationID'].to_numpy())
    X_train, X_val = design(vocab, df_train), design(vocab, df_val)
    y_train, y_val = df_train['duration'].to_numpy(), df_val['duration'].to_numpy()
    clock.lap('vectorize')

    rmse_train, rmse_val = fit_and_score(clock, X_train, y_train, X_val, y_val, tol=tol)
    return report(
        'polars' if tol is None else f'polars_tol_{tol:g}', clock,
        split(rows_in(train_paths), len(y_train), rmse_train),
        split(rows_in(val_path), len(y_val), rmse_val),
        len(vocab.names),
        tol=1e-6 if tol is None else tol,
    )


if __name__ == '__main__':
    trains, val, opts = parse_args(USAGE, sys.argv[1:], options=['--color', '--tol'])
    if opts.get('--color', 'yellow') not in TRIP_COLUMNS:
        sys.exit(f'usage: {USAGE}')
    tol = float(opts['--tol']) if '--tol' in opts else None
    emit(main(trains, val, opts.get('--color', 'yellow'), tol))
