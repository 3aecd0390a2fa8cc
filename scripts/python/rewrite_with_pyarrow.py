"""Rewrites a parquet file the way TLC's files are written: by pyarrow, ZSTD, about 3 row groups.

Used by the benchmarks (scripts/bench-months.ts): our generator (lib/synthetic.ts) writes
data page v2 without dictionaries, while pyarrow, TLC's writer, dictionary-encodes every
column (timestamps and location IDs included, falling back to plain pages when a dictionary
passes 1 MB) in data page v1. The reader takes another path through such files, so a
benchmark on our own writer's files would measure the wrong decoder.

pyarrow's defaults are kept (dictionary encoding, 1 MB pages, every column OPTIONAL, as Arrow
fields are nullable); only the compression (ZSTD, as TLC) and the row-group size are set:
1,048,576 rows (pyarrow's default, three row groups in a full month), or a third of the rows
for a small file so it still has three.

Rows are rewritten a row group at a time, so memory does not grow with the file.

Usage: python rewrite_with_pyarrow.py SRC.parquet DEST.parquet
Writes DEST.parquet.tmp-<pid> and renames it, so an interrupted run never leaves a half file.
Prints one JSON line: rows, row groups, compression, created_by.
"""

import json
import math
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def rewrite(src, dest):
    source = pq.ParquetFile(src)
    rows = source.metadata.num_rows
    row_group_size = max(1, min(1024 * 1024, math.ceil(rows / 3)))
    tmp = f'{dest}.tmp-{os.getpid()}'
    try:
        # Batch by batch, gathered into row groups of row_group_size: memory holds about one row
        # group, so a 20-million-row high-volume FHV month rewrites as a 3-million-row one does.
        with pq.ParquetWriter(tmp, source.schema_arrow, compression='zstd') as writer:
            pending = None
            for batch in source.iter_batches(batch_size=65536):
                table = pa.Table.from_batches([batch]) if pending is None else pa.concat_tables([pending, pa.Table.from_batches([batch])])
                while table.num_rows >= row_group_size:
                    writer.write_table(table.slice(0, row_group_size), row_group_size=row_group_size)
                    table = table.slice(row_group_size)
                pending = table.combine_chunks()
            if pending is not None and pending.num_rows:
                writer.write_table(pending, row_group_size=row_group_size)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    meta = pq.ParquetFile(dest).metadata
    return {
        'rows': meta.num_rows,
        'rowGroups': meta.num_row_groups,
        'compression': meta.row_group(0).column(0).compression if meta.num_row_groups else None,
        'createdBy': meta.created_by,
    }


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: rewrite_with_pyarrow.py SRC.parquet DEST.parquet')
    print(json.dumps(rewrite(sys.argv[1], sys.argv[2])))
