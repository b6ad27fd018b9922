/*-------------------------------------------------------------------------
 *
 * import_rows.c
 *	  analytics.import_rows(refcursor, batch_size): the body of a history
 *	  load (import_chat_events).  The rows of a cursor, converted column by
 *	  column into the elements of record_chat_events and recorded by its
 *	  code (record_batch.c, batch_int.h), a batch at a time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "batch_int.h"
#include "guc.h"
#include "spi_plans.h"
#include "subject.h"

/*
 * analytics.import_rows(rows refcursor, batch_size integer): a history
 * load (import_chat_events opens the cursor over the caller's table, with
 * the caller's rights, and passes it here).  The rows are read batch_size
 * at a time straight from the cursor, each column taken as its key's value
 * without a trip through jsonb where the type allows it; every row of a
 * batch is checked before the batch is recorded, then recorded as a chunk
 * of record_chat_events is, with one difference: the counter sums and the
 * thresholds wait while the sums take at most maintenance_work_mem (as the
 * fold's), and for the end: a counter row is written once per load (or a
 * few times), not once per chunk.  An error names the source rows of its batch (or, from
 * the counters and thresholds, the rows since the last flush).
 */
PG_FUNCTION_INFO_V1(ua_import_rows);

/* How a source column becomes its key's value. */
typedef enum ColConv
{
	CONV_AS_IS,					/* the key's type */
	CONV_INT,					/* int2, int4, int8 to int8, float8 or numeric */
	CONV_INPUT,					/* text: the key type's input function */
	CONV_TEXTARRAY,				/* text[]: one dimension, from 1 */
	CONV_JSONB,					/* jsonb: its value, as the batch takes a key */
	CONV_TO_JSONB				/* anything else: to_jsonb(), then as jsonb */
} ColConv;

typedef struct ImportColumn
{
	int			attno;			/* 1-based in the cursor's rows */
	int			key;			/* -1: not a key */
	Oid			type;			/* base type */
	ColConv		conv;
	FmgrInfo	to_jsonb;		/* CONV_TO_JSONB: with the column's type */
} ImportColumn;

typedef struct ImportMap
{
	int			ncols;
	ImportColumn *cols;
	const char *unknown;		/* a column that is not a key, or NULL */
} ImportMap;

static ColConv
column_conv(Oid type, KeyKind kind)
{
	bool		is_int = type == INT2OID || type == INT4OID || type == INT8OID;
	bool		is_text = type == TEXTOID || type == VARCHAROID;

	/* A JSON null is an absent key, also in a jsonb column. */
	if (type == JSONBOID)
		return CONV_JSONB;
	switch (kind)
	{
		case K_TEXT:
			return is_text ? CONV_AS_IS : CONV_TO_JSONB;
		case K_INT8:
			return type == INT8OID ? CONV_AS_IS : is_int ? CONV_INT : is_text ? CONV_INPUT : CONV_TO_JSONB;
		case K_FLOAT8:
			return type == FLOAT8OID ? CONV_AS_IS : is_int ? CONV_INT : is_text ? CONV_INPUT : CONV_TO_JSONB;
		case K_AMOUNT:
			return type == NUMERICOID ? CONV_AS_IS : is_int ? CONV_INT : is_text ? CONV_INPUT : CONV_TO_JSONB;
		case K_BOOL:
			return type == BOOLOID ? CONV_AS_IS : is_text ? CONV_INPUT : CONV_TO_JSONB;
		case K_TIMESTAMPTZ:
			return type == TIMESTAMPTZOID ? CONV_AS_IS : is_text ? CONV_INPUT : CONV_TO_JSONB;
		case K_INET:
			return type == INETOID ? CONV_AS_IS : is_text ? CONV_INPUT : CONV_TO_JSONB;
		case K_TEXTARRAY:
			return type == TEXTARRAYOID ? CONV_TEXTARRAY : CONV_TO_JSONB;
		case K_JSONB:
			return CONV_TO_JSONB;
	}
	return CONV_TO_JSONB;
}

static void
import_map(TupleDesc desc, ImportMap *map)
{
	int			i;

	map->ncols = 0;
	map->cols = palloc0(desc->natts * sizeof(ImportColumn));
	map->unknown = NULL;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		ImportColumn *c;
		const char *name = NameStr(att->attname);
		int			k;

		if (att->attisdropped)
			continue;
		k = key_number(name, strlen(name));
		if (k < 0)
		{
			if (map->unknown == NULL)
				map->unknown = pstrdup(name);
			continue;
		}
		c = &map->cols[map->ncols++];
		c->attno = i + 1;
		c->key = k;
		c->type = getBaseType(att->atttypid);
		c->conv = column_conv(c->type, batch_keys[k].kind);
		if (c->conv == CONV_TO_JSONB)
		{
			FuncExpr   *fe = makeNode(FuncExpr);

			fmgr_info(F_TO_JSONB, &c->to_jsonb);
			fe->args = list_make1(makeNullConst(att->atttypid, -1, InvalidOid));
			fe->funcresulttype = JSONBOID;
			c->to_jsonb.fn_expr = (Node *) fe;
		}
	}
}

/* A varlena value of the row, whole and with a 4-byte header. */
static Datum
whole_value(Datum v)
{
	return PointerGetDatum(pg_detoast_datum((struct varlena *) DatumGetPointer(v)));
}

/* The value of a jsonb, as the batch takes a key's JSON value. */
static void
convert_jsonb(FunctionCallInfo fc, int k, Jsonb *jb)
{
	JsonbValue	v;

	if (JB_ROOT_IS_SCALAR(jb))
	{
		if (!JsonbExtractScalar(&jb->root, &v))
			elog(ERROR, "usage_analytics: a jsonb scalar without its value");
	}
	else
	{
		v.type = jbvBinary;
		v.val.binary.data = &jb->root;
		v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
	}
	convert_value(fc, k, &v);
}

static void
convert_column(FunctionCallInfo fc, const ImportColumn *c, Datum v)
{
	int			k = c->key;
	Datum		d;

	switch (c->conv)
	{
		case CONV_AS_IS:
			d = get_typlen(c->type) == -1 ? whole_value(v) : v;
			break;
		case CONV_INT:
			{
				int64		i = c->type == INT2OID ? DatumGetInt16(v) :
					c->type == INT4OID ? DatumGetInt32(v) : DatumGetInt64(v);

				if (batch_keys[k].kind == K_INT8)
					d = Int64GetDatum(i);
				else if (batch_keys[k].kind == K_FLOAT8)
					d = Float8GetDatum((float8) i);
				else
					d = DirectFunctionCall1(int8_numeric, Int64GetDatum(i));
			}
			break;
		case CONV_INPUT:
			{
				JsonbValue	jv;
				text	   *t = DatumGetTextPP(v);

				jv.type = jbvString;
				jv.val.string.val = VARDATA_ANY(t);
				jv.val.string.len = VARSIZE_ANY_EXHDR(t);
				convert_value(fc, k, &jv);
				return;
			}
		case CONV_TEXTARRAY:
			{
				ArrayType  *a = DatumGetArrayTypeP(v);
				Datum	   *elems;
				bool	   *nulls;
				int			n;
				int			dims[1];
				int			lbs[1] = {1};

				if (ARR_NDIM(a) > 1)
					bad_key("an array of strings");
				deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
				dims[0] = n;
				d = n == 0 ? PointerGetDatum(construct_empty_array(TEXTOID)) :
					PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID, -1, false,
													   TYPALIGN_INT));
			}
			break;
		case CONV_JSONB:
			convert_jsonb(fc, k, DatumGetJsonbP(v));
			return;
		case CONV_TO_JSONB:
		default:
			convert_jsonb(fc, k, DatumGetJsonbP(FunctionCall1(&((ImportColumn *) c)->to_jsonb, v)));
			return;
	}
	fc->args[k].isnull = false;
	fc->args[k].value = d;
}

/*
 * Whose rights: the caller's to read the source -- the cursor's query runs
 * while it is fetched, with whatever functions, casts and views it calls --
 * and to turn its values into the keys' (to_jsonb may call a cast the
 * caller made); the owner's to check and record them, as
 * record_chat_events does (import_rows is not SECURITY DEFINER).  An error
 * in between is left to the (sub)transaction's abort, which restores the
 * user.
 */
static Oid	import_caller;
static Oid	import_owner;
static int	import_sec_context;

static void
as_owner(void)
{
	SetUserIdAndSecContext(import_owner, import_sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

static void
as_caller(void)
{
	SetUserIdAndSecContext(import_caller, import_sec_context);
}

typedef struct RowArg
{
	const ImportMap *map;
	HeapTuple	tuple;
	TupleDesc	desc;
	BatchEvent *ev;
} RowArg;

/* Convert and check one source row (run under with_element). */
static void
parse_row(void *arg)
{
	RowArg	   *ra = arg;
	BatchEvent *ev = ra->ev;
	int			i;

	ev->fc = palloc0(SizeForFunctionCallInfo(UA_RECORD_NARGS));
	InitFunctionCallInfoData(*ev->fc, batch_flinfo, UA_RECORD_NARGS, InvalidOid, NULL, NULL);
	for (i = 0; i < UA_RECORD_NARGS; i++)
	{
		ev->fc->args[i].value = (Datum) 0;
		ev->fc->args[i].isnull = true;
	}
	if (ra->map->unknown != NULL)
	{
		err_whole = true;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event %d has unknown key \"%s\"", ev->index, ra->map->unknown),
				 errhint("Keys are the argument names of analytics.record_chat_event.")));
	}
	for (i = 0; i < ra->map->ncols; i++)
	{
		const ImportColumn *c = &ra->map->cols[i];
		bool		isnull;
		Datum		v = heap_getattr(ra->tuple, c->attno, ra->desc, &isnull);

		if (isnull)
			continue;
		err_whole = false;
		err_key = batch_keys[c->key].name;
		convert_column(ev->fc, c, v);
		err_key = NULL;
	}
	err_whole = false;
	as_owner();
	ua_record_check(ev->fc, &ev->a);
	as_caller();
}

/* What an error of the load is about: its source rows. */
static int64 rows_from;
static int64 rows_to;

typedef struct ImportBatch
{
	Portal		portal;
	const ImportMap *map;
	int			batch_size;
	bool		orgs;
	MemoryContext cxt;
	BatchSums  *bs;
	int64		done;			/* rows taken before this batch */
	int64		flushed;		/* rows whose counters are written */
	int			taken;			/* rows of this batch */
} ImportBatch;

/* Fetch, check and record one batch; SPI connected. */
static void
import_batch(void *arg)
{
	ImportBatch *ib = arg;
	SPITupleTable *tt;
	BatchEvent *ev;
	int			i;

	SPI_cursor_fetch(ib->portal, true, ib->batch_size);
	tt = SPI_tuptable;
	ib->taken = (int) SPI_processed;
	if (ib->taken == 0)
		return;
	rows_from = ib->done + 1;
	rows_to = ib->done + ib->taken;
	ev = MemoryContextAlloc(ib->cxt, ib->taken * sizeof(BatchEvent));
	for (i = 0; i < ib->taken; i++)
	{
		RowArg		ra;
		MemoryContext old = MemoryContextSwitchTo(ib->cxt);

		ra.map = ib->map;
		ra.tuple = tt->vals[i];
		ra.desc = tt->tupdesc;
		ra.ev = &ev[i];
		ev[i].index = i + 1;
		ev[i].first = -1;
		ev[i].skip = false;
		ev[i].id = 0;
		with_element(i + 1, parse_row, &ra);
		MemoryContextSwitchTo(old);
	}
	as_owner();
	record_chunk(ev, ib->taken, ib->orgs, ib->cxt, ib->bs, true);
	if (MemoryContextMemAllocated(ib->bs->cxt, true) > (Size) maintenance_work_mem * 1024)
	{
		rows_from = ib->flushed + 1;
		elog(DEBUG1, "usage_analytics: writing the counters of source rows " INT64_FORMAT " to " INT64_FORMAT
			 " (%ld rows)", rows_from, rows_to,
			 hash_get_num_entries(ib->bs->ucount) + hash_get_num_entries(ib->bs->ocount));
		sums_flush(ib->bs, ib->cxt);
		ib->flushed = rows_to;
		sums_reset(ib->bs);
	}
	as_caller();
}

static void
import_final_flush(void *arg)
{
	ImportBatch *ib = arg;

	if (ib->flushed == ib->done)
		return;
	rows_from = ib->flushed + 1;
	rows_to = ib->done;
	elog(DEBUG1, "usage_analytics: writing the counters of source rows " INT64_FORMAT " to " INT64_FORMAT
		 " (%ld rows)", rows_from, rows_to,
		 hash_get_num_entries(ib->bs->ucount) + hash_get_num_entries(ib->bs->ocount));
	as_owner();
	sums_flush(ib->bs, ib->cxt);
	sums_reset(ib->bs);
	as_caller();
}

/* The source rows an error is about (none before a batch is fetched). */
static char *
rows_prefix(void)
{
	if (rows_from == 0)
		return NULL;
	return psprintf("source rows " INT64_FORMAT " to " INT64_FORMAT, rows_from, rows_to);
}

/* Run fn(arg), naming the source rows in any error it raises. */
static void
with_rows(void (*fn) (void *), void *arg)
{
	rows_from = 0;
	run_naming_errors(fn, arg, rows_prefix);
}

Datum
ua_import_rows(PG_FUNCTION_ARGS)
{
	char	   *name;
	Portal		portal;
	ImportMap	map;
	ImportBatch ib;
	BatchSums	bs;
	MemoryContext old;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source_rows must name an open cursor")));
	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 1 || PG_GETARG_INT32(1) > ua_max_batch_events)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be between 1 and usage_analytics.max_batch_events (%d)",
						ua_max_batch_events)));
	name = TextDatumGetCString(PG_GETARG_DATUM(0));
	portal = SPI_cursor_find(name);
	if (portal == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_CURSOR),
				 errmsg("cursor \"%s\" does not exist", name)));
	if (portal->tupDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_CURSOR_STATE),
				 errmsg("cursor \"%s\" does not return rows", name)));

	batch_flinfo = make_flinfo();
	import_map(portal->tupDesc, &map);
	{
		UaSavedUser saved;

		ua_become_function_owner(fcinfo, &saved);
		import_owner = GetUserId();
		ua_restore_user(&saved);
		GetUserIdAndSecContext(&import_caller, &import_sec_context);
	}

	memset(&ib, 0, sizeof(ib));
	ib.portal = portal;
	ib.map = &map;
	ib.batch_size = PG_GETARG_INT32(1);
	ib.orgs = ua_orgs_enabled();
	ib.cxt = AllocSetContextCreate(CurrentMemoryContext, "usage_analytics import",
								   ALLOCSET_DEFAULT_SIZES);
	bs.cxt = AllocSetContextCreate(CurrentMemoryContext, "usage_analytics import sums",
								   ALLOCSET_DEFAULT_SIZES);
	sums_init(&bs);
	ib.bs = &bs;

	/*
	 * A batch at a time: an SPI connection each (its fetched rows and what
	 * its statements leave go at SPI_finish), the batch's memory reset.
	 */
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(ib.cxt);
		SPI_connect();
		with_rows(import_batch, &ib);
		SPI_finish();
		MemoryContextSwitchTo(old);
		MemoryContextReset(ib.cxt);
		if (ib.taken == 0)
			break;
		ib.done += ib.taken;
	}
	SPI_connect();
	with_rows(import_final_flush, &ib);
	SPI_finish();

	MemoryContextDelete(ib.cxt);
	MemoryContextDelete(bs.cxt);
	PG_RETURN_INT64(ib.done);
}
