/*-------------------------------------------------------------------------
 *
 * scan.c
 *	  The generic index-scan layer under subject.c: reads rows of the
 *	  extension's own tables through one of their indexes (systable scans:
 *	  no statement, so no executor start per recorded event or quota
 *	  check), with keys on heap columns and columns fetched by name.
 *
 *	  Tables and indexes are found by name in schema analytics at each
 *	  open.  Column attribute numbers are cached per table across calls
 *	  (names are string literals, compared by address) and forgotten on any
 *	  relcache invalidation of the table.  Text keys compare in the
 *	  collation of the index scanned.
 *
 *	  On a distributed install (citus.c) the tables here are Citus shells:
 *	  the scan is then one SELECT of the same keys, ordered by the index's
 *	  columns, which Citus routes to the shard or the reference table's
 *	  local placement; its rows are copied and handed out the same way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "citus.h"
#include "scan.h"

Snapshot
ua_begin_read(bool fresh)
{
	if (!fresh)
		return GetActiveSnapshot();
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	return GetActiveSnapshot();
}

void
ua_end_read(bool fresh)
{
	if (fresh)
		PopActiveSnapshot();
}

/*
 * The attribute numbers of the columns read, per table, kept across calls
 * (names are string literals, compared by address) and forgotten on any
 * relcache invalidation of the table: a dropped and re-added column moves.
 */
typedef struct UaColumnCache
{
	Oid			relid;			/* InvalidOid: free */
	int			n;
	const char *names[16];
	AttrNumber	attnos[16];
} UaColumnCache;

static UaColumnCache column_caches[16];

static void
forget_columns(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < (int) lengthof(column_caches); i++)
		if (relid == InvalidOid || column_caches[i].relid == relid)
		{
			column_caches[i].relid = InvalidOid;
			column_caches[i].n = 0;
		}
}

void
ua_scan_init(void)
{
	CacheRegisterRelcacheCallback(forget_columns, (Datum) 0);
}

void
ua_scan_open(UaScan *s, const char *table, const char *index)
{
	Oid			nsp = get_namespace_oid("analytics", false);
	Oid			heap = get_relname_relid(table, nsp);
	Oid			idx = get_relname_relid(index, nsp);
	int			i;

	if (!OidIsValid(heap) || !OidIsValid(idx))
		elog(ERROR, "usage_analytics: relation analytics.%s or its index %s is missing", table, index);
	/* Locking may deliver invalidations: take the column cache after. */
	s->heap = table_open(heap, AccessShareLock);
	s->index = index_open(idx, AccessShareLock);
	s->nkeys = 0;
	s->begun = false;
	s->columns = NULL;
	for (i = 0; i < (int) lengthof(column_caches) && s->columns == NULL; i++)
		if (column_caches[i].relid == heap)
			s->columns = &column_caches[i];
	for (i = 0; i < (int) lengthof(column_caches) && s->columns == NULL; i++)
		if (column_caches[i].relid == InvalidOid)
		{
			s->columns = &column_caches[i];
			s->columns->relid = heap;
		}
	s->values = palloc(RelationGetDescr(s->heap)->natts * sizeof(Datum));
	s->nulls = palloc(RelationGetDescr(s->heap)->natts * sizeof(bool));
}

/* The attribute number of a column of s->heap. */
static AttrNumber
scan_attnum(UaScan *s, const char *name)
{
	UaColumnCache *c = s->columns;
	AttrNumber	attno;
	int			i;

	if (c != NULL && c->relid == RelationGetRelid(s->heap))
		for (i = 0; i < c->n; i++)
			if (c->names[i] == name)
				return c->attnos[i];
	attno = get_attnum(RelationGetRelid(s->heap), name);
	if (attno == InvalidAttrNumber)
		elog(ERROR, "usage_analytics: column %s of %s is missing", name,
			 RelationGetRelationName(s->heap));
	if (c != NULL && c->relid == RelationGetRelid(s->heap) && c->n < (int) lengthof(c->names))
	{
		c->names[c->n] = name;
		c->attnos[c->n++] = attno;
	}
	return attno;
}

/* A key on heap column `column`, compared by `proc` in the index's collation. */
void
ua_scan_key(UaScan *s, const char *column, StrategyNumber strategy, RegProcedure proc, Datum value)
{
	AttrNumber	attno = scan_attnum(s, column);
	Oid			collation = InvalidOid;
	int			i;

	for (i = 0; i < IndexRelationGetNumberOfKeyAttributes(s->index); i++)
		if (s->index->rd_index->indkey.values[i] == attno)
			collation = s->index->rd_indcollation[i];
	ScanKeyEntryInitialize(&s->keys[s->nkeys++], 0, attno, strategy, InvalidOid, collation, proc, value);
}

/* The distributed install's scan: one SELECT through SPI, rows copied. */
static void
spi_scan_begin(UaScan *s, Snapshot snap)
{
	static const char *const ops[] = {"", "<", "<=", "=", ">=", ">"};
	TupleDesc	desc = RelationGetDescr(s->heap);
	StringInfoData sql;
	Oid			argtypes[lengthof(s->keys)];
	Datum		values[lengthof(s->keys)];
	SPIPlanPtr	plan;
	MemoryContext old;
	int			i;
	int			n = 0;
	int			nsort;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (i > 0)
			appendStringInfoString(&sql, ", ");
		if (att->attisdropped)
			appendStringInfoString(&sql, "NULL::pg_catalog.int4");
		else
			appendStringInfoString(&sql, quote_identifier(NameStr(att->attname)));
	}
	appendStringInfo(&sql, " FROM analytics.%s", quote_identifier(RelationGetRelationName(s->heap)));
	for (i = 0; i < s->nkeys; i++)
	{
		ScanKey		k = &s->keys[i];
		Oid		   *types;
		int			nargs;

		(void) get_func_signature(k->sk_func.fn_oid, &types, &nargs);
		if (nargs != 2 || k->sk_strategy < 1 || k->sk_strategy > 5)
			elog(ERROR, "usage_analytics: unexpected scan key on %s", RelationGetRelationName(s->heap));
		argtypes[n] = types[1];
		values[n] = k->sk_argument;
		n++;
		appendStringInfo(&sql, " %s %s %s $%d", i == 0 ? "WHERE" : "AND",
						 quote_identifier(NameStr(TupleDescAttr(desc, k->sk_attno - 1)->attname)),
						 ops[k->sk_strategy], n);
	}
	for (i = 0, nsort = 0; i < IndexRelationGetNumberOfKeyAttributes(s->index); i++)
	{
		AttrNumber	a = s->index->rd_index->indkey.values[i];

		if (a > 0)
			appendStringInfo(&sql, "%s %s", nsort++ == 0 ? " ORDER BY" : ",",
							 quote_identifier(NameStr(TupleDescAttr(desc, a - 1)->attname)));
	}

	s->cxt = AllocSetContextCreate(CurrentMemoryContext, "usage_analytics scan", ALLOCSET_SMALL_SIZES);
	SPI_connect();
	plan = SPI_prepare(sql.data, n, argtypes);
	if (plan == NULL)
		elog(ERROR, "usage_analytics: SPI_prepare failed for \"%s\": %s", sql.data,
			 SPI_result_code_string(SPI_result));
	if (SPI_execute_snapshot(plan, values, NULL, snap, InvalidSnapshot, true, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "usage_analytics: scan of %s failed", RelationGetRelationName(s->heap));
	old = MemoryContextSwitchTo(s->cxt);
	s->desc = CreateTupleDescCopy(SPI_tuptable->tupdesc);
	s->nrows = SPI_processed;
	s->rows = palloc(Max(s->nrows, 1) * sizeof(HeapTuple));
	for (i = 0; i < (int) s->nrows; i++)
		s->rows[i] = heap_copytuple(SPI_tuptable->vals[i]);
	MemoryContextSwitchTo(old);
	SPI_finish();
	pfree(sql.data);
	s->next = 0;
}

void
ua_scan_begin(UaScan *s, Snapshot snap)
{
	s->spi = ua_citus();
	if (s->spi)
		spi_scan_begin(s, snap);
	else
		s->scan = systable_beginscan(s->heap, RelationGetRelid(s->index), true, snap, s->nkeys, s->keys);
	s->begun = true;
}

void
ua_scan_end(UaScan *s)
{
	if (s->begun)
	{
		if (s->spi)
			MemoryContextDelete(s->cxt);
		else
			systable_endscan(s->scan);
	}
	s->begun = false;
	s->nkeys = 0;
}

void
ua_scan_close(UaScan *s)
{
	ua_scan_end(s);
	index_close(s->index, AccessShareLock);
	table_close(s->heap, AccessShareLock);
}

/* The next row of the scan, deformed; false at the end. */
bool
ua_scan_next(UaScan *s)
{
	HeapTuple	tup;

	if (s->spi)
	{
		if (s->next >= s->nrows)
			return false;
		heap_deform_tuple(s->rows[s->next++], s->desc, s->values, s->nulls);
		return true;
	}
	tup = systable_getnext(s->scan);
	if (!HeapTupleIsValid(tup))
		return false;
	heap_deform_tuple(tup, RelationGetDescr(s->heap), s->values, s->nulls);
	return true;
}

/* Column `name` of the current row, valid until the next; isnull set. */
Datum
ua_scan_column(UaScan *s, const char *name, bool *isnull)
{
	AttrNumber	attno = scan_attnum(s, name);

	*isnull = s->nulls[attno - 1];
	return *isnull ? (Datum) 0 : s->values[attno - 1];
}

/* The same, copied: it outlives the row. */
Datum
ua_scan_column_copy(UaScan *s, const char *name, bool *isnull)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(s->heap), scan_attnum(s, name) - 1);
	Datum		d = ua_scan_column(s, name, isnull);

	return *isnull ? (Datum) 0 : datumCopy(d, att->attbyval, att->attlen);
}

