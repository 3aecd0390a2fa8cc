"""pyarrow's read + clean of TLC months: the peer `npm run bench:read` measures ours against.

The same work as the library's readTrips + cleanTrips: read the five needed columns, compute
the duration in minutes, keep the rows without nulls and with 1 <= duration <= 60, and keep
their zones, distances and durations as numpy arrays. Timed after the imports, once in a fresh
process ("first") and then again ("warm"), as the TypeScript side is.

Usage: python read_peer.py [--threads N] [--warm K] FILE... ; prints one JSON object.
"""
import argparse
import json
import resource
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - t0


def columns_of(path):
    names = pq.ParquetFile(path).schema_arrow.names
    prefix = "tpep" if "tpep_pickup_datetime" in names else "lpep"
    return [f"{prefix}_pickup_datetime", f"{prefix}_dropoff_datetime", "PULocationID", "DOLocationID", "trip_distance"]


def read_and_clean(path, threads):
    pickup, dropoff, pu, do, distance = columns_of(path)
    table = pq.read_table(path, columns=[pickup, dropoff, pu, do, distance], use_threads=threads > 1)
    minutes = pc.divide(pc.cast(pc.subtract(table[dropoff], table[pickup]), pa.int64()), 60_000_000.0)
    keep = pc.and_(pc.greater_equal(minutes, 1.0), pc.less_equal(minutes, 60.0))
    for name in (pu, do, distance):
        keep = pc.and_(keep, pc.is_valid(table[name]))
    keep = pc.fill_null(keep, False)
    kept = table.filter(keep)
    out = {
        "PULocationID": kept[pu].to_numpy(),
        "DOLocationID": kept[do].to_numpy(),
        "trip_distance": kept[distance].to_numpy(),
        "duration": minutes.filter(keep).to_numpy(),
    }
    return len(table), len(out["duration"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warm", type=int, default=2)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    pa.set_cpu_count(args.threads)
    pa.set_io_thread_count(max(1, args.threads))
    runs = []
    rows = kept = 0
    for _ in range(1 + args.warm):
        started = time.perf_counter()
        rows = kept = 0
        for path in args.files:
            r, k = read_and_clean(path, args.threads)
            rows += r
            kept += k
        runs.append(time.perf_counter() - started)
    print(json.dumps({
        "importSeconds": IMPORT_SECONDS,
        "firstSeconds": runs[0],
        "warmSeconds": min(runs[1:]) if len(runs) > 1 else None,
        "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": rows,
        "kept": kept,
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
    }))


if __name__ == "__main__":
    main()
