/*-------------------------------------------------------------------------
 *
 * event_insert.c
 *	  Insert one event into analytics.chat_events (or one API request into
 *	  analytics.api_requests: the same machinery, a second log) the way COPY
 *	  does: tuple routing, constraints, heap and index insertion, with no
 *	  parse, plan or executor start per row.
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
 *	  built-in functions are cached, checked before planning (which would
 *	  inline a user's SQL function, whose later CREATE OR REPLACE invalidates
 *	  no relation); anything else -- a user-defined function or a domain in
 *	  a constraint or default, a column of a domain type, an INSERT trigger,
 *	  row level security forced on the owner, a foreign or deferrable-unique
 *	  partition, generated columns (stored, or virtual on 18) -- sends the
 *	  event through a plain SPI INSERT, which the executor handles in full.
 *	  CHECK constraints that are NOT ENFORCED (18) are not evaluated, as in
 *	  the executor.  On a distributed install (citus.c) the table is a
 *	  Citus shell and every row goes through the SPI INSERT, which Citus
 *	  routes to the shard.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

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
#include "citus.h"
#include "compat.h"
#include "event_insert.h"
#include "spi_plans.h"

/* A column of a log the write path sets: name and type. */
typedef struct LogColumn
{
	const char *name;
	Oid			type;
} LogColumn;

/* The columns of UaEventColumn: names and types. */
static const LogColumn event_columns[EV_NCOLUMNS] = {
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
	{"metadata", JSONBOID}, {"recorded_xid", INT8OID}, {"reserved_tokens", INT4OID},
	{"reserved_cost", NUMERICOID}, {"priced_model", TEXTOID}, {"model_version", TEXTOID},
	{"user_query_length", INT4OID}, {"ai_response_length", INT4OID}, {"complexity", TEXTOID},
	{"ip_address", INETOID}, {"user_agent", TEXTOID}
};

/* The columns of UaApiColumn. */
static const LogColumn api_columns[API_NCOLUMNS] = {
	{"id", INT8OID}, {"org_id", TEXTOID}, {"occurred_at", TIMESTAMPTZOID},
	{"endpoint", TEXTOID}, {"method", TEXTOID}, {"status_code", INT2OID},
	{"response_time_ms", INT4OID}, {"cached", BOOLOID}, {"widget_id", TEXTOID},
	{"billable_units", INT8OID}, {"api_key_id", INT8OID}, {"user_id", TEXTOID},
	{"request_id", TEXTOID}, {"origin", TEXTOID}, {"country_code", TEXTOID},
	{"ip_address", INETOID}, {"user_agent", TEXTOID}, {"metadata", JSONBOID},
	{"recorded_xid", INT8OID}
};

#define MAX_LOG_COLUMNS 64

/*
 * The compiled CHECK constraints of one partition; exprs NULL: not cached.
 * An entry of exprs is NULL for a constraint that is not enforced.
 */
typedef struct LeafChecks
{
	Oid			relid;
	int			ncheck;
	ExprState **exprs;
} LeafChecks;

/* What this backend knows about one log. */
typedef struct LogCache
{
	bool		valid;			/* built completely */
	bool		stale;			/* an invalidation arrived; rebuild when safe */
	MemoryContext cxt;
	Oid			root;
	bool		direct;			/* false: always the SPI INSERT */
	AttrNumber	attno[MAX_LOG_COLUMNS];
	int			natts;
	ExprState **defaults;		/* per attribute; NULL: none */
	int		   *column_of;		/* per attribute: its UaEventColumn, or -1 */
	List	   *leaves;			/* of LeafChecks */
} LogCache;

/*
 * The plain INSERTs, one per set of defaulted columns (the write path and
 * admission use two or three).
 */
typedef struct SpiInsert
{
	uint64		defaults;		/* bit i: column i gets its default */
	UaPlan		plan;
} SpiInsert;

/* A log: its table, its columns, what this backend knows of it. */
typedef struct LogDesc
{
	const char *relname;		/* in schema analytics */
	const char *what;			/* a row of it, in messages */
	const LogColumn *columns;
	int			ncolumns;
	int			optional_from;	/* columns from here on may be missing (older SQL) */
	int			id_column;
	LogCache	cache;
	List	   *spi_inserts;	/* of SpiInsert */
} LogDesc;

static LogDesc event_log = {
	.relname = "chat_events", .what = "event", .columns = event_columns, .ncolumns = EV_NCOLUMNS,
	.optional_from = EV_PRICED_MODEL, .id_column = EV_ID
};
static LogDesc api_log = {
	.relname = "api_requests", .what = "API request", .columns = api_columns, .ncolumns = API_NCOLUMNS,
	.optional_from = API_NCOLUMNS, .id_column = API_ID
};
static LogDesc *const logs[] = {&event_log, &api_log};

StaticAssertDecl(EV_NCOLUMNS <= MAX_LOG_COLUMNS && API_NCOLUMNS <= MAX_LOG_COLUMNS,
				 "a set of log columns must fit in a uint64");

void
ua_event_row_init(UaEventRow *row)
{
	int			i;

	for (i = 0; i < EV_NCOLUMNS; i++)
	{
		row->values[i] = (Datum) 0;
		row->nulls[i] = true;
		row->defaults[i] = true;
	}
}

void
ua_event_row_args(UaEventRow *row, FunctionCallInfo fcinfo, const UaEventArg *map, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		UaEventColumn col = map[i].column;

		row->defaults[col] = false;
		row->nulls[col] = PG_ARGISNULL(map[i].argno);
		row->values[col] = row->nulls[col] ? (Datum) 0 : PG_GETARG_DATUM(map[i].argno);
	}
}

void
ua_event_row_optional_args(UaEventRow *row, FunctionCallInfo fcinfo, const UaEventArg *map, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (map[i].argno < PG_NARGS() && !PG_ARGISNULL(map[i].argno))
			ua_event_row_set(row, map[i].column, PG_GETARG_DATUM(map[i].argno));
}

void
ua_event_row_set(UaEventRow *row, UaEventColumn col, Datum value)
{
	row->defaults[col] = false;
	row->nulls[col] = false;
	row->values[col] = value;
}

void
ua_api_row_init(UaApiRow *row)
{
	int			i;

	for (i = 0; i < API_NCOLUMNS; i++)
	{
		row->values[i] = (Datum) 0;
		row->nulls[i] = true;
		row->defaults[i] = true;
	}
}

void
ua_api_row_set(UaApiRow *row, UaApiColumn col, Datum value, bool isnull)
{
	row->defaults[col] = false;
	row->nulls[col] = isnull;
	row->values[col] = isnull ? (Datum) 0 : value;
}

static void
invalidate(Datum arg, Oid relid)
{
	ListCell   *lc;
	size_t		l;

	for (l = 0; l < lengthof(logs); l++)
	{
		LogCache   *cache = &logs[l]->cache;

		if (!cache->valid)
			continue;
		if (relid == InvalidOid || relid == cache->root)
		{
			cache->stale = true;
			continue;
		}
		foreach(lc, cache->leaves)
			if (((LeafChecks *) lfirst(lc))->relid == relid)
				cache->stale = true;
	}
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

/*
 * Does the expression call a function that is not built in, or coerce to a
 * domain (whose constraints ExecInitExpr copies in, and which ALTER DOMAIN
 * changes without a relcache invalidation of the table)?
 */
static bool
calls_user_function(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, CoerceToDomain) || check_functions_in_node(node, user_defined, NULL))
		return true;
	return expression_tree_walker(node, calls_user_function, context);
}

/*
 * Compile a stored expression into *state, in the cache context; false,
 * and nothing compiled, when it calls a function that is not built in (its
 * state might not survive a query).  The check comes before planning:
 * expression_planner inlines a user's SQL function, and its body, replaced
 * later by CREATE OR REPLACE FUNCTION, would stay in the cache.
 */
static bool
compile(Node *expr, ExprState **state)
{
	if (calls_user_function(expr, NULL))
		return false;
	expr = (Node *) expression_planner((Expr *) expr);
	*state = ExecInitExpr((Expr *) expr, NULL);
	return true;
}

/*
 * (Re)build what is known about the table; rel is locked.  The cache is
 * valid only once built: an error midway leaves it to be built again.
 */
static void
rebuild(LogDesc *log, Relation rel)
{
	LogCache   *cache = &log->cache;
	TupleDesc	desc = RelationGetDescr(rel);
	TriggerDesc *trig = rel->trigdesc;
	MemoryContext old;
	int			i;

	cache->valid = false;
	if (cache->cxt == NULL)
		cache->cxt = AllocSetContextCreate(CacheMemoryContext, "usage_analytics log insert",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(cache->cxt);
	memset(&cache->attno, 0, sizeof(cache->attno));
	cache->leaves = NIL;
	cache->root = RelationGetRelid(rel);
	cache->natts = desc->natts;
	cache->stale = false;
	cache->direct = rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE &&
		!(trig && (trig->trig_insert_before_row || trig->trig_insert_after_row ||
				   trig->trig_insert_instead_row || trig->trig_insert_before_statement ||
				   trig->trig_insert_after_statement || trig->trig_insert_new_table)) &&
		!UA_HAS_GENERATED(desc->constr);

	old = MemoryContextSwitchTo(cache->cxt);
	cache->defaults = palloc0(desc->natts * sizeof(ExprState *));
	cache->column_of = palloc(desc->natts * sizeof(int));
	for (i = 0; i < desc->natts; i++)
		cache->column_of[i] = -1;
	for (i = 0; i < log->ncolumns && cache->direct; i++)
	{
		AttrNumber	a = get_attnum(cache->root, log->columns[i].name);

		/* Under the 1.0 SQL: no 1.1 columns, and nothing sets them. */
		if (a <= 0 && i >= log->optional_from)
			continue;
		if (a <= 0 || TupleDescAttr(desc, a - 1)->atttypid != log->columns[i].type)
			cache->direct = false;
		else
		{
			cache->attno[i] = a;
			cache->column_of[a - 1] = i;
		}
	}
	for (i = 0; i < desc->natts && cache->direct; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Node	   *def;

		if (att->attisdropped)
			continue;
		/* A domain's constraints and default are the INSERT's to apply. */
		if (get_typtype(att->atttypid) == TYPTYPE_DOMAIN)
			cache->direct = false;
		else if (att->atthasdef && (def = build_column_default(rel, i + 1)) != NULL &&
				 !compile(def, &cache->defaults[i]))
			cache->direct = false;
	}
	MemoryContextSwitchTo(old);
	cache->valid = true;
}

/* The compiled constraints of a partition (locked), built on first use. */
static LeafChecks *
leaf_checks(LogDesc *log, Relation leaf)
{
	LogCache   *cache = &log->cache;
	TupleConstr *constr = RelationGetDescr(leaf)->constr;
	LeafChecks *lc;
	ListCell   *cell;
	MemoryContext old;
	int			i;

	foreach(cell, cache->leaves)
		if (((LeafChecks *) lfirst(cell))->relid == RelationGetRelid(leaf))
			return lfirst(cell);

	old = MemoryContextSwitchTo(cache->cxt);
	lc = palloc0(sizeof(LeafChecks));
	lc->relid = RelationGetRelid(leaf);
	lc->ncheck = constr ? constr->num_check : 0;
	lc->exprs = palloc0(Max(lc->ncheck, 1) * sizeof(ExprState *));
	for (i = 0; i < lc->ncheck; i++)
	{
		if (!UA_CHECK_ENFORCED(constr, i))
			continue;
		if (!compile(stringToNode(constr->check[i].ccbin), &lc->exprs[i]))
		{
			lc->exprs = NULL;
			break;
		}
	}
	cache->leaves = lappend(cache->leaves, lc);
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
		UA_HAS_GENERATED(rel->rd_att->constr) ||
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
insert_through_spi(LogDesc *log, const Datum *values, const bool *nulls, const bool *defaults)
{
	uint64		mask = 0;
	SpiInsert  *ins = NULL;
	ListCell   *lc;
	Datum		v[MAX_LOG_COLUMNS];
	char		n[MAX_LOG_COLUMNS + 1];
	bool		isnull;
	int			nargs = 0;
	int			i;

	for (i = 0; i < log->ncolumns; i++)
		if (defaults[i])
			mask |= UINT64CONST(1) << i;
	foreach(lc, log->spi_inserts)
		if (((SpiInsert *) lfirst(lc))->defaults == mask)
			ins = lfirst(lc);
	if (ins == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		StringInfoData cols;
		StringInfoData params;

		ins = palloc0(sizeof(SpiInsert));
		ins->defaults = mask;
		initStringInfo(&cols);
		initStringInfo(&params);
		for (i = 0; i < log->ncolumns; i++)
		{
			if (defaults[i])
				continue;
			appendStringInfo(&cols, "%s%s", nargs ? ", " : "", log->columns[i].name);
			appendStringInfo(&params, "%s$%d", nargs ? ", " : "", nargs + 1);
			ins->plan.argtypes[nargs++] = log->columns[i].type;
		}
		ins->plan.nargs = nargs;
		/* Second column: did the stored row keep every value given? */
		ins->plan.sql = psprintf("INSERT INTO analytics.%s (%s) VALUES (%s) "
								 "RETURNING id, ROW(%s) IS NOT DISTINCT FROM ROW(%s)",
								 log->relname, cols.data, params.data, cols.data, params.data);
		log->spi_inserts = lappend(log->spi_inserts, ins);
		MemoryContextSwitchTo(old);
	}
	nargs = 0;
	for (i = 0; i < log->ncolumns; i++)
	{
		if (defaults[i])
			continue;
		v[nargs] = values[i];
		n[nargs++] = nulls[i] ? 'n' : ' ';
	}
	n[nargs] = '\0';
	ua_run(&ins->plan, v, n, false, -1);

	/*
	 * Counters and rollups follow the values given here: a BEFORE INSERT
	 * trigger that skips or changes the row would make the log disagree
	 * with them.  Refused loudly instead.
	 */
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("a trigger on analytics.%s skipped the %s", log->relname, log->what),
				 errdetail("The %s would be counted but not stored.", log->what),
				 errhint("A BEFORE INSERT trigger on the raw log must return the row it was given.")));
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("a trigger on analytics.%s changed the recorded %s", log->relname, log->what),
				 errdetail("Counters and rollups follow the values recorded; the stored row must keep them."),
				 errhint("A BEFORE INSERT trigger on the raw log may only set columns the extension leaves to their defaults.")));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Resolve the log's root, refresh the cache, and say whether rows may go in
 * directly (heap and index access as COPY does) or must go through
 * insert_through_spi: not on a distributed (Citus) install, under RLS, or
 * without the INSERT privilege.
 */
static bool
log_open(LogDesc *log, Oid *root)
{
	LogCache   *cache = &log->cache;
	Relation	rel;

	*root = RangeVarGetRelid(makeRangeVar("analytics", (char *) log->relname, -1), RowExclusiveLock, false);
	if (!cache->valid || cache->stale || cache->root != *root)
	{
		rel = table_open(*root, NoLock);
		rebuild(log, rel);
		table_close(rel, NoLock);
	}
	return cache->direct && !ua_citus() && check_enable_rls(*root, InvalidOid, true) != RLS_ENABLED &&
		pg_class_aclcheck(*root, GetUserId(), ACL_INSERT) == ACLCHECK_OK;
}

/* The executor state of an insert into the log's root, as COPY sets it up. */
typedef struct LogExec
{
	EState	   *estate;
	ResultRelInfo *rri;
	ModifyTableState *mtstate;
	PartitionTupleRouting *proute;
	ExprContext *econtext;
	TupleTableSlot *slot;		/* a row of the root */
	Relation	rel;			/* the root */
} LogExec;

static void
log_exec_begin(LogExec *x, Oid root, Bitmapset *inserted_cols)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	x->estate = CreateExecutorState();
	rte->rtekind = RTE_RELATION;
	rte->relid = root;
	rte->relkind = RELKIND_PARTITIONED_TABLE;
	rte->rellockmode = RowExclusiveLock;
	UA_INIT_RANGE_TABLE(x->estate, list_make1(rte), ua_insert_perminfos(rte, inserted_cols));
	x->rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(x->estate, x->rri, 1);
	x->rel = x->rri->ri_RelationDesc;
	UA_CHECK_VALID_INSERT(x->rri);
	x->mtstate = makeNode(ModifyTableState);
	x->mtstate->ps.plan = NULL;
	x->mtstate->ps.state = x->estate;
	x->mtstate->operation = CMD_INSERT;
	x->mtstate->mt_nrels = 1;
	x->mtstate->resultRelInfo = x->rri;
	x->mtstate->rootResultRelInfo = x->rri;
	x->proute = ExecSetupPartitionTupleRouting(x->estate, x->rel);
	x->econtext = GetPerTupleExprContext(x->estate);
	x->slot = table_slot_create(x->rel, &x->estate->es_tupleTable);
}

static void
log_exec_end(LogExec *x)
{
	ExecResetTupleTable(x->estate->es_tupleTable, false);
	ExecCleanupTupleRouting(x->mtstate, x->proute);
	ExecCloseResultRelations(x->estate);
	ExecCloseRangeTableRelations(x->estate);
	FreeExecutorState(x->estate);
}

/*
 * Fill x->slot with a row of the root: our values, and the defaults of the
 * other columns.  Returns the id (drawn from the sequence when defaulted);
 * *id_null when it is NULL.
 */
static int64
log_fill_slot(LogDesc *log, LogExec *x, Oid root, const Datum *values, const bool *nulls,
			  const bool *defaults, bool *id_null)
{
	LogCache   *cache = &log->cache;
	TupleTableSlot *slot = x->slot;
	int			i;

	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, cache->natts * sizeof(bool));
	for (i = 0; i < cache->natts; i++)
	{
		int			col = cache->column_of[i];

		if (col >= 0 && !defaults[col])
		{
			slot->tts_values[i] = values[col];
			slot->tts_isnull[i] = nulls[col];
		}
		else if (cache->defaults[i] != NULL)
			slot->tts_values[i] = ExecEvalExprSwitchContext(cache->defaults[i], x->econtext,
															&slot->tts_isnull[i]);
	}
	*id_null = slot->tts_isnull[cache->attno[log->id_column] - 1];
	ExecStoreVirtualTuple(slot);
	slot->tts_tableOid = root;
	return *id_null ? 0 : DatumGetInt64(slot->tts_values[cache->attno[log->id_column] - 1]);
}

/* A row the direct path could not take, through SPI, keeping its drawn id. */
static int64
insert_through_spi_keeping_id(LogDesc *log, const Datum *values, const bool *nulls,
							  const bool *defaults, bool id_null, int64 id)
{
	Datum		v[MAX_LOG_COLUMNS];
	bool		n[MAX_LOG_COLUMNS];
	bool		d[MAX_LOG_COLUMNS];

	memcpy(v, values, log->ncolumns * sizeof(Datum));
	memcpy(n, nulls, log->ncolumns * sizeof(bool));
	memcpy(d, defaults, log->ncolumns * sizeof(bool));
	if (!id_null)
	{
		v[log->id_column] = Int64GetDatum(id);
		n[log->id_column] = false;
		d[log->id_column] = false;
	}
	return insert_through_spi(log, v, n, d);
}

/*
 * Insert one row: directly when log_open allows and the partition's
 * checks are ours to run, else through insert_through_spi.  SPI connected,
 * owner's rights.
 */
static int64
log_insert(LogDesc *log, const Datum *values, const bool *nulls, const bool *defaults)
{
	LogCache   *cache = &log->cache;
	Oid			root;
	LogExec		x;
	ResultRelInfo *leaf;
	TupleTableSlot *slot;
	TupleConversionMap *map;
	LeafChecks *checks;
	Bitmapset  *inserted_cols = NULL;
	int64		id;
	bool		id_null;
	bool		direct;
	int			i;

	if (!log_open(log, &root))
		return insert_through_spi(log, values, nulls, defaults);

	for (i = 0; i < log->ncolumns; i++)
		if (!defaults[i])
			inserted_cols = bms_add_member(inserted_cols,
										   cache->attno[i] - FirstLowInvalidHeapAttributeNumber);
	log_exec_begin(&x, root, inserted_cols);
	id = log_fill_slot(log, &x, root, values, nulls, defaults, &id_null);
	slot = x.slot;

	/* The partition; locking it may deliver invalidations. */
	leaf = ExecFindPartition(x.mtstate, x.rri, x.proute, slot, x.estate);
	if (cache->stale)
		rebuild(log, x.rel);
	checks = cache->direct ? leaf_checks(log, leaf->ri_RelationDesc) : NULL;
	direct = checks != NULL && leaf_is_direct(leaf, checks);

	if (direct)
	{
		map = UA_ROOT_TO_CHILD_MAP(leaf, x.estate);
		if (map != NULL)
			slot = execute_attr_map_slot(map->attrMap, slot, leaf->ri_PartitionTupleSlot);
		slot->tts_tableOid = RelationGetRelid(leaf->ri_RelationDesc);
		if (leaf->ri_RelationDesc->rd_att->constr)
		{
			UA_CHECK_EXPRS(leaf) = checks->exprs;
			ExecConstraints(leaf, slot, x.estate);
		}
		table_tuple_insert(leaf->ri_RelationDesc, slot, GetCurrentCommandId(true), 0, NULL);
		if (leaf->ri_NumIndices > 0)
			UA_INSERT_INDEX_TUPLES(leaf, slot, x.estate);
		/* Not ours to free: the cache owns them. */
		UA_CHECK_EXPRS(leaf) = NULL;
	}
	log_exec_end(&x);

	if (!direct)
		return insert_through_spi_keeping_id(log, values, nulls, defaults, id_null, id);
	CommandCounterIncrement();
	return id;
}

/*
 * The rows a batch buffers for one partition before table_multi_insert
 * (copyfrom.c buffers up to 1000 as well).
 */
#define BATCH_BUFFER 1000

typedef struct BatchBuffer
{
	ResultRelInfo *leaf;		/* NULL: empty */
	TupleTableSlot *slots[BATCH_BUFFER];
	int			nslots;			/* created, for leaf's descriptor */
	int			n;				/* filled */
} BatchBuffer;

/* Write the buffered rows: one table_multi_insert, then their index entries. */
static void
batch_flush(BatchBuffer *buf, EState *estate, CommandId cid)
{
	int			i;

	if (buf->n == 0)
		return;
	table_multi_insert(buf->leaf->ri_RelationDesc, buf->slots, buf->n, cid, 0, NULL);
	for (i = 0; i < buf->n; i++)
	{
		if (buf->leaf->ri_NumIndices > 0)
			UA_INSERT_INDEX_TUPLES(buf->leaf, buf->slots[i], estate);
		ExecClearTuple(buf->slots[i]);
		ResetPerTupleExprContext(estate);
	}
	buf->n = 0;
}

/* Empty the buffer and forget its partition's slots. */
static void
batch_drop(BatchBuffer *buf, EState *estate, CommandId cid)
{
	int			i;

	batch_flush(buf, estate, cid);
	for (i = 0; i < buf->nslots; i++)
		ExecDropSingleTupleTableSlot(buf->slots[i]);
	buf->nslots = 0;
	buf->leaf = NULL;
}

/*
 * Insert n events the way COPY does: routed row by row, constraints
 * checked, buffered per partition and written with table_multi_insert
 * and their index entries.  ids[i] gets the id of rows[i].  A row the
 * direct path cannot take (see log_insert) goes through the plain INSERT,
 * in its place.  SPI connected, owner's rights.
 */
void
ua_event_insert_batch(const UaEventRow *rows, int n, int64 *ids)
{
	LogDesc    *log = &event_log;
	LogCache   *cache = &log->cache;
	Oid			root;
	LogExec		x;
	Bitmapset  *inserted_cols = NULL;
	BatchBuffer *buf;
	List	   *leaves = NIL;
	ListCell   *lc;
	CommandId	cid;
	int			r;
	int			i;

	if (n == 0)
		return;
	if (!log_open(log, &root))
	{
		for (r = 0; r < n; r++)
			ids[r] = insert_through_spi(log, rows[r].values, rows[r].nulls, rows[r].defaults);
		return;
	}

	/* The columns any row sets. */
	for (i = 0; i < log->ncolumns; i++)
		for (r = 0; r < n; r++)
			if (!rows[r].defaults[i])
			{
				inserted_cols = bms_add_member(inserted_cols,
											   cache->attno[i] - FirstLowInvalidHeapAttributeNumber);
				break;
			}
	log_exec_begin(&x, root, inserted_cols);
	buf = palloc0(sizeof(BatchBuffer));
	cid = GetCurrentCommandId(true);

	for (r = 0; r < n; r++)
	{
		const UaEventRow *row = &rows[r];
		ResultRelInfo *leaf;
		LeafChecks *checks;
		TupleTableSlot *leaf_slot;
		TupleConversionMap *map;
		bool		id_null;

		ids[r] = log_fill_slot(log, &x, root, row->values, row->nulls, row->defaults, &id_null);

		/* The partition; locking it may deliver invalidations. */
		leaf = ExecFindPartition(x.mtstate, x.rri, x.proute, x.slot, x.estate);
		if (cache->stale)
		{
			batch_drop(buf, x.estate, cid);
			foreach(lc, leaves)
				UA_CHECK_EXPRS((ResultRelInfo *) lfirst(lc)) = NULL;
			rebuild(log, x.rel);
		}
		checks = cache->direct ? leaf_checks(log, leaf->ri_RelationDesc) : NULL;
		if (checks == NULL || !leaf_is_direct(leaf, checks))
		{
			/* In its place: what is buffered first. */
			batch_flush(buf, x.estate, cid);
			ids[r] = insert_through_spi_keeping_id(log, row->values, row->nulls, row->defaults,
												   id_null, ids[r]);
			cid = GetCurrentCommandId(true);
			ResetPerTupleExprContext(x.estate);
			continue;
		}
		if (buf->leaf != leaf)
		{
			batch_drop(buf, x.estate, cid);
			buf->leaf = leaf;
		}
		if (!list_member_ptr(leaves, leaf))
			leaves = lappend(leaves, leaf);
		if (buf->n == buf->nslots)
			buf->slots[buf->nslots++] = table_slot_create(leaf->ri_RelationDesc, NULL);
		leaf_slot = x.slot;
		map = UA_ROOT_TO_CHILD_MAP(leaf, x.estate);
		if (map != NULL)
			leaf_slot = execute_attr_map_slot(map->attrMap, x.slot, leaf->ri_PartitionTupleSlot);
		ExecCopySlot(buf->slots[buf->n], leaf_slot);
		leaf_slot = buf->slots[buf->n];
		leaf_slot->tts_tableOid = RelationGetRelid(leaf->ri_RelationDesc);
		if (leaf->ri_RelationDesc->rd_att->constr)
		{
			UA_CHECK_EXPRS(leaf) = checks->exprs;
			ExecConstraints(leaf, leaf_slot, x.estate);
		}
		buf->n++;
		ResetPerTupleExprContext(x.estate);
		if (buf->n == BATCH_BUFFER)
			batch_flush(buf, x.estate, cid);
	}
	batch_drop(buf, x.estate, cid);
	/* Not ours to free: the cache owns them. */
	foreach(lc, leaves)
		UA_CHECK_EXPRS((ResultRelInfo *) lfirst(lc)) = NULL;
	log_exec_end(&x);
	CommandCounterIncrement();
}

int64
ua_event_insert(const UaEventRow *row)
{
	return log_insert(&event_log, row->values, row->nulls, row->defaults);
}

int64
ua_api_insert(const UaApiRow *row)
{
	return log_insert(&api_log, row->values, row->nulls, row->defaults);
}
