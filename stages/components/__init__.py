"""Reduces of the fuzzy dedup stage: LSH buckets -> candidate edges -> connected components -> survivors.

One algorithm, three engines (DuckDB for ``local``, Spark, Ray Data); ``common`` holds the parts they share
so their output is byte-identical: edge verification and the survivor rule.
"""
