/*-------------------------------------------------------------------------
 *
 * fold_write.c
 *	  The fold's writing: each rollup's groups, gathered by
 *	  fold_aggregate.c, in key order; those of users, documents or scopes
 *	  with no stored row in their days are inserted as COPY does
 *	  (fold_direct.c), the others get one statement that upserts them all,
 *	  the merge rules (sums, sketch union, sorted set union,
 *	  conversations_union) staying in SQL.
 *	  The statement reads its rows from analytics.fold_rows(), which hands
 *	  the executor the columns gathered here as one tuplestore (no arrays,
 *	  one tuple a row).  Runs in the fold's write context (fold.c).
 *	  conversations_union, the merge of rollup_conversations' parallel
 *	  arrays, is here too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "common/int.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "citus.h"
#include "fold_int.h"


static void
columns_init(Columns *cols, int nrows, int ncols, int nkeys, const Oid *types)
{
	int			i;

	cols->ncols = ncols;
	cols->nkeys = nkeys;
	cols->nrows = nrows;
	cols->order = NULL;
	for (i = 0; i < ncols; i++)
	{
		cols->types[i] = types[i];
		cols->values[i] = palloc(sizeof(Datum) * Max(nrows, 1));
		cols->nulls[i] = palloc0(sizeof(bool) * Max(nrows, 1));
	}
}

static void
put(Columns *cols, int row, int col, Datum v)
{
	cols->values[col][row] = v;
}

static void
put_sketch(Columns *cols, int row, int col, const UaSketchState *st)
{
	if (st == NULL)
		cols->nulls[col][row] = true;
	else
		cols->values[col][row] = ua_sketch_state_datum(st);
}

static void
put_numeric(Columns *cols, int row, int col, Datum sum)
{
	cols->values[col][row] = sum != (Datum) 0 ? sum
		: DirectFunctionCall1(int8_numeric, Int64GetDatum(0));
}

static void write_all(Fold *f);

/*
 * Two rows by their key columns: text bytewise, dates in order.  Rows go
 * to the rollup in this order: consecutive rows land on the same or the
 * next index leaf and heap page (the rollup's own order where its key's
 * collation is bytewise, as "C" and "C.UTF-8" are), not all over them.
 */
static int	text_cmp_detoasted(Datum x, Datum y);

static int
row_cmp(const void *x, const void *y, void *arg)
{
	const Columns *cols = arg;
	int			a = *(const int *) x;
	int			b = *(const int *) y;
	int			k;

	for (k = 0; k < cols->nkeys; k++)
	{
		Datum		va = cols->values[k][a];
		Datum		vb = cols->values[k][b];
		int			c;

		if (cols->types[k] == DATEOID)
			c = (DatumGetDateADT(va) > DatumGetDateADT(vb)) - (DatumGetDateADT(va) < DatumGetDateADT(vb));
		else
			c = ua_fold_text_cmp(va, vb);
		if (c != 0)
			return c;
	}
	return 0;
}

/* The columns of the upsert running now: what analytics.fold_rows() returns. */
static Columns *current_rows = NULL;

/* The column definition list of fold_rows(): each name with its type. */
static void
append_column_definitions(StringInfo sql, char **names, int n, const Columns *cols)
{
	int			i;

	for (i = 0; i < n; i++)
		appendStringInfo(sql, "%s%s %s", i > 0 ? ", " : "", names[i],
						 format_type_be_qualified(cols->types[i]));
}

/*
 * The merge rules with the new row read as EXCLUDED.col instead of e.col
 * (an "e." that does not end a longer name), for ON CONFLICT DO UPDATE.
 */
static void
append_as_excluded(StringInfo sql, const char *set)
{
	const char *p;

	for (p = set; *p != '\0'; p++)
	{
		if (p[0] == 'e' && p[1] == '.' &&
			(p == set || !(isalnum((unsigned char) p[-1]) || p[-1] == '_')))
		{
			appendStringInfoString(sql, "EXCLUDED.");
			p++;
		}
		else
			appendStringInfoChar(sql, *p);
	}
}

/* The fold writing now (ua_fold_write): upsert() asks it for local shards. */
static const Fold *writing = NULL;

/*
 * The local shard table of a rollup when a Citus node folds its shard of
 * chat_events (Fold.local_rollup), else NULL.
 */
static const char *
local_shard(const char *table)
{
	int			i;

	if (writing == NULL)
		return NULL;
	for (i = 0; i < writing->n_local; i++)
		if (strcmp(writing->local_rollup[i], table) == 0)
			return writing->local_shard[i];
	return NULL;
}

/* The rest of a MERGE from fold_rows() after "USING analytics.fold_rows() AS e(". */
static void
append_merge(StringInfo sql, char **names, int n, const char *columns, const char *set,
			 const Columns *cols)
{
	int			i;

	append_column_definitions(sql, names, n, cols);
	appendStringInfoString(sql, ") ON ");
	for (i = 0; i < cols->nkeys; i++)
		appendStringInfo(sql, "%sr.%s OPERATOR(pg_catalog.=) e.%s", i > 0 ? " AND " : "", names[i], names[i]);
	appendStringInfo(sql, " WHEN MATCHED THEN UPDATE SET %s WHEN NOT MATCHED THEN INSERT (%s) VALUES (",
					 set, columns);
	for (i = 0; i < n; i++)
		appendStringInfo(sql, "%se.%s", i > 0 ? ", " : "", names[i]);
	appendStringInfoChar(sql, ')');
}

/*
 * Run one upsert of the rows of cols into analytics.<table>: a MERGE whose
 * source is analytics.fold_rows() with a column definition list of the
 * target's column names (columns, comma-separated, the first nkeys the
 * key) and the columns' types, so that set (the merge rules) reads the
 * stored row as r.col and the new one as e.col.  A row of no stored key is
 * a plain insert: in a backfill into empty days, most are; ON CONFLICT
 * paid a speculative insertion for each.  Only the fold adds rollup rows
 * (its callers hold the fold state row lock), so no key appears between
 * the MERGE's join and its insert; rows updated meanwhile (rollups_add)
 * are merged in their latest version, as ON CONFLICT did.  The rows go in
 * key order (row_cmp).  On a Citus cluster, INSERT ... ON CONFLICT DO
 * UPDATE with the same merge rules.
 */
static void
upsert(const char *table, const char *columns, const char *set, Columns *cols)
{
	StringInfoData sql;
	char	   *names[MAX_COLUMNS];
	char	   *list = pstrdup(columns);
	char	   *tok;
	char	   *save = NULL;
	int			n = 0;
	int			i;
	int			rc;
	int			direct = 0;
	TimestampTz started;
	const char *local;

	if (cols->nrows == 0)
		return;
	for (tok = strtok_r(list, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
	{
		if (n == MAX_COLUMNS)
			elog(ERROR, "usage_analytics: fold upsert of %s: too many columns", table);
		names[n++] = tok;
	}
	if (n != cols->ncols)
		elog(ERROR, "usage_analytics: fold upsert of %s: %d column names for %d columns", table, n, cols->ncols);
	started = GetCurrentTimestamp();
	cols->order = palloc(sizeof(int) * cols->nrows);
	for (i = 0; i < cols->nrows; i++)
		cols->order[i] = i;
	qsort_arg(cols->order, cols->nrows, sizeof(int), row_cmp, cols);
	cols->norder = cols->nrows;

	/*
	 * New keys first, inserted as COPY does (fold_direct.c); the MERGE gets
	 * the rows of users, documents or scopes with stored rows in their days.
	 */
	if (!ua_citus() && ua_fold_insert_new(table, names, cols))
	{
		CommandCounterIncrement();
		direct = cols->nrows - cols->norder;
		if (cols->norder == 0)
		{
			elog(DEBUG1, "usage_analytics fold: %d rows inserted, 0 merged in %.1f ms: %s", direct,
				 (double) (GetCurrentTimestamp() - started) / 1000.0, table);
			return;
		}
	}

	initStringInfo(&sql);
	local = local_shard(table);
	if (local != NULL)
	{
		/*
		 * A Citus node folding its shard: the rollup's colocated shard is
		 * a plain table here, merged into as on a single node.
		 */
		appendStringInfo(&sql, "MERGE INTO %s AS r USING analytics.fold_rows() AS e(", local);
		append_merge(&sql, names, n, columns, set, cols);
	}
	else if (ua_citus())
	{
		/*
		 * Citus plans no MERGE from a volatile function into its tables: the
		 * upsert, with the merge rules reading the new row as EXCLUDED.
		 */
		appendStringInfo(&sql, "INSERT INTO analytics.%s AS r (%s) SELECT * FROM analytics.fold_rows() AS e(",
						 table, columns);
		append_column_definitions(&sql, names, n, cols);
		appendStringInfoString(&sql, ") ON CONFLICT (");
		for (i = 0; i < cols->nkeys; i++)
			appendStringInfo(&sql, "%s%s", i > 0 ? ", " : "", names[i]);
		appendStringInfoString(&sql, ") DO UPDATE SET ");
		append_as_excluded(&sql, set);
	}
	else
	{
		appendStringInfo(&sql, "MERGE INTO analytics.%s AS r USING analytics.fold_rows() AS e(", table);
		append_merge(&sql, names, n, columns, set, cols);
	}

	current_rows = cols;
	PG_TRY();
	{
		rc = SPI_execute(sql.data, false, 0);
	}
	PG_FINALLY();
	{
		current_rows = NULL;
	}
	PG_END_TRY();
	if (rc != (ua_citus() && local == NULL ? SPI_OK_INSERT : SPI_OK_MERGE))
		elog(ERROR, "usage_analytics: fold upsert failed: %s", SPI_result_code_string(rc));
	elog(DEBUG1, "usage_analytics fold: %d rows inserted, %d merged in %.1f ms: %s", direct,
		 cols->norder, (double) (GetCurrentTimestamp() - started) / 1000.0, table);
}

/*
 * analytics.fold_rows(): the rows of the upsert running now, as one
 * tuplestore, in the shape the column definition list declares (checked).
 * Internal: outside an upsert of the fold it is an error.
 */
PG_FUNCTION_INFO_V1(ua_fold_rows);
Datum
ua_fold_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Columns    *cols = current_rows;
	TupleDesc	desc;
	Tuplestorestate *store;
	MemoryContext old;
	Datum		values[MAX_COLUMNS];
	bool		nulls[MAX_COLUMNS];
	int			row,
				i;

	if (cols == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("analytics.fold_rows() is internal to the fold")));
	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0 || rsinfo->expectedDesc == NULL)
		elog(ERROR, "usage_analytics: fold_rows called in a context that cannot take its rows");
	desc = rsinfo->expectedDesc;
	if (desc->natts != cols->ncols)
		elog(ERROR, "usage_analytics: fold_rows declared with %d columns, has %d", desc->natts, cols->ncols);
	for (i = 0; i < cols->ncols; i++)
		if (TupleDescAttr(desc, i)->atttypid != cols->types[i])
			elog(ERROR, "usage_analytics: fold_rows column %d declared as type %u, is %u",
				 i + 1, TupleDescAttr(desc, i)->atttypid, cols->types[i]);

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	desc = CreateTupleDescCopy(desc);
	store = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(old);
	for (row = 0; row < cols->norder; row++)
	{
		int			r = cols->order[row];

		for (i = 0; i < cols->ncols; i++)
		{
			values[i] = cols->values[i][r];
			nulls[i] = cols->nulls[i][r];
		}
		tuplestore_putvalues(store, desc, values, nulls);
	}
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = desc;
	return (Datum) 0;
}

#define SKETCH_MERGE(col) \
	col " = analytics.latency_sketch_union(r." col ", e." col ")"
#define ADD(col)		col " = r." col " OPERATOR(pg_catalog.+) e." col

#define LENGTH_COLUMNS	"query_length_sum, query_length_count, response_length_sum, response_length_count"
#define LENGTH_ADD \
	ADD("query_length_sum") ", " ADD("query_length_count") ", " ADD("response_length_sum") ", " \
	ADD("response_length_count")

/* The columns of rollup_user_daily and rollup_org_daily (id: their key) and their merge */
#define LATENCY_COLUMNS(id) \
	id ", usage_date, latency, ttft, feedback_sum, feedback_count, " LENGTH_COLUMNS
#define LATENCY_SET \
	SKETCH_MERGE("latency") ", " SKETCH_MERGE("ttft") ", " ADD("feedback_sum") ", " \
	ADD("feedback_count") ", " LENGTH_ADD

/* A LengthAgg's four figures from column col on. */
static void
put_lengths(Columns *cols, int row, int col, const LengthAgg *l)
{
	put(cols, row, col, Int64GetDatum(l->query_sum));
	put(cols, row, col + 1, Int64GetDatum(l->query_count));
	put(cols, row, col + 2, Int64GetDatum(l->response_sum));
	put(cols, row, col + 3, Int64GetDatum(l->response_count));
}

#define LATENCY_TYPES(sketch_type) \
	TEXTOID, DATEOID, sketch_type, sketch_type, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID

/* The ten LATENCY_COLUMNS of one group (a day's or a month's). */
static void
put_latency(Columns *cols, int row, const GroupEntry *e, const LatencyAgg *a)
{
	put(cols, row, 0, STR_TEXT(e->key.id));
	put(cols, row, 1, DateADTGetDatum(e->key.day));
	put_sketch(cols, row, 2, a->latency);
	put_sketch(cols, row, 3, a->ttft);
	put(cols, row, 4, Int64GetDatum(a->feedback_sum));
	put(cols, row, 5, Int64GetDatum(a->feedback_count));
	put_lengths(cols, row, 6, &a->lengths);
}

/*
 * rollup_user_daily (user_days: UserDayAgg starts with its LatencyAgg) or
 * rollup_org_daily (org_days).
 */
static void
write_days(Fold *f, groups_hash *h, const char *table, const char *columns)
{
	Oid			types[10] = {LATENCY_TYPES(f->sketch_type)};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, h->members, 10, 2, types);
	groups_start_iterate(h, &it);
	while ((e = groups_iterate(h, &it)) != NULL)
		put_latency(&cols, row++, e, e->agg);
	upsert(table, columns, LATENCY_SET, &cols);
}

/* rollup_user_monthly: the latency columns and the month's usage figures */
static void
write_months(Fold *f)
{
	Oid			types[19] = {LATENCY_TYPES(f->sketch_type), INT8OID, INT8OID, INT8OID, INT8OID,
		INT8OID, NUMERICOID, NUMERICOID, INT4OID, TIMESTAMPTZOID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, f->user_months->members, 19, 2, types);
	groups_start_iterate(f->user_months, &it);
	while ((e = groups_iterate(f->user_months, &it)) != NULL)
	{
		MonthAgg   *a = e->agg;

		put_latency(&cols, row, e, &a->latency);
		put(&cols, row, 10, Int64GetDatum(a->requests));
		put(&cols, row, 11, Int64GetDatum(a->failed));
		put(&cols, row, 12, Int64GetDatum(a->tokens_total));
		put(&cols, row, 13, Int64GetDatum(a->cached_input));
		put(&cols, row, 14, Int64GetDatum(a->cache_hits));
		put_numeric(&cols, row, 15, a->cost);
		put_numeric(&cols, row, 16, a->savings);
		put(&cols, row, 17, Int32GetDatum(a->day_bits));
		put(&cols, row, 18, TimestampTzGetDatum(a->last_used));
		row++;
	}
	upsert("rollup_user_monthly", "user_id, month, latency, ttft, "
		   "   feedback_sum, feedback_count, " LENGTH_COLUMNS ", requests, failed, tokens_total, "
		   "   cached_input_tokens, cache_hits, cost, cache_savings, active_day_bits, last_used",
		   SKETCH_MERGE("latency") ", "
		   SKETCH_MERGE("ttft") ", " ADD("feedback_sum") ", " ADD("feedback_count") ", " LENGTH_ADD ", "
		   ADD("requests") ", " ADD("failed") ", " ADD("tokens_total") ", " ADD("cached_input_tokens") ", "
		   ADD("cache_hits") ", " ADD("cost") ", " ADD("cache_savings") ", "
		   "active_day_bits = r.active_day_bits OPERATOR(pg_catalog.|) e.active_day_bits, "
		   "last_used = GREATEST(r.last_used, e.last_used)", &cols);
}

static void
write_models(Fold *f)
{
	static const Oid types[15] = {TEXTOID, DATEOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID,
		INT8OID, INT8OID, INT8OID, INT8OID, NUMERICOID, INT8OID, INT8OID, TIMESTAMPTZOID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, f->n_models, 15, 4, types);
	groups_start_iterate(f->user_days, &it);
	while ((e = groups_iterate(f->user_days, &it)) != NULL)
	{
		ListEntry  *l;

		for (l = ((UserDayAgg *) e->agg)->models; l != NULL; l = l->next)
		{
			ModelAgg   *a = (ModelAgg *) l;

			put(&cols, row, 0, STR_TEXT(e->key.id));
			put(&cols, row, 1, DateADTGetDatum(e->key.day));
			put(&cols, row, 2, STR_TEXT(l->a));
			put(&cols, row, 3, STR_TEXT(l->b));
			put(&cols, row, 4, Int64GetDatum(a->requests));
			put(&cols, row, 5, Int64GetDatum(a->failed));
			put(&cols, row, 6, Int64GetDatum(a->input));
			put(&cols, row, 7, Int64GetDatum(a->cached));
			put(&cols, row, 8, Int64GetDatum(a->write));
			put(&cols, row, 9, Int64GetDatum(a->output));
			put(&cols, row, 10, Int64GetDatum(a->reasoning));
			put_numeric(&cols, row, 11, a->cost);
			put(&cols, row, 12, Int64GetDatum(a->latency_sum));
			put(&cols, row, 13, Int64GetDatum(a->latency_count));
			put(&cols, row, 14, TimestampTzGetDatum(a->last_used));
			row++;
		}
	}
	upsert("rollup_user_models", "user_id, usage_date, provider, model, requests, failed, input_tokens, cached_input_tokens, "
		   "   cache_write_tokens, output_tokens, reasoning_tokens, cost, latency_sum, latency_count, last_used",
		   ADD("requests") ", " ADD("failed") ", " ADD("input_tokens") ", " ADD("cached_input_tokens") ", "
		   ADD("cache_write_tokens") ", " ADD("output_tokens") ", " ADD("reasoning_tokens") ", "
		   ADD("cost") ", " ADD("latency_sum") ", " ADD("latency_count") ", "
		   "last_used = GREATEST(r.last_used, e.last_used)", &cols);
}

static void
write_documents(Fold *f, Oid sketch_type)
{
	Oid			types[11] = {TEXTOID, DATEOID, INT8OID, INT8OID, INT8OID, NUMERICOID, INT8OID,
		sketch_type, INT8OID, INT8OID, TIMESTAMPTZOID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, f->documents->members, 11, 2, types);
	groups_start_iterate(f->documents, &it);
	while ((e = groups_iterate(f->documents, &it)) != NULL)
	{
		UsageAgg   *a = &((DocumentAgg *) e->agg)->usage;

		put(&cols, row, 0, STR_TEXT(e->key.id));
		put(&cols, row, 1, DateADTGetDatum(e->key.day));
		put(&cols, row, 2, Int64GetDatum(a->requests));
		put(&cols, row, 3, Int64GetDatum(a->failed));
		put(&cols, row, 4, Int64GetDatum(a->tokens_total));
		put_numeric(&cols, row, 5, a->cost);
		put(&cols, row, 6, Int64GetDatum(a->cache_hits));
		put_sketch(&cols, row, 7, a->latency);
		put(&cols, row, 8, Int64GetDatum(a->feedback_sum));
		put(&cols, row, 9, Int64GetDatum(a->feedback_count));
		put(&cols, row, 10, TimestampTzGetDatum(a->last_used));
		row++;
	}
	upsert("rollup_documents", "document_id, usage_date, requests, failed, tokens_total, cost, cache_hits, latency, "
		   "   feedback_sum, feedback_count, last_used",
		   ADD("requests") ", " ADD("failed") ", " ADD("tokens_total") ", " ADD("cost") ", "
		   ADD("cache_hits") ", " SKETCH_MERGE("latency") ", " ADD("feedback_sum") ", "
		   ADD("feedback_count") ", last_used = GREATEST(r.last_used, e.last_used)", &cols);
}

static void
write_system_models(Fold *f, Oid sketch_type)
{
	Oid			types[17] = {DATEOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
		NUMERICOID, NUMERICOID, sketch_type, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, f->n_system_models, 17, 3, types);
	groups_start_iterate(f->system_days, &it);
	while ((e = groups_iterate(f->system_days, &it)) != NULL)
	{
		ListEntry  *l;

		for (l = ((SystemDayAgg *) e->agg)->models; l != NULL; l = l->next)
		{
			UsageAgg   *a = &((SystemModelAgg *) l)->usage;

			put(&cols, row, 0, DateADTGetDatum(e->key.day));
			put(&cols, row, 1, STR_TEXT(l->a));
			put(&cols, row, 2, STR_TEXT(l->b));
			put(&cols, row, 3, Int64GetDatum(a->requests));
			put(&cols, row, 4, Int64GetDatum(a->failed));
			put(&cols, row, 5, Int64GetDatum(a->tokens_total));
			put(&cols, row, 6, Int64GetDatum(a->cached_input));
			put(&cols, row, 7, Int64GetDatum(a->cache_hits));
			put_numeric(&cols, row, 8, a->cost);
			put_numeric(&cols, row, 9, a->savings);
			put_sketch(&cols, row, 10, a->latency);
			put(&cols, row, 11, Int64GetDatum(a->feedback_sum));
			put(&cols, row, 12, Int64GetDatum(a->feedback_count));
			put_lengths(&cols, row, 13, &a->lengths);
			row++;
		}
	}
	upsert("rollup_system_models", "usage_date, provider, model, requests, failed, tokens_total, cached_input_tokens, "
		   "   cache_hits, cost, cache_savings, latency, feedback_sum, feedback_count, " LENGTH_COLUMNS "",
		   ADD("requests") ", " ADD("failed") ", " ADD("tokens_total") ", " ADD("cached_input_tokens") ", "
		   ADD("cache_hits") ", " ADD("cost") ", " ADD("cache_savings") ", " SKETCH_MERGE("latency") ", "
		   ADD("feedback_sum") ", " ADD("feedback_count") ", " LENGTH_ADD, &cols);
}

static void
write_categories(Fold *f)
{
	static const Oid types[4] = {TEXTOID, DATEOID, TEXTOID, INT8OID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;

	columns_init(&cols, f->n_categories, 4, 3, types);
	groups_start_iterate(f->user_days, &it);
	while ((e = groups_iterate(f->user_days, &it)) != NULL)
	{
		ListEntry  *l;

		for (l = ((UserDayAgg *) e->agg)->categories; l != NULL; l = l->next)
		{
			put(&cols, row, 0, STR_TEXT(e->key.id));
			put(&cols, row, 1, DateADTGetDatum(e->key.day));
			put(&cols, row, 2, STR_TEXT(l->a));
			put(&cols, row, 3, Int64GetDatum(((CategoryAgg *) l)->requests));
			row++;
		}
	}
	upsert("rollup_user_categories", "user_id, usage_date, category, requests", ADD("requests"), &cols);
}

/* rollup_user_labels (user_days) or rollup_system_labels (system_days) */
static void
write_labels(groups_hash *h, int nrows, bool per_user)
{
	static const Oid types[5] = {TEXTOID, DATEOID, TEXTOID, TEXTOID, INT8OID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;
	int			row = 0;
	int			c = per_user ? 1 : 0;

	columns_init(&cols, nrows, 4 + c, 3 + c, per_user ? types : types + 1);
	groups_start_iterate(h, &it);
	while ((e = groups_iterate(h, &it)) != NULL)
	{
		ListEntry  *l = per_user ? ((UserDayAgg *) e->agg)->labels : ((SystemDayAgg *) e->agg)->labels;

		for (; l != NULL; l = l->next)
		{
			if (per_user)
				put(&cols, row, 0, STR_TEXT(e->key.id));
			put(&cols, row, c, DateADTGetDatum(e->key.day));
			put(&cols, row, c + 1, STR_TEXT(l->a));
			put(&cols, row, c + 2, STR_TEXT(l->b));
			put(&cols, row, c + 3, Int64GetDatum(((CategoryAgg *) l)->requests));
			row++;
		}
	}
	if (per_user)
		upsert("rollup_user_labels", "user_id, usage_date, kind, label, requests", ADD("requests"), &cols);
	else
		upsert("rollup_system_labels", "usage_date, kind, label, requests", ADD("requests"), &cols);
}

/* An array of n datums of a type. */
static Datum
make_array(Datum *elems, int n, Oid type)
{
	int16		len;
	bool		byval;
	char		align;

	get_typlenbyvalalign(type, &len, &byval, &align);
	return PointerGetDatum(construct_array(elems, n, type, len, byval, align));
}

/*
 * rollup_conversations: one row a user-day, its conversations sorted
 * bytewise with their figures as parallel arrays; rows travel as one array
 * of analytics.rollup_conversations and merge with conversations_union.
 */
static void
write_conversations(Fold *f)
{
	static const Oid types[8] = {TEXTOID, DATEOID, TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
		NUMERICARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID};
	Columns		cols;
	groups_iterator it;
	GroupEntry *e;

	columns_init(&cols, f->user_days->members, 8, 2, types);
	cols.nrows = 0;
	groups_start_iterate(f->user_days, &it);
	while ((e = groups_iterate(f->user_days, &it)) != NULL)
	{
		ConversationAgg *c = &((UserDayAgg *) e->agg)->conversation_figures;
		Datum	   *a[6];
		int			row = cols.nrows;
		int			i,
					k;

		if (c->n == 0)
			continue;
		ua_fold_conversations_compact(f, c);
		for (k = 0; k < 6; k++)
			a[k] = palloc(sizeof(Datum) * c->n);
		for (i = 0; i < c->n; i++)
		{
			ConversationItem *x = &c->items[i];

			a[0][i] = STR_TEXT(x->conversation);
			a[1][i] = Int64GetDatum(x->requests);
			a[2][i] = Int64GetDatum(x->tokens_total);
			a[3][i] = x->cost;
			a[4][i] = TimestampTzGetDatum(x->first_at);
			a[5][i] = TimestampTzGetDatum(x->last_at);
		}
		put(&cols, row, 0, STR_TEXT(e->key.id));
		put(&cols, row, 1, DateADTGetDatum(e->key.day));
		put(&cols, row, 2, make_array(a[0], c->n, TEXTOID));
		put(&cols, row, 3, make_array(a[1], c->n, INT8OID));
		put(&cols, row, 4, make_array(a[2], c->n, INT8OID));
		put(&cols, row, 5, make_array(a[3], c->n, NUMERICOID));
		put(&cols, row, 6, make_array(a[4], c->n, TIMESTAMPTZOID));
		put(&cols, row, 7, make_array(a[5], c->n, TIMESTAMPTZOID));
		cols.nrows++;
	}
	upsert("rollup_conversations", "user_id, usage_date, conversation_ids, requests, tokens_total, cost, first_at, last_at",
		   "(conversation_ids, requests, tokens_total, cost, first_at, last_at) = "
		   "(SELECT m.conversation_ids, m.requests, m.tokens_total, m.cost, m.first_at, m.last_at "
		   "   FROM analytics.conversations_union(r.conversation_ids, r.requests, r.tokens_total, r.cost, "
		   "          r.first_at, r.last_at, e.conversation_ids, e.requests, "
		   "          e.tokens_total, e.cost, e.first_at, e.last_at) m)", &cols);
}

/* One side of conversations_union: its six arrays, deconstructed. */
typedef struct ConversationSide
{
	int			n;
	Datum	   *v[6];
} ConversationSide;

static const Oid conversation_types[6] = {TEXTOID, INT8OID, INT8OID, NUMERICOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID};

static void
conversation_side(FunctionCallInfo fcinfo, int first, ConversationSide *side)
{
	int			k;

	side->n = 0;
	for (k = 0; k < 6; k++)
	{
		int16		len;
		bool		byval;
		char		align;
		bool	   *nulls;
		int			n = 0,
					i;

		side->v[k] = NULL;
		if (PG_ARGISNULL(first + k))
		{
			if (k > 0 && side->n != 0)
				elog(ERROR, "usage_analytics: conversations_union: arrays of different lengths");
			continue;
		}
		get_typlenbyvalalign(conversation_types[k], &len, &byval, &align);
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(first + k), conversation_types[k], len, byval, align,
						  &side->v[k], &nulls, &n);
		for (i = 0; i < n; i++)
			if (nulls[i])
				elog(ERROR, "usage_analytics: conversations_union: NULL element");
		if (k == 0)
			side->n = n;
		else if (n != side->n)
			elog(ERROR, "usage_analytics: conversations_union: arrays of different lengths");
	}
}

int
ua_fold_text_cmp(Datum x, Datum y)
{
	struct varlena *px = (struct varlena *) DatumGetPointer(x);
	struct varlena *py = (struct varlena *) DatumGetPointer(y);

	/*
	 * The fold's own datums (interned strings, built arrays' elements) are
	 * plain 4-byte-header varlenas, and equal interned strings are one.
	 */
	if (px == py)
		return 0;
	if (!VARATT_IS_EXTENDED(px) && !VARATT_IS_EXTENDED(py))
	{
		int			la = VARSIZE(px) - VARHDRSZ;
		int			lb = VARSIZE(py) - VARHDRSZ;
		int			c = memcmp(VARDATA(px), VARDATA(py), Min(la, lb));

		return c != 0 ? c : (la > lb) - (la < lb);
	}
	return text_cmp_detoasted(x, y);
}

/* Two text datums of any form bytewise. */
static int
text_cmp_detoasted(Datum x, Datum y)
{
	text	   *a = DatumGetTextPP(x);
	text	   *b = DatumGetTextPP(y);
	int			la = VARSIZE_ANY_EXHDR(a);
	int			lb = VARSIZE_ANY_EXHDR(b);
	int			c = memcmp(VARDATA_ANY(a), VARDATA_ANY(b), Min(la, lb));

	return c != 0 ? c : (la > lb) - (la < lb);
}

/*
 * analytics.conversations_union: the merge rule of rollup_conversations.
 * Two user-days' conversations (ids sorted bytewise, figures in parallel
 * arrays) become one: a conversation of both sides adds its requests,
 * tokens and cost and keeps the earlier first and the later last event.
 */
PG_FUNCTION_INFO_V1(ua_conversations_union);

Datum
ua_conversations_union(PG_FUNCTION_ARGS)
{
	ConversationSide a,
				b;
	TupleDesc	desc;
	Datum	   *out[6];
	Datum		v[6];
	bool		n[6] = {false, false, false, false, false, false};
	int			i = 0,
				j = 0,
				k,
				m = 0;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "usage_analytics: conversations_union must return a record");
	conversation_side(fcinfo, 0, &a);
	conversation_side(fcinfo, 6, &b);
	for (k = 0; k < 6; k++)
		out[k] = palloc(sizeof(Datum) * Max(a.n + b.n, 1));
	while (i < a.n || j < b.n)
	{
		int			c = i >= a.n ? 1 : j >= b.n ? -1 : ua_fold_text_cmp(a.v[0][i], b.v[0][j]);

		if (c < 0)
		{
			for (k = 0; k < 6; k++)
				out[k][m] = a.v[k][i];
			i++;
		}
		else if (c > 0)
		{
			for (k = 0; k < 6; k++)
				out[k][m] = b.v[k][j];
			j++;
		}
		else
		{
			out[0][m] = a.v[0][i];
			for (k = 1; k <= 2; k++)
			{
				int64		sum;

				if (pg_add_s64_overflow(DatumGetInt64(a.v[k][i]), DatumGetInt64(b.v[k][j]), &sum))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("conversation figure out of range")));
				out[k][m] = Int64GetDatum(sum);
			}
			out[3][m] = DirectFunctionCall2(numeric_add, a.v[3][i], b.v[3][j]);
			out[4][m] = TimestampTzGetDatum(Min(DatumGetTimestampTz(a.v[4][i]), DatumGetTimestampTz(b.v[4][j])));
			out[5][m] = TimestampTzGetDatum(Max(DatumGetTimestampTz(a.v[5][i]), DatumGetTimestampTz(b.v[5][j])));
			i++;
			j++;
		}
		m++;
	}
	for (k = 0; k < 6; k++)
		v[k] = make_array(out[k], m, conversation_types[k]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, n)));
}

static void
write_sections(Fold *f)
{
	static const Oid types[4] = {TEXTOID, DATEOID, TEXTOID, INT8OID};
	Columns		cols;
	pairs_iterator it;
	PairEntry  *e;
	int			row = 0;

	columns_init(&cols, f->sections->members, 4, 3, types);
	pairs_start_iterate(f->sections, &it);
	while ((e = pairs_iterate(f->sections, &it)) != NULL)
	{
		put(&cols, row, 0, STR_TEXT(e->key.a));
		put(&cols, row, 1, DateADTGetDatum(e->key.day));
		put(&cols, row, 2, STR_TEXT(e->key.b));
		put(&cols, row, 3, Int64GetDatum(*(int64 *) e->agg));
		row++;
	}
	upsert("rollup_document_sections", "document_id, usage_date, section, requests", ADD("requests"), &cols);
}

/*
 * rollup_distinct: sets have different lengths, so they travel as one array
 * of analytics.rollup_distinct rows, each carrying its items.
 */
/* One row: the set's items sorted bytewise (text_set_union's order). */
static void
set_row(Columns *rows, const char *scope, Datum scope_id, int32 day, SetAgg *set)
{
	Datum	   *items;
	int			i;

	if (set->n == 0)
		return;
	ua_fold_set_compact(set);
	items = palloc(sizeof(Datum) * set->n);
	for (i = 0; i < set->n; i++)
		items[i] = STR_TEXT(set->items[i]);
	put(rows, rows->nrows, 0, CStringGetTextDatum(scope));
	put(rows, rows->nrows, 1, scope_id);
	put(rows, rows->nrows, 2, DateADTGetDatum(day));
	put(rows, rows->nrows, 3, make_array(items, set->n, TEXTOID));
	rows->nrows++;
}

static void
write_distinct(Fold *f)
{
	static const Oid types[4] = {TEXTOID, TEXTOID, DATEOID, TEXTARRAYOID};
	Columns		rows;
	groups_iterator it;
	GroupEntry *e;
	Datum		empty = CStringGetTextDatum("");

	columns_init(&rows, 2 * f->user_days->members + 2 * f->user_months->members +
				 2 * f->documents->members + 3 * f->system_days->members, 4, 3, types);
	rows.nrows = 0;

	groups_start_iterate(f->user_days, &it);
	while ((e = groups_iterate(f->user_days, &it)) != NULL)
	{
		UserDayAgg *a = e->agg;

		set_row(&rows, "user_document", STR_TEXT(e->key.id), e->key.day, &a->documents);
		set_row(&rows, "user_session", STR_TEXT(e->key.id), e->key.day, &a->sessions);
	}
	groups_start_iterate(f->user_months, &it);
	while ((e = groups_iterate(f->user_months, &it)) != NULL)
	{
		MonthAgg   *a = e->agg;

		set_row(&rows, "user_month_conversation", STR_TEXT(e->key.id), e->key.day, &a->conversations);
		set_row(&rows, "user_month_document", STR_TEXT(e->key.id), e->key.day, &a->documents);
	}
	groups_start_iterate(f->documents, &it);
	while ((e = groups_iterate(f->documents, &it)) != NULL)
	{
		DocumentAgg *a = e->agg;

		set_row(&rows, "document_user", STR_TEXT(e->key.id), e->key.day, &a->users);
		set_row(&rows, "document_conversation", STR_TEXT(e->key.id), e->key.day, &a->conversations);
	}
	groups_start_iterate(f->system_days, &it);
	while ((e = groups_iterate(f->system_days, &it)) != NULL)
	{
		SystemDayAgg *a = e->agg;

		set_row(&rows, "system_user", empty, e->key.day, &a->users);
		set_row(&rows, "system_conversation", empty, e->key.day, &a->conversations);
		set_row(&rows, "system_document", empty, e->key.day, &a->documents);
	}
	upsert("rollup_distinct", "scope, scope_id, usage_date, items",
		   "items = analytics.text_set_union(r.items, e.items)", &rows);
}

/*
 * Write every rollup gathered: one upsert each.  A Citus node folding its
 * shard (Fold.n_local > 0) writes the rollups Citus routes first, the
 * system's models leading: Citus serializes writes to a reference table
 * with a lock on its shard that lasts until commit, so the shard folds
 * running at once on several nodes take their turns there and then write
 * rollup_org_daily (by org_id, on any node) one at a time, never locking
 * its rows in opposite orders; the local shards of the user-keyed rollups
 * last.
 */
void
ua_fold_write(Fold *f)
{
	writing = f;
	PG_TRY();
	{
		if (f->n_local > 0)
		{
			write_system_models(f, f->sketch_type);
			write_days(f, f->org_days, "rollup_org_daily", LATENCY_COLUMNS("org_id"));
			write_documents(f, f->sketch_type);
			write_labels(f->system_days, f->n_system_labels, false);
			write_sections(f);
			write_distinct(f);
			write_days(f, f->user_days, "rollup_user_daily", LATENCY_COLUMNS("user_id"));
			write_months(f);
			write_models(f);
			write_categories(f);
			write_labels(f->user_days, f->n_labels, true);
			write_conversations(f);
		}
		else
			write_all(f);
	}
	PG_FINALLY();
	{
		writing = NULL;
	}
	PG_END_TRY();
}

/* Every rollup, in the single node's order. */
static void
write_all(Fold *f)
{
	write_days(f, f->user_days, "rollup_user_daily", LATENCY_COLUMNS("user_id"));
	write_days(f, f->org_days, "rollup_org_daily", LATENCY_COLUMNS("org_id"));
	write_months(f);
	write_models(f);
	write_documents(f, f->sketch_type);
	write_system_models(f, f->sketch_type);
	write_categories(f);
	write_labels(f->user_days, f->n_labels, true);
	write_labels(f->system_days, f->n_system_labels, false);
	write_conversations(f);
	write_sections(f);
	write_distinct(f);
}
