/*-------------------------------------------------------------------------
 *
 * fold.c
 *	  analytics.fold_range(lo, hi, d_from, d_to): folds the finished events
 *	  whose recorded_xid is in [lo, hi) (and, for a rebuild, whose day is in
 *	  [d_from, d_to]: the local day for per-user rollups, the UTC day for the
 *	  others) into every rollup.  Returns the number of events read.
 *
 *	  A cursor reads the batch into in-memory aggregates of every rollup
 *	  (fold_aggregate.c), bounded by maintenance_work_mem (beyond it, what is
 *	  gathered is written and aggregation starts afresh); then each rollup's
 *	  new keys are inserted as COPY does (fold_direct.c) and one statement
 *	  upserts the rest of its groups (fold_write.c), the merge rules (sums,
 *	  sketch union, sorted set union) staying in SQL.  Last, the threshold sweep (notify.c) for the users
 *	  with an event of the last day.  fold_int.h is private to the four.
 *
 *	  The caller (fold(), refold_range()) holds the fold state row lock, so
 *	  no other fold writes the rollups meanwhile.  Internal: not granted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "fold_int.h"
#include "guc.h"
#include "notify.h"

PG_FUNCTION_INFO_V1(ua_fold_range);

/* The OID of a type of schema analytics. */
static Oid
analytics_type(const char *name)
{
	TypeName   *tn = makeTypeNameFromNameList(list_make2(makeString("analytics"),
														 makeString(unconstify(char *, name))));

	return typenameTypeId(NULL, tn);
}

/* Write every rollup: one upsert each, its arrays in write_cxt. */
static void
fold_flush(Fold *f)
{
	MemoryContext old = MemoryContextSwitchTo(f->write_cxt);

	ua_fold_finish(f);
	ua_fold_write(f);
	MemoryContextSwitchTo(old);
	MemoryContextReset(f->write_cxt);
}

/*
 * The batch is read through a cursor.  When the aggregates outgrow
 * maintenance_work_mem they are written and started afresh: every merge is
 * a sum or a union, so the rollups end the same, only written more than
 * once.
 */
Datum
ua_fold_range(PG_FUNCTION_ARGS)
{
	Datum		args[4];
	char		nulls[4];
	Fold		f;
	MemoryContext caller = CurrentMemoryContext;
	Portal		cursor;
	int64		events = 0;
	int			flushes = 0;
	TimestampTz started = GetCurrentTimestamp();
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("fold_range needs both transaction id bounds")));

	for (i = 0; i < 4; i++)
	{
		args[i] = PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}

	SPI_connect();
	f.sketch_type = analytics_type("latency_sketch");
	f.write_cxt = AllocSetContextCreate(caller, "usage_analytics fold write", ALLOCSET_DEFAULT_SIZES);
	ua_fold_start(&f, caller);
	f.sweep = NULL;
	f.sweep_cxt = caller;
	f.sweep_from = GetCurrentTransactionStartTimestamp() - USECS_PER_DAY;
	/*
	 * The sweep runs on a Citus cluster too (on the coordinator, its reads
	 * and notification rows routed to the users' shards).
	 */
	if (PG_ARGISNULL(2) && PG_ARGISNULL(3) && ua_notify_enabled)
		ua_fold_sweep_create(&f, caller);

	cursor = ua_fold_open_batch(args, nulls);
	for (;;)
	{
		uint64		fetched = ua_fold_fetch(&f, cursor);

		if (fetched == 0)
			break;
		events += fetched;
		if (MemoryContextMemAllocated(f.cxt, true) > (Size) maintenance_work_mem * 1024)
		{
			fold_flush(&f);
			MemoryContextDelete(f.cxt);
			ua_fold_start(&f, caller);
			flushes++;
		}
	}
	SPI_cursor_close(cursor);
	elog(DEBUG1, "usage_analytics fold: aggregates of the last part: %zu kB",
		 MemoryContextMemAllocated(f.cxt, true) / 1024);
	fold_flush(&f);

	/*
	 * Thresholds the batch's writers reached together without any of them
	 * seeing it (notify.c): each user's periods at its latest event (not
	 * after now), as everything committed so far has it.
	 */
	if (f.sweep != NULL)
	{
		MemoryContext each = AllocSetContextCreate(caller, "usage_analytics threshold sweep",
												   ALLOCSET_DEFAULT_SIZES);
		TimestampTz now = GetCurrentTransactionStartTimestamp();
		HASH_SEQ_STATUS seq;
		SweepUser  *e;

		hash_seq_init(&seq, f.sweep);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(each);

			CHECK_FOR_INTERRUPTS();
			ua_notify_at(PointerGetDatum(e->user), Min(e->at, now));
			MemoryContextSwitchTo(old);
			MemoryContextReset(each);
		}
		MemoryContextDelete(each);
		hash_destroy(f.sweep);
	}
	elog(DEBUG1, "usage_analytics fold: " INT64_FORMAT " events in %.1f ms, %d early writes",
		 events, (double) (GetCurrentTimestamp() - started) / 1000.0, flushes);

	SPI_finish();
	MemoryContextDelete(f.cxt);
	MemoryContextDelete(f.write_cxt);
	PG_RETURN_INT64(events);
}
