"""The course's model from sufficient statistics, streamed by polars: the bounded-memory peer
of `npm run bench:scale`.

Training never holds the rows. For each month, polars' streaming engine reads the five
needed columns, cleans them and sums, per (PULocationID, DOLocationID) pair:
n, Σd, Σd², Σy, Σyd, Σy² (d = trip_distance, y = duration in minutes). The months' tables
are then added up (partial sums merge exactly). That GROUP BY is all the fit needs: the
design's XᵀX and Xᵀy are sums of those per-pair sums, so memory is bounded by one month in
flight and the zone pairs (at most 265² ≈ 70,000), not by the number of months. (One query
over all the months at once held 850 MB at twelve months against 340 MB month by month.)
Any engine that can GROUP BY (DuckDB, Spark) could produce the same table over TLC's whole
history.

The fit is the course's: centre (the intercept), take the minimum-norm least-squares solution
of the rank-deficient one-hot design (what scikit-learn's centred LSQR converges to), with the
same feature columns as DictVectorizer. RMSEs come exactly from the per-pair sums as well: the
squared error of a pair's rows is a quadratic in its sums, so validation is one more GROUP BY.

Usage: python polars_stats.py TRAIN[,TRAIN...] VAL [--color yellow|green|fhvhv]
Prints one JSON object on stdout (the shape of the CLI's metrics JSON), with `pairs`, the
number of zone pairs summed.
"""

import sys

import numpy as np
import polars as pl

from bench_common import TRIP_COLUMNS, Clock, Vocabulary, emit, parse_args, report, split
from polars_pipeline import rows_in, trips

USAGE = 'polars_stats.py TRAIN[,TRAIN...] VAL [--color yellow|green|fhvhv]'
SUMS = ['n', 'sd', 'sdd', 'sy', 'syd', 'syy']


def month_pair_sums(path, color):
    """Per (PU, DO) pair of one file: n, Σd, Σd², Σy, Σyd, Σy² (lazy; collect it streaming)."""
    d, y = pl.col('trip_distance').cast(pl.Float64), pl.col('duration')
    return (
        trips(path, color)
        .group_by('PULocationID', 'DOLocationID')
        .agg(n=pl.len().cast(pl.Float64), sd=d.sum(), sdd=(d * d).sum(), sy=y.sum(), syd=(y * d).sum(), syy=(y * y).sum())
    )


def pair_sums(paths, color):
    """The per-pair sums of all `paths`, a month at a time, merged by adding them up."""
    months = [month_pair_sums(path, color).collect(engine='streaming') for path in paths]
    return pl.concat(months, how='vertical_relaxed').group_by('PULocationID', 'DOLocationID').agg(pl.col(SUMS).sum()).sort('PULocationID', 'DOLocationID')


def normal_equations(vocab, pairs):
    """XᵀX, Xᵀy and the column sums of the design (without intercept) from the per-pair sums."""
    p = len(vocab.names)
    pu = vocab.codes('PULocationID', pairs['PULocationID'].to_numpy())
    do = vocab.codes('DOLocationID', pairs['DOLocationID'].to_numpy())
    n, sd, sdd, sy, syd = (pairs[c].to_numpy() for c in SUMS[:5])
    dist = vocab.distance_column
    xtx, xty = np.zeros((p, p)), np.zeros(p)
    for cols in (pu, do):
        np.add.at(xtx, (cols, cols), n)
        np.add.at(xtx, (cols, dist), sd)
        np.add.at(xtx, (dist, cols), sd)
        np.add.at(xty, cols, sy)
    np.add.at(xtx, (pu, do), n)
    np.add.at(xtx, (do, pu), n)
    xtx[dist, dist] = sdd.sum()
    xty[dist] = syd.sum()
    col_sums = np.diag(xtx).copy()  # a one-hot column's sum is its sum of squares
    col_sums[dist] = sd.sum()
    return xtx, xty, col_sums, n.sum(), sy.sum()


def min_norm_solve(xtx, xty, col_sums, rows, y_sum):
    """Coefficients and intercept of the centred least-squares problem, minimum norm.

    Columns are scaled to unit norm first (distances next to one-hot 1s); the null space
    (each one-hot block sums to the intercept column) is found in the scaled system and
    projected out in the original coordinates, as the minimum-norm solution requires.
    """
    mean = col_sums / rows
    c = xtx - rows * np.outer(mean, mean)
    b = xty - mean * y_sum
    scale = 1 / np.sqrt(np.maximum(np.diag(c), np.finfo(float).tiny))
    values, vectors = np.linalg.eigh(c * np.outer(scale, scale))
    kept = values > values.max() * 1e-12
    coef = scale * (vectors[:, kept] @ ((vectors[:, kept].T @ (scale * b)) / values[kept]))
    null = scale[:, None] * vectors[:, ~kept]
    if null.shape[1]:
        q, _ = np.linalg.qr(null)
        coef -= q @ (q.T @ coef)
    return coef, y_sum / rows - mean @ coef


def squared_error(vocab, pairs, coef, intercept):
    """Σ(y − ŷ)² over the rows behind the pair sums, with ŷ = a + c·d per pair."""
    a = np.full(len(pairs), intercept)
    for col in ('PULocationID', 'DOLocationID'):
        codes = vocab.codes(col, pairs[col].to_numpy())
        a += np.where(codes >= 0, coef[np.maximum(codes, 0)], 0.0)
    c = coef[vocab.distance_column]
    n, sd, sdd, sy, syd, syy = (pairs[k].to_numpy() for k in SUMS)
    return float(np.sum(syy - 2 * a * sy - 2 * c * syd + a * a * n + 2 * a * c * sd + c * c * sdd)), float(n.sum())


def main(train_paths, val_path, color):
    clock = Clock()
    train_pairs, val_pairs = pair_sums(train_paths, color), pair_sums([val_path], color)
    clock.lap('read_clean_and_sum')

    vocab = Vocabulary(train_pairs['PULocationID'].to_numpy(), train_pairs['DOLocationID'].to_numpy())
    xtx, xty, col_sums, rows, y_sum = normal_equations(vocab, train_pairs)
    coef, intercept = min_norm_solve(xtx, xty, col_sums, rows, y_sum)
    clock.lap('fit')

    (sse_train, n_train), (sse_val, n_val) = (squared_error(vocab, p, coef, intercept) for p in (train_pairs, val_pairs))
    clock.lap('evaluate')
    return report(
        'polars_stats', clock,
        split(rows_in(train_paths), n_train, float(np.sqrt(max(sse_train, 0) / n_train))),
        split(rows_in(val_path), n_val, float(np.sqrt(max(sse_val, 0) / n_val))),
        len(vocab.names),
        pairs=len(train_pairs),
    )


if __name__ == '__main__':
    trains, val, opts = parse_args(USAGE, sys.argv[1:], options=['--color'])
    if opts.get('--color', 'yellow') not in TRIP_COLUMNS:
        sys.exit(f'usage: {USAGE}')
    emit(main(trains, val, opts.get('--color', 'yellow')))
