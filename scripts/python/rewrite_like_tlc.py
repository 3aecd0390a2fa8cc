"""Rewrites a parquet file with pyarrow the way TLC writes its monthly trip files.

TLC's files come from pyarrow (parquet-cpp-arrow): ZSTD pages, data page v1, row groups of
1,048,576 rows (three for a month of about 3 million), and dictionary encoding on every
column, which for the timestamps falls back to PLAIN once the dictionary passes 1 MB. The
project's own writer (hyparquet-writer) uses data page v2 and no dictionary for timestamps,
so reader benchmarks and tests rewrite its months with this script to decode what the real
files hold.

Usage: python rewrite_like_tlc.py IN.parquet OUT.parquet
Writes OUT through a temporary file in its folder, renamed when complete.
"""
import os
import sys

import pyarrow.parquet as pq


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: rewrite_like_tlc.py IN.parquet OUT.parquet")
    source, target = sys.argv[1], sys.argv[2]
    tmp = f"{target}.tmp-{os.getpid()}"
    try:
        table = pq.read_table(source)
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            row_group_size=1_048_576,
            use_dictionary=True,
            data_page_version="1.0",
        )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


if __name__ == "__main__":
    main()
