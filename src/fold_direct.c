/*-------------------------------------------------------------------------
 *
 * fold_direct.c
 *	  The fold's direct insert of new rollup keys (fold_write.c calls it
 *	  before each rollup's MERGE): rows whose key is surely absent are
 *	  written the way COPY writes (table_multi_insert, then their index
 *	  entries, NOT NULL and CHECK constraints checked by ExecConstraints),
 *	  with no join, tuplestore or executor node per row.  In a backfill
 *	  nearly every row is such a row.
 *
 *	  Only the fold adds rollup rows, and its callers hold the fold state
 *	  row lock.  The rows of one flush are in key order; those whose key
 *	  columns before the day (user, document, scope and scope id; nothing
 *	  for the system's rollups) are equal form a group, and one index
 *	  probe of the primary key (a dirty snapshot, as ON CONFLICT's
 *	  pre-check: committed rows, and rows of transactions in progress,
 *	  this one's included) asks whether any row of that prefix has a day
 *	  between the group's first and last.  A group with none is inserted
 *	  here, the others go to the MERGE as before.  Were a row to appear
 *	  between probe and insert, the primary key's unique check (which waits
 *	  for the inserting transaction) would fail the fold, as the MERGE
 *	  would: nothing is written twice.
 *
 *	  The direct insert is taken only where it does what the MERGE's
 *	  insert does: a plain table, no trigger or rule of any kind, row level
 *	  security not enabled for the fold's role (the fold runs as the
 *	  extension's owner), INSERT granted, no generated column, every
 *	  column one of the rollup's with the same type (no defaults to
 *	  compute), no deferrable unique or exclusion index, a primary key on
 *	  the rollup's key in its order with deterministic collations.
 *	  Anything else (a table altered by hand) keeps the MERGE for every
 *	  row.  On a Citus cluster fold_write.c never calls it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "compat.h"
#include "fold_int.h"

/*
 * Rows per table_multi_insert (copyfrom.c buffers up to 1000 as well).  No
 * BulkInsertState: its ring of buffers would leave the new rows' pages out
 * of shared buffers, and the next fold, which updates today's rows, read
 * them back.
 */
#define DIRECT_BUFFER	1000

/*
 * Can rel take the direct insert of the rows of cols (columns names)?
 * Fills attcol (per attribute: its column in cols, or -1 for a dropped
 * one) and *pkey (the primary key index, opened; the caller closes it).
 */
static bool
direct_possible(Relation rel, char **names, const Columns *cols, int *attcol, Relation *pkey)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			relid = RelationGetRelid(rel);
	Oid			pkoid;
	Relation	idx;
	List	   *indexes;
	ListCell   *lc;
	int			seen = 0;
	int			i,
				k;

	*pkey = NULL;
	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->trigdesc != NULL || rel->rd_rules != NULL ||
		UA_HAS_GENERATED(desc->constr) ||
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED ||
		pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		return false;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		attcol[i] = -1;
		if (att->attisdropped)
			continue;
		for (k = 0; k < cols->ncols; k++)
			if (strcmp(NameStr(att->attname), names[k]) == 0)
				break;
		if (k == cols->ncols || att->atttypid != cols->types[k])
			return false;
		attcol[i] = k;
		seen++;
	}
	if (seen != cols->ncols)
		return false;

	/* Every index checked at once; the primary key is the rollup's key. */
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	r = index_open(lfirst_oid(lc), AccessShareLock);
		bool		immediate = r->rd_index->indimmediate;

		index_close(r, AccessShareLock);
		if (!immediate)
			return false;
	}
	pkoid = UA_PRIMARY_KEY_INDEX(rel);
	if (!OidIsValid(pkoid))
		return false;
	idx = index_open(pkoid, RowExclusiveLock);
	if (idx->rd_rel->relam != BTREE_AM_OID ||
		IndexRelationGetNumberOfKeyAttributes(idx) != cols->nkeys)
	{
		index_close(idx, RowExclusiveLock);
		return false;
	}
	for (k = 0; k < cols->nkeys; k++)
	{
		AttrNumber	attno = idx->rd_index->indkey.values[k];

		if (attno <= 0 || attcol[attno - 1] != k ||
			(cols->types[k] == TEXTOID && !get_collation_isdeterministic(idx->rd_indcollation[k])) ||
			(cols->types[k] != TEXTOID && cols->types[k] != DATEOID))
		{
			index_close(idx, RowExclusiveLock);
			return false;
		}
	}
	*pkey = idx;
	return true;
}

/* A scan key on index column k (1-based) with an operator of its opfamily. */
static void
probe_key(ScanKey key, Relation idx, int k, StrategyNumber strategy, Datum value)
{
	Oid			opno = get_opfamily_member(idx->rd_opfamily[k - 1], idx->rd_opcintype[k - 1],
										   idx->rd_opcintype[k - 1], strategy);

	if (!OidIsValid(opno))
		elog(ERROR, "usage_analytics: no operator of strategy %d for index column %d", strategy, k);
	ScanKeyEntryInitialize(key, 0, k, strategy, idx->rd_opcintype[k - 1], idx->rd_indcollation[k - 1],
						   get_opcode(opno), value);
}

/* The executor state of the inserts into one rollup, as COPY sets it up. */
typedef struct DirectExec
{
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slots[DIRECT_BUFFER];
	int			n;
	CommandId	cid;
	MemoryContext batch_cxt;	/* what one table_multi_insert allocates */
} DirectExec;

static void
direct_flush(DirectExec *x)
{
	MemoryContext old;
	int			i;

	if (x->n == 0)
		return;
	old = MemoryContextSwitchTo(x->batch_cxt);
	table_multi_insert(x->rri->ri_RelationDesc, x->slots, x->n, x->cid, 0, NULL);
	for (i = 0; i < x->n; i++)
	{
		if (x->rri->ri_NumIndices > 0)
			UA_INSERT_INDEX_TUPLES(x->rri, x->slots[i], x->estate);
		ExecClearTuple(x->slots[i]);
		ResetPerTupleExprContext(x->estate);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(x->batch_cxt);
	x->n = 0;
}

bool
ua_fold_insert_new(const char *table, char **names, Columns *cols)
{
	Oid			relid;
	Relation	rel,
				idx;
	int		   *attcol;
	int			natts;
	int			date_col = -1;
	int			k,
				g,
				kept = 0;
	SnapshotData dirty;
	IndexScanDesc scan;
	TupleTableSlot *probe_slot;
	ScanKeyData keys[MAX_COLUMNS];
	bool	   *fresh;
	DirectExec	x;
	RangeTblEntry *rte;
	Bitmapset  *inserted = NULL;

	relid = RangeVarGetRelid(makeRangeVar("analytics", unconstify(char *, table), -1), RowExclusiveLock, false);
	rel = table_open(relid, NoLock);
	natts = RelationGetDescr(rel)->natts;
	attcol = palloc(sizeof(int) * natts);
	for (k = 0; k < cols->nkeys; k++)
		if (cols->types[k] == DATEOID)
		{
			date_col = k;
			break;
		}
	if (date_col < 0 || !direct_possible(rel, names, cols, attcol, &idx))
	{
		table_close(rel, NoLock);
		return false;
	}

	/*
	 * The groups: consecutive rows (key order) with equal key columns before
	 * the day; one probe each for a stored row of its prefix and day range.
	 */
	fresh = palloc(sizeof(bool) * cols->nrows);
	InitDirtySnapshot(dirty);
	probe_slot = table_slot_create(rel, NULL);
	scan = UA_INDEX_BEGINSCAN(rel, idx, &dirty, date_col + 2);
	for (g = 0; g < cols->norder;)
	{
		int			first = cols->order[g];
		int			end;
		DateADT		lo = DatumGetDateADT(cols->values[date_col][first]),
					hi = lo;
		bool		stored;

		for (end = g + 1; end < cols->norder; end++)
		{
			int			r = cols->order[end];
			DateADT		d = DatumGetDateADT(cols->values[date_col][r]);

			for (k = 0; k < date_col; k++)
				if (ua_fold_text_cmp(cols->values[k][r], cols->values[k][first]) != 0)
					break;
			if (k < date_col)
				break;
			lo = Min(lo, d);
			hi = Max(hi, d);
		}
		for (k = 0; k < date_col; k++)
			probe_key(&keys[k], idx, k + 1, BTEqualStrategyNumber, cols->values[k][first]);
		probe_key(&keys[date_col], idx, date_col + 1, BTGreaterEqualStrategyNumber, DateADTGetDatum(lo));
		probe_key(&keys[date_col + 1], idx, date_col + 1, BTLessEqualStrategyNumber, DateADTGetDatum(hi));
		index_rescan(scan, keys, date_col + 2, NULL, 0);
		stored = index_getnext_slot(scan, ForwardScanDirection, probe_slot);
		ExecClearTuple(probe_slot);
		for (; g < end; g++)
			fresh[g] = !stored;
		CHECK_FOR_INTERRUPTS();
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(probe_slot);
	index_close(idx, NoLock);

	/* The executor state of an INSERT of every column, as COPY FROM's. */
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;
	for (k = 0; k < natts; k++)
		if (attcol[k] >= 0)
			inserted = bms_add_member(inserted, k + 1 - FirstLowInvalidHeapAttributeNumber);
	x.estate = CreateExecutorState();
	UA_INIT_RANGE_TABLE(x.estate, list_make1(rte), ua_insert_perminfos(rte, inserted));
	x.rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(x.estate, x.rri, 1);
	UA_CHECK_VALID_INSERT(x.rri);
	ExecOpenIndices(x.rri, false);
	x.n = 0;
	x.cid = GetCurrentCommandId(true);
	x.batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "usage_analytics fold insert",
										ALLOCSET_DEFAULT_SIZES);
	for (k = 0; k < DIRECT_BUFFER; k++)
		x.slots[k] = NULL;

	for (g = 0; g < cols->norder; g++)
	{
		TupleTableSlot *slot;
		int			r = cols->order[g];

		if (!fresh[g])
		{
			cols->order[kept++] = r;
			continue;
		}
		if (x.slots[x.n] == NULL)
			x.slots[x.n] = table_slot_create(rel, &x.estate->es_tupleTable);
		slot = x.slots[x.n];
		ExecClearTuple(slot);
		for (k = 0; k < natts; k++)
		{
			int			c = attcol[k];

			slot->tts_values[k] = c >= 0 ? cols->values[c][r] : (Datum) 0;
			slot->tts_isnull[k] = c >= 0 ? cols->nulls[c][r] : true;
		}
		ExecStoreVirtualTuple(slot);
		if (rel->rd_att->constr != NULL)
			ExecConstraints(x.rri, slot, x.estate);
		if (++x.n == DIRECT_BUFFER)
			direct_flush(&x);
	}
	direct_flush(&x);
	cols->norder = kept;

	ExecResetTupleTable(x.estate->es_tupleTable, false);
	ExecCloseResultRelations(x.estate);
	ExecCloseRangeTableRelations(x.estate);
	FreeExecutorState(x.estate);
	MemoryContextDelete(x.batch_cxt);
	table_close(rel, NoLock);
	return true;
}
