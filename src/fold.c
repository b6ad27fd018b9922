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
#include "funcapi.h"
#include "nodes/parsenodes.h"
#include "tcop/pquery.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "fold_int.h"
#include "guc.h"
#include "notify.h"

PG_FUNCTION_INFO_V1(ua_fold_range);

static int64 fold_batch(Fold *fp, Datum *args, char *nulls, MemoryContext caller);

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
	f.events_table = NULL;
	f.n_local = 0;
	SPI_connect();
	PG_RETURN_INT64(fold_batch(&f, args, nulls, caller));
}

/*
 * The shards colocated with chat_events' shard (the same hash range in its
 * colocation group), those of the user-keyed rollups: Fold.local_*.
 */
static void
find_local_shards(Fold *f, int64 shard)
{
	Datum		arg = Int64GetDatum(shard);
	Oid			argtype = INT8OID;
	uint64		i;

	if (SPI_execute_with_args(
			"SELECT c.relname::pg_catalog.text, "
			"       pg_catalog.shard_name(o.logicalrelid, o.shardid) "
			"  FROM pg_catalog.pg_dist_shard s "
			"  JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid OPERATOR(pg_catalog.=) s.logicalrelid "
			"  JOIN pg_catalog.pg_dist_partition q ON q.colocationid OPERATOR(pg_catalog.=) p.colocationid "
			"  JOIN pg_catalog.pg_dist_shard o ON o.logicalrelid OPERATOR(pg_catalog.=) q.logicalrelid "
			"   AND o.shardminvalue OPERATOR(pg_catalog.=) s.shardminvalue "
			"   AND o.shardmaxvalue OPERATOR(pg_catalog.=) s.shardmaxvalue "
			"  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) o.logicalrelid "
			" WHERE s.shardid OPERATOR(pg_catalog.=) $1 "
			"   AND s.logicalrelid OPERATOR(pg_catalog.=) 'analytics.chat_events'::pg_catalog.regclass "
			"   AND c.relnamespace OPERATOR(pg_catalog.=) 'analytics'::pg_catalog.regnamespace "
			"   AND c.relname OPERATOR(pg_catalog.~) '^(chat_events|rollup_.*)$'",
			1, &argtype, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "usage_analytics: fold_shard_range: reading the shard metadata failed");
	f->events_table = NULL;
	f->n_local = 0;
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		char	   *rel = SPI_getvalue(row, SPI_tuptable->tupdesc, 1);
		char	   *name = SPI_getvalue(row, SPI_tuptable->tupdesc, 2);

		if (strcmp(rel, "chat_events") == 0)
			f->events_table = name;
		else if (f->n_local < FOLD_MAX_LOCAL)
		{
			f->local_rollup[f->n_local] = rel;
			f->local_shard[f->n_local] = name;
			f->n_local++;
		}
		else
			elog(ERROR, "usage_analytics: fold_shard_range: too many colocated rollups");
	}
	if (f->events_table == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("shard " INT64_FORMAT " is not a shard of analytics.chat_events", shard)));
}

/*
 * analytics.fold_shard_range(claim, shard): on the Citus node that holds
 * shard (of chat_events), fold its events marked with claim.  They are read
 * from the shard table itself; the user-keyed rollups (colocated) are
 * merged into their shards on this node, as on a single node; the others
 * (reference tables, rollup_org_daily) go through Citus, in this
 * transaction.  Internal: fold_shard() calls it after claiming.
 */
PG_FUNCTION_INFO_V1(ua_fold_shard_range);

Datum
ua_fold_shard_range(PG_FUNCTION_ARGS)
{
	Datum		args[4];
	char		nulls[4] = {' ', ' ', 'n', 'n'};
	Fold		f;
	MemoryContext caller = CurrentMemoryContext;
	int64		claim;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("fold_shard_range needs a claim and a shard")));
	claim = PG_GETARG_INT64(0);
	if (claim == PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("claim out of range")));
	args[0] = Int64GetDatum(claim);
	args[1] = Int64GetDatum(claim + 1);
	args[2] = args[3] = (Datum) 0;
	SPI_connect();
	find_local_shards(&f, PG_GETARG_INT64(1));
	PG_RETURN_INT64(fold_batch(&f, args, nulls, caller));
}

/*
 * Fold the batch of args (fold_range's four) from f->events_table into the
 * rollups; SPI connected, finished here; caller: the context the function
 * was called in.  Returns the events read.
 */
static int64
fold_batch(Fold *fp, Datum *args, char *nulls, MemoryContext caller)
{
	Fold		f = *fp;
	Portal		cursor;
	int64		events = 0;
	int			flushes = 0;
	TimestampTz started = GetCurrentTimestamp();

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
	if (nulls[2] == 'n' && nulls[3] == 'n' && ua_notify_enabled)
		ua_fold_sweep_create(&f, caller);

	cursor = ua_fold_open_batch(args, nulls, f.events_table);
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
	return events;
}

/*
 * CALL analytics.fold_node(claim): on a Citus node, fold each of its shards
 * of chat_events in a transaction of its own (analytics.fold_shard, then
 * commit), so each shard's claim commits with its rollups whatever another
 * shard's fold does.  fold() on the coordinator runs it on every node that
 * holds shards, in connections of their own (master_run_on_worker); a C
 * procedure because a PL/pgSQL one cannot commit with its search_path
 * pinned.  Returns (INOUT folded) the events folded.  Internal.
 */
PG_FUNCTION_INFO_V1(ua_fold_node);

Datum
ua_fold_node(PG_FUNCTION_ARGS)
{
	int64		claim;
	int64		folded = 0;
	int64	   *shards;
	uint64		nshards,
				i;
	TupleDesc	desc;

	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		castNode(CallContext, fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("analytics.fold_node() must be called by CALL outside a transaction block")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("fold_node needs a claim")));
	claim = PG_GETARG_INT64(0);

	SPI_connect_ext(SPI_OPT_NONATOMIC);
	if (SPI_execute("SELECT s.shardid FROM pg_catalog.pg_dist_shard s "
					"  JOIN pg_catalog.pg_dist_placement p ON p.shardid OPERATOR(pg_catalog.=) s.shardid "
					" WHERE s.logicalrelid OPERATOR(pg_catalog.=) 'analytics.chat_events'::pg_catalog.regclass "
					"   AND p.groupid OPERATOR(pg_catalog.=) (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l) "
					" ORDER BY s.shardid", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "usage_analytics: fold_node: reading the shard metadata failed");
	nshards = SPI_processed;
	/* In the procedure's SPI context: it outlives the commits below. */
	shards = palloc(sizeof(int64) * Max(nshards, 1));
	for (i = 0; i < nshards; i++)
	{
		bool		isnull;

		shards[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	for (i = 0; i < nshards; i++)
	{
		Oid			argtypes[2] = {INT8OID, INT8OID};
		Datum		args[2] = {Int64GetDatum(claim), Int64GetDatum(shards[i])};
		bool		isnull;
		Datum		n;

		CHECK_FOR_INTERRUPTS();
		if (SPI_execute_with_args("SELECT analytics.fold_shard($1, $2)", 2, argtypes, args, NULL,
								  false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "usage_analytics: fold_node: the fold of shard " INT64_FORMAT " failed", shards[i]);
		n = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			folded += DatumGetInt64(n);
		SPI_freetuptable(SPI_tuptable);
		SPI_commit();
		EnsurePortalSnapshotExists();
	}
	SPI_finish();

	if (get_call_result_type(fcinfo, NULL, &desc) == TYPEFUNC_COMPOSITE)
	{
		Datum		v = Int64GetDatum(folded);
		bool		nulls = false;

		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), &v, &nulls)));
	}
	PG_RETURN_INT64(folded);
}
