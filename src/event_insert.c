/*-------------------------------------------------------------------------
 *
 * event_insert.c
 *	  Insert one event into analytics.chat_events the way COPY does: tuple
 *	  routing, constraints, heap and index insertion, with no parse, plan or
 *	  executor start per event.
 *
 *	  An INSERT compiles every CHECK constraint of the partition again for
 *	  each statement (ExecRelCheck: stringToNode and expression_planner for
 *	  22 constraints), and that was the largest single cost of the write
 *	  path.  Here the constraints of each partition are compiled once per
 *	  backend and handed to ExecConstraints, which then only evaluates
 *	  them: the same checks, with PostgreSQL's own errors.  Columns the
 *	  write path does not set get their defaults, compiled the same way.
 *
 *	  The cache is dropped when the relcache entry of the table or of one of
 *	  its partitions is invalidated (any ALTER, a new partition, a new
 *	  constraint), and rebuilt only between inserts, after the locks that
 *	  deliver those invalidations are held.  Only expressions made of
 *	  built-in functions are cached; anything else -- a user-defined
 *	  function in a constraint or default, an INSERT trigger, row level
 *	  security forced on the owner, a foreign or deferrable-unique
 *	  partition, generated columns -- sends the event through a plain SPI
 *	  INSERT, which the executor handles in full.
 *
 *-------------------------------------------------------------------------
 */
#include "usage_analytics.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/execPartition.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "compat.h"
#include "event_insert.h"

/* The columns of UaEventColumn: names and types. */
static const struct
{
	const char *name;
	Oid			type;
}			columns[EV_NCOLUMNS] = {
	{"id", INT8OID}, {"occurred_at", TIMESTAMPTZOID}, {"usage_date", DATEOID},
	{"user_id", TEXTOID}, {"org_id", TEXTOID}, {"conversation_id", TEXTOID},
	{"message_id", TEXTOID}, {"document_id", TEXTOID}, {"session_id", TEXTOID},
	{"request_id", TEXTOID}, {"provider", TEXTOID}, {"model", TEXTOID},
	{"request_type", TEXTOID}, {"category", TEXTOID}, {"query_intent", TEXTOID},
	{"status", TEXTOID}, {"input_tokens", INT4OID}, {"cached_input_tokens", INT4OID},
	{"cache_write_tokens", INT4OID}, {"output_tokens", INT4OID},
	{"reasoning_tokens", INT4OID}, {"cost", NUMERICOID}, {"cost_input", NUMERICOID},
	{"cost_cached_input", NUMERICOID}, {"cost_cache_write", NUMERICOID},
	{"cost_output", NUMERICOID}, {"cache_savings", NUMERICOID},
	{"cost_source", TEXTOID}, {"response_time_ms", INT4OID},
	{"time_to_first_token_ms", INT4OID}, {"cache_hit", BOOLOID},
	{"error_code", TEXTOID}, {"error_message", TEXTOID},
	{"sections_referenced", TEXTARRAYOID}, {"intermediate_steps", INT4OID},
	{"metadata", JSONBOID}, {"recorded_xid", INT8OID}
};

/* The compiled CHECK constraints of one partition; exprs NULL: not cached. */
typedef struct LeafChecks
{
	Oid			relid;
	int			ncheck;
	ExprState **exprs;
} LeafChecks;

/* What this backend knows about analytics.chat_events. */
static struct
{
	bool		valid;
	bool		stale;			/* an invalidation arrived; rebuild when safe */
	MemoryContext cxt;
	Oid			root;
	bool		direct;			/* false: always the SPI INSERT */
	AttrNumber	attno[EV_NCOLUMNS];
	int			natts;
	ExprState **defaults;		/* per attribute; NULL: none */
	bool	   *set_by_us;		/* per attribute */
	List	   *leaves;			/* of LeafChecks */
}			cache;

static UaPlan insert_spi = {.sql = NULL};

static void
invalidate(Datum arg, Oid relid)
{
	ListCell   *lc;

	if (!cache.valid)
		return;
	if (relid == InvalidOid || relid == cache.root)
	{
		cache.stale = true;
		return;
	}
	foreach(lc, cache.leaves)
		if (((LeafChecks *) lfirst(lc))->relid == relid)
			cache.stale = true;
}

void
ua_event_insert_init(void)
{
	CacheRegisterRelcacheCallback(invalidate, (Datum) 0);
}

static bool
user_defined(Oid funcid, void *context)
{
	return funcid >= FirstNormalObjectId;
}

static bool
calls_user_function(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, user_defined, NULL))
		return true;
	return expression_tree_walker(node, calls_user_function, context);
}

/*
 * A cacheable ExprState for a stored expression, or NULL when it calls a
 * function that is not built in (its state might not survive a query).
 * In the cache context.
 */
static ExprState *
compile(Node *expr)
{
	expr = (Node *) expression_planner((Expr *) expr);
	if (calls_user_function(expr, NULL))
		return NULL;
	return ExecInitExpr((Expr *) expr, NULL);
}

/* (Re)build what is known about the table; rel is locked. */
static void
rebuild(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TriggerDesc *trig = rel->trigdesc;
	MemoryContext old;
	int			i;

	if (cache.cxt == NULL)
		cache.cxt = AllocSetContextCreate(CacheMemoryContext, "usage_analytics event insert",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(cache.cxt);
	memset(&cache.attno, 0, sizeof(cache.attno));
	cache.leaves = NIL;
	cache.root = RelationGetRelid(rel);
	cache.natts = desc->natts;
	cache.valid = true;
	cache.stale = false;
	cache.direct = rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE &&
		!(trig && (trig->trig_insert_before_row || trig->trig_insert_after_row ||
				   trig->trig_insert_instead_row || trig->trig_insert_before_statement ||
				   trig->trig_insert_after_statement || trig->trig_insert_new_table)) &&
		!(desc->constr && desc->constr->has_generated_stored);

	old = MemoryContextSwitchTo(cache.cxt);
	cache.defaults = palloc0(desc->natts * sizeof(ExprState *));
	cache.set_by_us = palloc0(desc->natts * sizeof(bool));
	for (i = 0; i < EV_NCOLUMNS && cache.direct; i++)
	{
		AttrNumber	a = get_attnum(cache.root, columns[i].name);

		if (a <= 0 || TupleDescAttr(desc, a - 1)->atttypid != columns[i].type)
			cache.direct = false;
		else
		{
			cache.attno[i] = a;
			cache.set_by_us[a - 1] = true;
		}
	}
	for (i = 0; i < desc->natts && cache.direct; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Node	   *def;

		if (att->attisdropped || !att->atthasdef)
			continue;
		def = build_column_default(rel, i + 1);
		if (def == NULL)
			continue;
		cache.defaults[i] = compile(def);
		if (cache.defaults[i] == NULL)
			cache.direct = false;
	}
	MemoryContextSwitchTo(old);
}

/* The compiled constraints of a partition (locked), built on first use. */
static LeafChecks *
leaf_checks(Relation leaf)
{
	TupleConstr *constr = RelationGetDescr(leaf)->constr;
	LeafChecks *lc;
	ListCell   *cell;
	MemoryContext old;
	int			i;

	foreach(cell, cache.leaves)
		if (((LeafChecks *) lfirst(cell))->relid == RelationGetRelid(leaf))
			return lfirst(cell);

	old = MemoryContextSwitchTo(cache.cxt);
	lc = palloc0(sizeof(LeafChecks));
	lc->relid = RelationGetRelid(leaf);
	lc->ncheck = constr ? constr->num_check : 0;
	lc->exprs = palloc0(Max(lc->ncheck, 1) * sizeof(ExprState *));
	for (i = 0; i < lc->ncheck; i++)
	{
		lc->exprs[i] = compile(stringToNode(constr->check[i].ccbin));
		if (lc->exprs[i] == NULL)
		{
			lc->exprs = NULL;
			break;
		}
	}
	cache.leaves = lappend(cache.leaves, lc);
	MemoryContextSwitchTo(old);
	return lc;
}

/* May the event go straight into this partition? */
static bool
leaf_is_direct(ResultRelInfo *leaf, LeafChecks *checks)
{
	Relation	rel = leaf->ri_RelationDesc;
	TriggerDesc *trig = leaf->ri_TrigDesc;
	int			i;

	if (checks->exprs == NULL || leaf->ri_FdwRoutine != NULL ||
		rel->rd_rel->relkind != RELKIND_RELATION ||
		(rel->rd_att->constr && rel->rd_att->constr->has_generated_stored) ||
		checks->ncheck != (rel->rd_att->constr ? rel->rd_att->constr->num_check : 0))
		return false;
	if (trig && (trig->trig_insert_before_row || trig->trig_insert_after_row ||
				 trig->trig_insert_instead_row))
		return false;
	for (i = 0; i < leaf->ri_NumIndices; i++)
		if (!leaf->ri_IndexRelationDescs[i]->rd_index->indimmediate)
			return false;
	return true;
}

/* The plain INSERT, for whatever the direct path does not take. */
static int64
insert_through_spi(Datum *values, const bool *nulls)
{
	char		n[EV_NCOLUMNS + 1];
	bool		isnull;
	int			i;

	if (insert_spi.sql == NULL)
	{
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfoString(&sql, "INSERT INTO analytics.chat_events (");
		for (i = 0; i < EV_NCOLUMNS; i++)
			appendStringInfo(&sql, "%s%s", i ? ", " : "", columns[i].name);
		appendStringInfoString(&sql, ") VALUES (COALESCE($1, pg_catalog.nextval('analytics.chat_events_id_seq'))");
		for (i = 1; i < EV_NCOLUMNS; i++)
			appendStringInfo(&sql, ", $%d", i + 1);
		appendStringInfoString(&sql, ") RETURNING id");
		for (i = 0; i < EV_NCOLUMNS; i++)
			insert_spi.argtypes[i] = columns[i].type;
		insert_spi.nargs = EV_NCOLUMNS;
		insert_spi.sql = MemoryContextStrdup(TopMemoryContext, sql.data);
	}
	for (i = 0; i < EV_NCOLUMNS; i++)
		n[i] = nulls[i] ? 'n' : ' ';
	n[EV_NCOLUMNS] = '\0';
	ua_run(&insert_spi, values, n, false, 1);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

int64
ua_event_insert(Datum *values, const bool *nulls)
{
	Oid			root;
	EState	   *estate;
	RangeTblEntry *rte;
	ResultRelInfo *rri;
	ResultRelInfo *leaf;
	ModifyTableState *mtstate;
	PartitionTupleRouting *proute;
	TupleTableSlot *slot;
	TupleConversionMap *map;
	ExprContext *econtext;
	LeafChecks *checks;
	Relation	rel;
	int64		id;
	bool		id_null;
	bool		direct;
	int			i;

	root = RangeVarGetRelid(makeRangeVar("analytics", "chat_events", -1), RowExclusiveLock, false);
	if (!cache.valid || cache.stale || cache.root != root)
	{
		rel = table_open(root, NoLock);
		rebuild(rel);
		table_close(rel, NoLock);
	}
	if (!cache.direct || check_enable_rls(root, InvalidOid, true) == RLS_ENABLED ||
		pg_class_aclcheck(root, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		return insert_through_spi(values, nulls);

	/* The root relation as the executor would set it up for COPY. */
	estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = root;
	rte->relkind = RELKIND_PARTITIONED_TABLE;
	rte->rellockmode = RowExclusiveLock;
	UA_INIT_RANGE_TABLE(estate, list_make1(rte));
	rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(estate, rri, 1);
	rel = rri->ri_RelationDesc;
	CheckValidResultRel(rri, CMD_INSERT);
	mtstate = makeNode(ModifyTableState);
	mtstate->ps.plan = NULL;
	mtstate->ps.state = estate;
	mtstate->operation = CMD_INSERT;
	mtstate->mt_nrels = 1;
	mtstate->resultRelInfo = rri;
	mtstate->rootResultRelInfo = rri;
	proute = ExecSetupPartitionTupleRouting(estate, rel);
	econtext = GetPerTupleExprContext(estate);

	/* The row: our values, and the defaults of the other columns. */
	slot = table_slot_create(rel, &estate->es_tupleTable);
	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, cache.natts * sizeof(bool));
	for (i = 0; i < EV_NCOLUMNS; i++)
	{
		slot->tts_values[cache.attno[i] - 1] = values[i];
		slot->tts_isnull[cache.attno[i] - 1] = nulls[i];
	}
	for (i = 0; i < cache.natts; i++)
	{
		if (cache.defaults[i] == NULL ||
			(cache.set_by_us[i] && !(i == cache.attno[EV_ID] - 1 && nulls[EV_ID])))
			continue;
		slot->tts_values[i] = ExecEvalExprSwitchContext(cache.defaults[i], econtext,
														&slot->tts_isnull[i]);
	}
	id_null = slot->tts_isnull[cache.attno[EV_ID] - 1];
	id = id_null ? 0 : DatumGetInt64(slot->tts_values[cache.attno[EV_ID] - 1]);
	ExecStoreVirtualTuple(slot);
	slot->tts_tableOid = root;

	/* The partition; locking it may deliver invalidations. */
	leaf = ExecFindPartition(mtstate, rri, proute, slot, estate);
	if (cache.stale)
		rebuild(rel);
	checks = cache.direct ? leaf_checks(leaf->ri_RelationDesc) : NULL;
	direct = checks != NULL && leaf_is_direct(leaf, checks);

	if (direct)
	{
		map = UA_ROOT_TO_CHILD_MAP(leaf, estate);
		if (map != NULL)
			slot = execute_attr_map_slot(map->attrMap, slot, leaf->ri_PartitionTupleSlot);
		slot->tts_tableOid = RelationGetRelid(leaf->ri_RelationDesc);
		if (leaf->ri_RelationDesc->rd_att->constr)
		{
			leaf->ri_ConstraintExprs = checks->exprs;
			ExecConstraints(leaf, slot, estate);
		}
		table_tuple_insert(leaf->ri_RelationDesc, slot, GetCurrentCommandId(true), 0, NULL);
		if (leaf->ri_NumIndices > 0)
			UA_INSERT_INDEX_TUPLES(leaf, slot, estate);
		/* Not ours to free: the cache owns them. */
		leaf->ri_ConstraintExprs = NULL;
	}

	ExecResetTupleTable(estate->es_tupleTable, false);
	ExecCleanupTupleRouting(mtstate, proute);
	ExecCloseResultRelations(estate);
	ExecCloseRangeTableRelations(estate);
	FreeExecutorState(estate);

	if (!direct)
	{
		Datum		v[EV_NCOLUMNS];
		bool		n[EV_NCOLUMNS];

		/* The id already drawn from the sequence is kept. */
		memcpy(v, values, sizeof(v));
		memcpy(n, nulls, sizeof(n));
		v[EV_ID] = Int64GetDatum(id);
		n[EV_ID] = id_null;
		return insert_through_spi(v, n);
	}
	CommandCounterIncrement();
	return id;
}
