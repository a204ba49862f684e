// Package parquet writes records (package report) as Parquet files laid
// out in Hive partitions by UTC date, so that DuckDB, ClickHouse, Spark and
// BigQuery load the results of one process or of many straight away:
//
//	DIR/date=2024-05-01/part-1-of-4.parquet
//	DIR/date=2024-05-02/part-1-of-4.parquet
//	DIR/date=2024-05-02/part-2-of-4.parquet
//
// Start at Create: one Writer per process, shard K of N (1, 1 for a single
// process); Record streams records in; Close makes the files visible.
//
// # Schema
//
// One row a record, one column a JSON field, flat: the signals are
// columns named signals_ and their JSON name (signals_ttl), which every
// engine reads without unnesting. Types: time is TIMESTAMP(MICROS, UTC),
// which every engine reads as its timestamp (Spark rejects NANOS), and
// time_ns is the exact INT64 nanoseconds since the epoch; ports, TTLs and
// the IP ID are INT32, seq and ack INT64 (signed types that hold every
// value: Spark before 3.2 rejects unsigned annotations); capture, flags,
// resetter, state, cause, kernel_reason and signals_zero_window_by are
// dictionary-encoded strings; evidence is a LIST of strings; confidence
// and the millisecond signals are DOUBLE. A field the JSON leaves out when
// it is zero (followup_of, copy_of, group, signals_zero_window_by,
// signals_resetter_ttl_min and _max, connection_closed_first) is NULL
// there. The record's connection summary is flat too, as connection_ and
// its JSON name (connection_history, connection_client_bytes), its start
// a TIMESTAMP(MICROS, UTC) with connection_start_ns beside it; caused_by is
// flat the same way (caused_by_frame, _event, _conn, _delay_ms), NULL on a
// reset that follows no upstream event. The date of the
// partition is in the directory name only, as Hive partitioning has it.
// Pages are zstd-compressed.
//
// # Files and memory
//
// Each file is written under a hidden temporary name (.part-K-of-N.parquet.tmp,
// which no engine's glob of *.parquet reads) and renamed by Close: a reader
// never sees half a file. Close also removes the files of the same shard
// that an earlier run left and this one did not write, in any date, and
// never touches another shard's: a re-run of shard K replaces its output.
//
// Memory is bounded whatever the number of records: a file's rows go out
// as a row group every 65,536 rows, and at most eight dates are open at
// once, some 5 MiB each (11 MiB of live heap with one open, 45 with
// eight). Records of a capture come roughly in time order; a record of a
// ninth date closes the date least recently written to, and should that
// date come again its rows go to a further file of the same shard
// (part-K-of-N.2.parquet, .3, ...), which engines read as part of the
// same partition. Records of more than eight dates interleaved one by
// one (an unsorted merge of captures) would so make a file a run of
// records: correct, but small files; such output is best merged with an
// engine afterwards (DuckDB: COPY ... TO ... (PARTITION_BY date)).
//
// Not a goal: the JSON document's per-capture summary (captures,
// groups), which has no row of its own here.
package parquet
