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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
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

void
ua_scan_begin(UaScan *s, Snapshot snap)
{
	s->scan = systable_beginscan(s->heap, RelationGetRelid(s->index), true, snap, s->nkeys, s->keys);
}

void
ua_scan_close(UaScan *s)
{
	systable_endscan(s->scan);
	index_close(s->index, AccessShareLock);
	table_close(s->heap, AccessShareLock);
}

/* The next row of the scan, deformed; false at the end. */
bool
ua_scan_next(UaScan *s)
{
	HeapTuple	tup = systable_getnext(s->scan);

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

