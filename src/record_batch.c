/*-------------------------------------------------------------------------
 *
 * record_batch.c
 *	  analytics.record_chat_events(events jsonb): a batch of finished
 *	  requests, with the work done once per batch rather than per event.
 *
 *	  1. Every element is converted and checked first (record.c's checks):
 *	     an error names the element (1-based) and the key, keeps its
 *	     SQLSTATE, and nothing is written.
 *	  2. Then, per chunk of CHUNK elements (the batch itself when smaller),
 *	     in element order:
 *	     - the idempotency keys of the chunk are claimed in one statement,
 *	       in key order (two batches claiming the same keys wait for each
 *	       other in one order: no deadlock); a repeat inside the batch
 *	       gets the first element's id, a key claimed before (by an earlier
 *	       batch or call) that event's id, and neither is recorded again;
 *	     - subjects (user or organization, with plan, time zone and day)
 *	       and prices are read once per distinct (subject, time) and
 *	       (model, provider, time); a price is applied to each event's
 *	       tokens from its rates;
 *	     - the events go in the way COPY does (event_insert.c:
 *	       ua_event_insert_batch, buffered per partition);
 *	     - each counter row (subject, local day) gets the sum of the chunk's
 *	       events: one UPDATE per table of the rows this backend's slot
 *	       has, one upsert of the rest (counters.c);
 *	     - thresholds are evaluated once per subject, in subject order,
 *	       with the chunk counted (notify.c writes each row once); a
 *	       user's plan part is read once per (plan, time zone), and a user
 *	       whose used amounts are below the lowest threshold of every
 *	       limit stops after reading its counters.
 *	  3. The ids are returned in element order.
 *
 *	  record_chat_event never refuses usage that happened, and neither
 *	  does the batch: every element is recorded, and thresholds reached
 *	  are notified.  Memory is bounded by the chunk (plus the jsonb
 *	  argument itself and the result's tuplestore).
 *
 *	  analytics.import_rows(refcursor, batch_size), the body of a history
 *	  load (import_chat_events), records the rows of a cursor the same
 *	  way, a batch at a time, without the jsonb argument (import_rows.c;
 *	  what they share: batch_int.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inet.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "counters.h"
#include "event_insert.h"
#include "guc.h"
#include "notify.h"
#include "quota.h"
#include "record.h"
#include "scan.h"
#include "spi_plans.h"
#include "subject.h"
#include "batch_int.h"

PG_FUNCTION_INFO_V1(ua_record_chat_events);

/* Elements handled together: one key claim, one insert, one upsert per counter. */
#define CHUNK 5000

/* Hash keys: length-prefixed strings, at most this long. */
#define KEYLEN 720

/* The keys of an element: record_chat_event's argument names, in order. */
const UaBatchKey batch_keys[UA_RECORD_NARGS] =
{
	{"user_id", K_TEXT}, {"model", K_TEXT}, {"provider", K_TEXT},
	{"input_tokens", K_INT8}, {"cached_input_tokens", K_INT8},
	{"cache_write_tokens", K_INT8}, {"output_tokens", K_INT8},
	{"reasoning_tokens", K_INT8}, {"cost", K_AMOUNT}, {"response_time_ms", K_FLOAT8},
	{"time_to_first_token_ms", K_FLOAT8}, {"status", K_TEXT}, {"error_code", K_TEXT},
	{"error_message", K_TEXT}, {"request_id", K_TEXT}, {"occurred_at", K_TIMESTAMPTZ},
	{"org_id", K_TEXT}, {"conversation_id", K_TEXT}, {"message_id", K_TEXT},
	{"document_id", K_TEXT}, {"session_id", K_TEXT}, {"request_type", K_TEXT},
	{"category", K_TEXT}, {"query_intent", K_TEXT}, {"cache_hit", K_BOOL},
	{"sections_referenced", K_TEXTARRAY}, {"intermediate_steps", K_INT8},
	{"metadata", K_JSONB}, {"model_version", K_TEXT}, {"user_query_length", K_INT8},
	{"ai_response_length", K_INT8}, {"complexity", K_TEXT}, {"ip_address", K_INET},
	{"user_agent", K_TEXT}
};


/*
 * The call record_chat_event's checks see: its argument types (a latency
 * is double precision), as get_fn_expr_argtype reads them.
 */
FmgrInfo   *batch_flinfo;

FmgrInfo *
make_flinfo(void)
{
	FmgrInfo   *fl = palloc0(sizeof(FmgrInfo));
	FuncExpr   *fe = makeNode(FuncExpr);
	int			i;

	for (i = 0; i < UA_RECORD_NARGS; i++)
	{
		static const Oid types[] = {
			[K_TEXT] = TEXTOID, [K_INT8] = INT8OID, [K_FLOAT8] = FLOAT8OID,
			[K_AMOUNT] = NUMERICOID, [K_BOOL] = BOOLOID, [K_TIMESTAMPTZ] = TIMESTAMPTZOID,
			[K_TEXTARRAY] = TEXTARRAYOID, [K_JSONB] = JSONBOID, [K_INET] = INETOID
		};

		fe->args = lappend(fe->args, makeNullConst(types[batch_keys[i].kind], -1, InvalidOid));
	}
	fe->funcresulttype = INT8OID;
	fl->fn_oid = InvalidOid;
	fl->fn_nargs = UA_RECORD_NARGS;
	fl->fn_expr = (Node *) fe;
	fl->fn_mcxt = CurrentMemoryContext;
	return fl;
}

/* What an error is about, for the message (see with_element). */
int			err_index;
const char *err_key;
bool		err_whole;			/* the message names them already */

/*
 * Run fn(arg); an error it raises goes on with its SQLSTATE, its message
 * preceded by what prefix() says at that moment (nothing when NULL).
 */
void
run_naming_errors(void (*fn) (void *), void *arg, char *(*prefix) (void))
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		fn(arg);
	}
	PG_CATCH();
	{
		ErrorData  *ed;
		char	   *what;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		what = prefix();
		if (what != NULL)
			ed->message = psprintf("%s: %s", what, ed->message);
		ReThrowError(ed);
	}
	PG_END_TRY();
}

/* The element (and key, if set) an error is about, unless it names them. */
static char *
element_prefix(void)
{
	if (err_whole)
		return NULL;
	if (err_key != NULL)
		return psprintf("event %d key \"%s\"", err_index, err_key);
	return psprintf("event %d", err_index);
}

/* Run fn(arg) naming the element (and key, if set) in any error it raises. */
void
with_element(int index, void (*fn) (void *), void *arg)
{
	err_index = index;
	err_key = NULL;
	err_whole = false;
	run_naming_errors(fn, arg, element_prefix);
	err_key = NULL;
}

void
bad_key(const char *expected)
{
	err_whole = true;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("event %d key \"%s\" must be %s", err_index, err_key, expected)));
}

/* A JSON scalar as text, as ->> gives it. */
static char *
scalar_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return NULL;
	}
}

int
key_number(const char *name, int len)
{
	int			i;

	for (i = 0; i < UA_RECORD_NARGS; i++)
		if ((int) strlen(batch_keys[i].name) == len && memcmp(batch_keys[i].name, name, len) == 0)
			return i;
	return -1;
}

/* The value of key k as its argument (the cast the PL/pgSQL batch made). */
void
convert_value(FunctionCallInfo fc, int k, JsonbValue *v)
{
	char	   *s;
	Datum		d;

	fc->args[k].isnull = false;
	if (v->type == jbvNull)
	{
		fc->args[k].isnull = true;
		fc->args[k].value = (Datum) 0;
		return;
	}
	switch (batch_keys[k].kind)
	{
		case K_JSONB:
			d = JsonbPGetDatum(JsonbValueToJsonb(v));
			break;
		case K_TEXTARRAY:
			{
				JsonbIterator *it;
				JsonbValue	e;
				JsonbIteratorToken tok;
				ArrayBuildState *st = initArrayResult(TEXTOID, CurrentMemoryContext, false);

				if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
					bad_key("an array of strings");
				it = JsonbIteratorInit(v->val.binary.data);
				while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
				{
					if (tok != WJB_ELEM)
						continue;
					if (e.type == jbvNull)
						accumArrayResult(st, (Datum) 0, true, TEXTOID, CurrentMemoryContext);
					else if ((s = scalar_text(&e)) != NULL)
						accumArrayResult(st, CStringGetTextDatum(s), false, TEXTOID, CurrentMemoryContext);
					else
						bad_key("an array of strings");
				}
				d = makeArrayResult(st, CurrentMemoryContext);
			}
			break;
		default:
			s = scalar_text(v);
			if (s == NULL)
				bad_key(batch_keys[k].kind == K_TEXT ? "a string" : "a JSON scalar");
			switch (batch_keys[k].kind)
			{
				case K_TEXT:
					d = CStringGetTextDatum(s);
					break;
				case K_INT8:
					d = DirectFunctionCall1(int8in, CStringGetDatum(s));
					break;
				case K_FLOAT8:
					d = DirectFunctionCall1(float8in, CStringGetDatum(s));
					break;
				case K_AMOUNT:
					d = DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
					break;
				case K_BOOL:
					d = DirectFunctionCall1(boolin, CStringGetDatum(s));
					break;
				case K_TIMESTAMPTZ:
					d = DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
											ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
					break;
				case K_INET:
					d = DirectFunctionCall1(inet_in, CStringGetDatum(s));
					break;
				default:
					elog(ERROR, "unexpected key kind");
			}
	}
	fc->args[k].value = d;
}

typedef struct ParseArg
{
	JsonbValue *elem;
	BatchEvent *ev;
} ParseArg;

/* Convert and check one element (run under with_element). */
static void
parse_element(void *arg)
{
	ParseArg   *pa = arg;
	BatchEvent *ev = pa->ev;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			k = -1;
	int			i;

	ev->fc = palloc0(SizeForFunctionCallInfo(UA_RECORD_NARGS));
	InitFunctionCallInfoData(*ev->fc, batch_flinfo, UA_RECORD_NARGS, InvalidOid, NULL, NULL);
	for (i = 0; i < UA_RECORD_NARGS; i++)
	{
		ev->fc->args[i].value = (Datum) 0;
		ev->fc->args[i].isnull = true;
	}
	err_whole = true;
	if (pa->elem->type != jbvBinary || !JsonContainerIsObject(pa->elem->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event %d is not a JSON object", ev->index)));
	err_whole = false;
	it = JsonbIteratorInit(pa->elem->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			k = key_number(v.val.string.val, v.val.string.len);
			if (k < 0)
			{
				err_whole = true;
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("event %d has unknown key \"%s\"", ev->index,
								pnstrdup(v.val.string.val, v.val.string.len)),
						 errhint("Keys are the argument names of analytics.record_chat_event.")));
			}
		}
		else if (tok == WJB_VALUE)
		{
			err_whole = false;
			err_key = batch_keys[k].name;
			convert_value(ev->fc, k, &v);
			err_key = NULL;
		}
	}
	err_whole = false;
	ua_record_check(ev->fc, &ev->a);
}

/* Elements [from, to) of the batch, converted and checked, into ev. */
static void
parse_range(Jsonb *jb, int from, int to, BatchEvent *ev)
{
	int			i;

	for (i = from; i < to; i++)
	{
		ParseArg	pa;

		pa.elem = getIthJsonbValueFromContainer(&jb->root, i);
		pa.ev = &ev[i - from];
		ev[i - from].index = i + 1;
		ev[i - from].first = -1;
		ev[i - from].skip = false;
		ev[i - from].id = 0;
		with_element(i + 1, parse_element, &pa);
	}
}

/* A hash key from up to three strings and a number, unambiguous. */
static void
make_key(char *key, const char *a, const char *b, const char *c, int64 n)
{
	snprintf(key, KEYLEN, "%d:%s|%d:%s|%d:%s|" INT64_FORMAT,
			 (int) strlen(a), a, (int) strlen(b), b, (int) strlen(c), c, n);
}

static const char *
arg_cstring(FunctionCallInfo fc, int k)
{
	return fc->args[k].isnull ? "" : TextDatumGetCString(fc->args[k].value);
}

static HTAB *
new_hash(const char *name, Size entrysize, MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = KEYLEN;
	ctl.entrysize = entrysize;
	ctl.hcxt = cxt;
	return hash_create(name, 256, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/*
 * Idempotency keys: claim the chunk's keys in one statement, in key order;
 * those already held (before this batch, or by an earlier chunk) are read
 * with a fresh snapshot after the claim waited for their holders.
 */
static UaPlan claim_keys = {
	.sql = "INSERT INTO analytics.request_keys AS k (user_id, request_id, event_id, occurred_at) "
	"SELECT x.u, x.r, pg_catalog.nextval('analytics.chat_events_id_seq'), x.o "
	"FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), "
	"pg_catalog.unnest($3::timestamptz[])) AS x(u, r, o) "
	"ORDER BY x.u, x.r "
	"ON CONFLICT (user_id, request_id) DO NOTHING RETURNING k.user_id, k.request_id, k.event_id",
	.nargs = 3, .argtypes = {TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID}
};

static UaPlan find_keys = {
	.sql = "SELECT k.user_id, k.request_id, k.event_id "
	"FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS x(u, r) "
	"JOIN analytics.request_keys k ON k.user_id = x.u AND k.request_id = x.r",
	.nargs = 2, .argtypes = {TEXTARRAYOID, TEXTARRAYOID}
};

typedef struct KeyEntry
{
	char		key[KEYLEN];
	int			pos;			/* chunk position of the first element with it */
	bool		done;
} KeyEntry;

static void
claim_chunk_keys(BatchEvent *ev, int n, MemoryContext cxt)
{
	HTAB	   *keys = new_hash("usage_analytics batch keys", sizeof(KeyEntry), cxt);
	Datum	   *u = palloc(n * sizeof(Datum));
	Datum	   *r = palloc(n * sizeof(Datum));
	Datum	   *o = palloc(n * sizeof(Datum));
	int			m = 0;
	int			pass;
	int			i;
	char		key[KEYLEN];

	for (i = 0; i < n; i++)
	{
		KeyEntry   *e;
		bool		found;

		if (ev[i].fc->args[A_REQUEST_ID].isnull)
			continue;
		make_key(key, arg_cstring(ev[i].fc, A_USER_ID), arg_cstring(ev[i].fc, A_REQUEST_ID), "", 0);
		e = hash_search(keys, key, HASH_ENTER, &found);
		if (found)
		{
			ev[i].first = e->pos;
			continue;
		}
		e->pos = i;
		e->done = false;
		u[m] = ev[i].fc->args[A_USER_ID].value;
		r[m] = ev[i].fc->args[A_REQUEST_ID].value;
		o[m] = TimestampTzGetDatum(ev[i].a.occurred_at);
		m++;
	}
	if (m == 0)
		return;

	/* Pass 0: the claim (new keys); pass 1: the keys held already. */
	for (pass = 0; pass < 2; pass++)
	{
		Datum		args[3];
		uint64		j;

		args[0] = PointerGetDatum(construct_array(u, m, TEXTOID, -1, false, TYPALIGN_INT));
		args[1] = PointerGetDatum(construct_array(r, m, TEXTOID, -1, false, TYPALIGN_INT));
		args[2] = PointerGetDatum(construct_array(o, m, TIMESTAMPTZOID, sizeof(TimestampTz),
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		ua_run(pass == 0 ? &claim_keys : &find_keys, args, NULL, false, -1);
		for (j = 0; j < SPI_processed; j++)
		{
			HeapTuple	tup = SPI_tuptable->vals[j];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			KeyEntry   *e;

			make_key(key, TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull)),
					 TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull)), "", 0);
			e = hash_search(keys, key, HASH_FIND, NULL);
			if (e == NULL || e->done)
				continue;
			e->done = true;
			ev[e->pos].id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
			ev[e->pos].skip = pass == 1;
		}
		/* What is left for pass 1: keys not claimed. */
		m = 0;
		for (i = 0; i < n; i++)
		{
			if (ev[i].fc->args[A_REQUEST_ID].isnull || ev[i].first >= 0 || ev[i].id != 0)
				continue;
			if (pass == 1)
				elog(ERROR, "usage_analytics: idempotency key vanished");
			u[m] = ev[i].fc->args[A_USER_ID].value;
			r[m] = ev[i].fc->args[A_REQUEST_ID].value;
			o[m] = TimestampTzGetDatum(ev[i].a.occurred_at);
			m++;
		}
		if (m == 0)
			break;
	}
}

/* A subject at a time: what the single path reads per event. */
typedef struct SubjectEntry
{
	char		key[KEYLEN];
	bool		in_org;
	UaOrg		org;
	UaSubject	subject;
	Datum		usage_date;
	TimestampTz at;				/* the time usage_date is the local day of */
} SubjectEntry;

/* A price at a time. */
typedef struct PriceEntry
{
	char		key[KEYLEN];
	int			found;
	UaPrice		price;
} PriceEntry;

/* A counter row's sum (org_id 0: usage_counters). */
typedef struct CounterEntry
{
	Datum		org_id;			/* the key: texts, 0 for no org_id */
	Datum		user_id;
	Datum		usage_date;
	UaCounterDelta d;
} CounterEntry;

/*
 * A counter row's key is its first three fields (texts compared by bytes,
 * as the hash of a make_key string did): a small entry, so a history
 * load's sums hold many rows in little memory.
 */
static uint32
counter_key_hash(const void *key, Size keysize)
{
	const CounterEntry *k = key;
	text	   *u = (text *) DatumGetPointer(k->user_id);
	uint32		h = hash_bytes((const unsigned char *) VARDATA_ANY(u), VARSIZE_ANY_EXHDR(u));

	h = hash_combine(h, hash_bytes_uint32((uint32) DatumGetDateADT(k->usage_date)));
	if (k->org_id != (Datum) 0)
	{
		text	   *o = (text *) DatumGetPointer(k->org_id);

		h = hash_combine(h, hash_bytes((const unsigned char *) VARDATA_ANY(o), VARSIZE_ANY_EXHDR(o)));
	}
	return h;
}

static bool
same_bytes(Datum a, Datum b)
{
	text	   *x = (text *) DatumGetPointer(a);
	text	   *y = (text *) DatumGetPointer(b);

	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
}

static int
counter_key_match(const void *key1, const void *key2, Size keysize)
{
	const CounterEntry *a = key1;
	const CounterEntry *b = key2;

	if (DatumGetDateADT(a->usage_date) != DatumGetDateADT(b->usage_date) ||
		(a->org_id == (Datum) 0) != (b->org_id == (Datum) 0) ||
		!same_bytes(a->user_id, b->user_id) ||
		(a->org_id != (Datum) 0 && !same_bytes(a->org_id, b->org_id)))
		return 1;
	return 0;
}

static HTAB *
new_counter_hash(const char *name, MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = offsetof(CounterEntry, d);
	ctl.entrysize = sizeof(CounterEntry);
	ctl.hash = counter_key_hash;
	ctl.match = counter_key_match;
	ctl.hcxt = cxt;
	return hash_create(name, 256, &ctl, HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

/* A subject whose thresholds the chunk may have moved. */
typedef struct NotifyEntry
{
	char		key[KEYLEN];
	bool		in_org;
	Datum		id;				/* user or organization */
	Datum		user_id;		/* in_org: a member who recorded */
	UaOrg		org;
	DateADT		latest;			/* the latest day its events were counted on */
	bool		have_now;		/* subject: the subject now, read already */
	UaSubject	subject;
} NotifyEntry;

/*
 * A plan's part of the usage snapshot, per (plan, time zone) of the
 * subjects evaluated now, and the lowest amount at which each periodic
 * limit of the plan reaches a threshold.
 */
typedef struct PlanEntry
{
	char		key[KEYLEN];
	UaSnapshot	plan;			/* ua_snapshot_plan's part */
	DateADT		month_end;
	bool		filter;			/* the levels below are known */
	bool		has_level[UA_NPLAN_LIMITS];
	Datum		level[UA_NPLAN_LIMITS]; /* numeric */
} PlanEntry;

static int
numeric_cmp_datum(Datum a, Datum b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

/* The levels of pe's plan: min over the thresholds t of t * limit. */
static void
plan_levels(PlanEntry *pe)
{
	Datum	   *th;
	bool	   *thnull;
	int			nth;
	int			i,
				t;

	pe->filter = false;
	if (!pe->plan.plan_found)
		return;					/* the quota's evaluation reports it */
	deconstruct_array(DatumGetArrayTypeP(pe->plan.warn_thresholds), NUMERICOID, -1, false,
					  TYPALIGN_INT, &th, &thnull, &nth);
	for (t = 0; t < nth; t++)
		if (thnull[t])
			return;
	for (i = 0; i < UA_NPLAN_LIMITS; i++)
	{
		Datum		limit;

		pe->has_level[i] = false;
		if (i == UA_LIMIT_MAX_TOKENS || pe->plan.limit_null[i])
			continue;			/* not periodic, or not in the plan */
		limit = i == UA_LIMIT_MONTHLY_COST ? pe->plan.limits[i] :
			DirectFunctionCall1(int8_numeric, pe->plan.limits[i]);
		for (t = 0; t < nth; t++)
		{
			Datum		level = DirectFunctionCall2(numeric_mul, th[t], limit);

			if (!pe->has_level[i] || numeric_cmp_datum(level, pe->level[i]) < 0)
				pe->level[i] = level;
			pe->has_level[i] = true;
		}
	}
	pe->filter = true;
}

/*
 * Is every periodic limit's used amount below its lowest threshold?  Then
 * the quota evaluation would find no threshold reached and notify nothing
 * (notify.c records a threshold when used >= threshold * limit).
 */
static bool
below_thresholds(const PlanEntry *pe, const UaSnapshot *usage)
{
	int			i;

	if (!pe->filter)
		return false;
	for (i = 0; i < UA_NPLAN_LIMITS; i++)
	{
		Datum		used;

		if (!pe->has_level[i])
			continue;
		switch (i)
		{
			case UA_LIMIT_DAILY_REQUESTS:
				used = DirectFunctionCall1(int8_numeric, Int64GetDatum(usage->day_requests));
				break;
			case UA_LIMIT_MONTHLY_REQUESTS:
				used = DirectFunctionCall1(int8_numeric, Int64GetDatum(usage->month_requests));
				break;
			case UA_LIMIT_MONTHLY_TOKENS:
				used = DirectFunctionCall1(int8_numeric, Int64GetDatum(usage->month_tokens));
				break;
			default:
				used = usage->month_cost;
				break;
		}
		if (numeric_cmp_datum(used, pe->level[i]) >= 0)
			return false;
	}
	return true;
}

static int
notify_cmp(const void *a, const void *b)
{
	return strcmp((*(NotifyEntry *const *) a)->key, (*(NotifyEntry *const *) b)->key);
}

typedef struct CostArg
{
	BatchEvent *ev;
	const UaPrice *price;
	int			found;
	UaRecordCost *cost;
} CostArg;

static void
cost_element(void *arg)
{
	CostArg    *ca = arg;
	UaPrice		p[1];

	memset(p, 0, sizeof(p));
	if (ca->found > 0)
		ua_price_apply(ca->price, ca->ev->a.t.input, ca->ev->a.t.cached, ca->ev->a.t.write,
					   ca->ev->a.t.output, &p[0]);
	ua_record_cost(ca->ev->fc, &ca->ev->a, p, ca->found, ca->cost);
}

static Datum
sum_amounts(Datum a, Datum b)
{
	if (a == (Datum) 0)
		return b;
	if (b == (Datum) 0)
		return a;
	return DirectFunctionCall2(numeric_add, a, b);
}

static void
delta_add(UaCounterDelta *sum, const UaCounterDelta *d)
{
	sum->requests += d->requests;
	sum->failed += d->failed;
	sum->input_tokens += d->input_tokens;
	sum->cached_input_tokens += d->cached_input_tokens;
	sum->cache_write_tokens += d->cache_write_tokens;
	sum->output_tokens += d->output_tokens;
	sum->reasoning_tokens += d->reasoning_tokens;
	sum->cache_hits += d->cache_hits;
	sum->cost = sum_amounts(sum->cost, d->cost);
	sum->cache_savings = sum_amounts(sum->cache_savings, d->cache_savings);
	sum->response_time_sum += d->response_time_sum;
	sum->response_time_count += d->response_time_count;
}


void
sums_init(BatchSums *bs)
{
	bs->ucount = new_counter_hash("usage_analytics batch counters", bs->cxt);
	bs->ocount = new_counter_hash("usage_analytics batch org counters", bs->cxt);
	bs->notify = new_hash("usage_analytics batch notify", sizeof(NotifyEntry), bs->cxt);
}

void
sums_reset(BatchSums *bs)
{
	MemoryContextReset(bs->cxt);
	sums_init(bs);
}

static Datum
copy_text(MemoryContext cxt, Datum v)
{
	MemoryContext old;
	Datum		r;

	if (v == (Datum) 0)
		return v;
	old = MemoryContextSwitchTo(cxt);
	r = datumCopy(v, false, -1);
	MemoryContextSwitchTo(old);
	return r;
}

/* a + b (numeric, 0 when (Datum) 0) in cxt; a (there already) is freed. */
static Datum
sum_into(MemoryContext cxt, Datum a, Datum b)
{
	Datum		r;
	MemoryContext old;

	if (b == (Datum) 0)
		return a;
	r = sum_amounts(a, b);
	old = MemoryContextSwitchTo(cxt);
	r = datumCopy(r, false, -1);
	MemoryContextSwitchTo(old);
	if (a != (Datum) 0)
		pfree(DatumGetPointer(a));
	return r;
}

/* Add d to the row (org_id, user_id, usage_date) of hash h (of bs). */
static void
counter_add(BatchSums *bs, HTAB *h, Datum org_id, Datum user_id, Datum usage_date,
			const UaCounterDelta *d)
{
	CounterEntry k;
	CounterEntry *ce;
	bool		found;
	UaCounterDelta sum;

	k.org_id = org_id;
	k.user_id = user_id;
	k.usage_date = usage_date;
	ce = hash_search(h, &k, HASH_ENTER, &found);
	if (!found)
	{
		MemoryContext old = MemoryContextSwitchTo(bs->cxt);

		ce->org_id = org_id == (Datum) 0 ? (Datum) 0 : datumCopy(org_id, false, -1);
		ce->user_id = datumCopy(user_id, false, -1);
		ce->usage_date = usage_date;
		ce->d = *d;
		ce->d.cost = d->cost == (Datum) 0 ? (Datum) 0 : datumCopy(d->cost, false, -1);
		ce->d.cache_savings = d->cache_savings == (Datum) 0 ? (Datum) 0 :
			datumCopy(d->cache_savings, false, -1);
		MemoryContextSwitchTo(old);
		return;
	}
	sum = ce->d;
	sum.cost = (Datum) 0;
	sum.cache_savings = (Datum) 0;
	delta_add(&sum, d);
	sum.cost = sum_into(bs->cxt, ce->d.cost, d->cost);
	sum.cache_savings = sum_into(bs->cxt, ce->d.cache_savings, d->cache_savings);
	ce->d = sum;
}

/* Write the rows of h: one statement per COUNTERS_STATEMENT rows. */
#define COUNTERS_STATEMENT 10000

static void
counters_apply(HTAB *h, bool org)
{
	long		n = hash_get_num_entries(h);
	Datum	   *orgs;
	Datum	   *users;
	Datum	   *dates;
	UaCounterDelta *d;
	HASH_SEQ_STATUS seq;
	CounterEntry *ce;
	long		i = 0;
	long		from;

	if (n == 0)
		return;
	orgs = palloc(n * sizeof(Datum));
	users = palloc(n * sizeof(Datum));
	dates = palloc(n * sizeof(Datum));
	d = palloc(n * sizeof(UaCounterDelta));
	hash_seq_init(&seq, h);
	while ((ce = hash_seq_search(&seq)) != NULL)
	{
		orgs[i] = ce->org_id;
		users[i] = ce->user_id;
		dates[i] = ce->usage_date;
		d[i] = ce->d;
		i++;
	}
	for (from = 0; from < n; from += COUNTERS_STATEMENT)
		ua_counters_add_many((int) Min(n - from, COUNTERS_STATEMENT), org ? orgs + from : NULL,
							 users + from, dates + from, d + from);
}

/*
 * A history load's lookups by interval (record_chunk with by_interval): a
 * user's subject changes only at the starts and ends of the user's
 * subscriptions, and a price only at an effective_from of the price book.
 * Between two such instants every comparison subject_at and price_request
 * make with the time gives the same answer, so the answer is looked up
 * once per interval -- (user, interval), (model, provider, interval) --
 * rather than once per distinct time.  The instants are read with the
 * chunk's snapshot.
 */
typedef struct Instants
{
	int			n;
	TimestampTz *t;				/* sorted, distinct */
} Instants;

typedef struct UserInstants
{
	char		key[KEYLEN];
	Instants	in;
} UserInstants;

static int
timestamptz_cmp_qsort(const void *a, const void *b)
{
	TimestampTz x = *(const TimestampTz *) a;
	TimestampTz y = *(const TimestampTz *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

static void
instants_finish(Instants *in)
{
	int			i,
				m = 0;

	qsort(in->t, in->n, sizeof(TimestampTz), timestamptz_cmp_qsort);
	for (i = 0; i < in->n; i++)
		if (m == 0 || in->t[i] != in->t[m - 1])
			in->t[m++] = in->t[i];
	in->n = m;
}

static void
instants_add(Instants *in, int *cap, TimestampTz t)
{
	if (in->n == *cap)
	{
		*cap = Max(16, *cap * 2);
		in->t = in->t == NULL ? palloc(*cap * sizeof(TimestampTz)) :
			repalloc(in->t, *cap * sizeof(TimestampTz));
	}
	in->t[in->n++] = t;
}

/* How many instants are at or before `at`: the interval of `at`. */
static int64
interval_of(const Instants *in, TimestampTz at)
{
	int			lo = 0,
				hi = in->n;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (in->t[mid] <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Every effective_from of the price book. */
static void
price_instants(Snapshot snap, Instants *in)
{
	UaScan		s;
	int			cap = 0;
	bool		isnull;

	in->n = 0;
	in->t = NULL;
	ua_scan_open(&s, "model_prices", "model_prices_pkey");
	ua_scan_begin(&s, snap);
	while (ua_scan_next(&s))
		instants_add(in, &cap, DatumGetTimestampTz(ua_scan_column(&s, "effective_from", &isnull)));
	ua_scan_close(&s);
	instants_finish(in);
}

/* The starts and ends of a user's subscriptions. */
static void
user_instants(Datum user_id, Snapshot snap, Instants *in)
{
	UaScan		s;
	int			cap = 0;
	bool		isnull;

	in->n = 0;
	in->t = NULL;
	ua_scan_open(&s, "subscriptions", "subscriptions_lookup_idx");
	ua_scan_key(&s, "user_id", BTEqualStrategyNumber, F_TEXTEQ, user_id);
	ua_scan_begin(&s, snap);
	while (ua_scan_next(&s))
	{
		Datum		v = ua_scan_column(&s, "starts_at", &isnull);

		if (!isnull)
			instants_add(in, &cap, DatumGetTimestampTz(v));
		v = ua_scan_column(&s, "ends_at", &isnull);
		if (!isnull)
			instants_add(in, &cap, DatumGetTimestampTz(v));
	}
	ua_scan_close(&s);
	instants_finish(in);
}

/* Record the chunk ev[0..n) (converted and checked); ids into ev[].id. */
void
record_chunk(BatchEvent *ev, int n, bool orgs, MemoryContext cxt, BatchSums *bs, bool by_interval)
{
	HTAB	   *subjects = new_hash("usage_analytics batch subjects", sizeof(SubjectEntry), cxt);
	HTAB	   *prices = new_hash("usage_analytics batch prices", sizeof(PriceEntry), cxt);
	HTAB	   *users = by_interval ? new_hash("usage_analytics batch user instants", sizeof(UserInstants), cxt) : NULL;
	Instants	book = {0, NULL};
	UaEventRow *rows = palloc(n * sizeof(UaEventRow));
	int		   *row_of = palloc(n * sizeof(int));
	int64	   *ids;
	int			nrows = 0;
	char		key[KEYLEN];
	Snapshot	snap;
	int			i;

	claim_chunk_keys(ev, n, cxt);

	/* Subjects, days and prices; the rows and their counter sums. */
	snap = ua_begin_read(true);
	if (by_interval)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		price_instants(snap, &book);
		MemoryContextSwitchTo(old);
	}
	for (i = 0; i < n; i++)
	{
		FunctionCallInfo fc = ev[i].fc;
		SubjectEntry *se;
		PriceEntry *pe;
		UaRecordCost cost;
		UaCounterDelta d;
		CostArg		ca;
		bool		in_org;
		bool		found;
		int64		when = (int64) ev[i].a.occurred_at;
		Datum		usage_date;

		row_of[i] = -1;
		if (ev[i].skip || ev[i].first >= 0)
			continue;
		in_org = orgs && !fc->args[A_ORG_ID].isnull;
		if (by_interval && !in_org)
		{
			UserInstants *ui;

			make_key(key, arg_cstring(fc, A_USER_ID), "", "", 0);
			ui = hash_search(users, key, HASH_ENTER, &found);
			if (!found)
			{
				MemoryContext old = MemoryContextSwitchTo(cxt);

				user_instants(fc->args[A_USER_ID].value, snap, &ui->in);
				MemoryContextSwitchTo(old);
			}
			when = interval_of(&ui->in, ev[i].a.occurred_at);
		}
		make_key(key, in_org ? "o" : "u", arg_cstring(fc, in_org ? A_ORG_ID : A_USER_ID), "", when);
		se = hash_search(subjects, key, HASH_ENTER, &found);
		if (!found)
		{
			se->in_org = in_org;
			if (in_org)
			{
				ua_org_lookup(fc->args[A_ORG_ID].value, snap, &se->org);
				ua_org_subject_at(fc->args[A_ORG_ID].value, &se->org, ev[i].a.occurred_at, snap,
								  &se->subject);
			}
			else
				ua_subject_at(fc->args[A_USER_ID].value, ev[i].a.occurred_at, snap, &se->subject);
			se->usage_date = DateADTGetDatum(ua_local_date(se->subject.time_zone, ev[i].a.occurred_at));
			se->at = ev[i].a.occurred_at;
		}
		/* One subject for many times (by_interval): the day of this one. */
		usage_date = se->at == ev[i].a.occurred_at ? se->usage_date :
			DateADTGetDatum(ua_local_date(se->subject.time_zone, ev[i].a.occurred_at));

		make_key(key, arg_cstring(fc, A_MODEL), fc->args[A_PROVIDER].isnull ? "\x01" :
				 arg_cstring(fc, A_PROVIDER), "",
				 by_interval ? interval_of(&book, ev[i].a.occurred_at) : (int64) ev[i].a.occurred_at);
		pe = hash_search(prices, key, HASH_ENTER, &found);
		if (!found)
		{
			UaPrice		p[2];

			memset(p, 0, sizeof(p));
			pe->found = ua_price_request(fc->args[A_MODEL].value,
										 fc->args[A_PROVIDER].isnull ? (Datum) 0 : fc->args[A_PROVIDER].value,
										 ev[i].a.occurred_at, 0, 0, 0, 0, snap, p);
			pe->price = p[0];
		}
		ca.ev = &ev[i];
		ca.price = &pe->price;
		ca.found = pe->found;
		ca.cost = &cost;
		with_element(ev[i].index, cost_element, &ca);

		ua_record_row(fc, &ev[i].a, &cost, usage_date, Int64GetDatum(ev[i].id), &rows[nrows]);
		row_of[i] = nrows++;

		ua_record_delta(&ev[i].a, &cost, &d);
		/* The user's day; with org_id also the organization's pooled and member rows. */
		counter_add(bs, bs->ucount, (Datum) 0, fc->args[A_USER_ID].value, usage_date, &d);
		if (in_org)
		{
			counter_add(bs, bs->ocount, fc->args[A_ORG_ID].value, fc->args[A_USER_ID].value,
						usage_date, &d);
			counter_add(bs, bs->ocount, fc->args[A_ORG_ID].value, CStringGetTextDatum(""),
						usage_date, &d);
		}

		/* Only an organization's plan notifies (not an unknown org_id's). */
		if (ua_notify_enabled && (!in_org || se->org.found))
		{
			NotifyEntry *ne;

			make_key(key, in_org ? "o" : "u", arg_cstring(fc, in_org ? A_ORG_ID : A_USER_ID), "", 0);
			ne = hash_search(bs->notify, key, HASH_ENTER, &found);
			if (!found)
			{
				ne->in_org = in_org;
				ne->id = copy_text(bs->cxt, fc->args[in_org ? A_ORG_ID : A_USER_ID].value);
				ne->user_id = copy_text(bs->cxt, fc->args[A_USER_ID].value);
				memset(&ne->org, 0, sizeof(UaOrg));
				if (in_org)
				{
					ne->org = se->org;
					ne->org.time_zone = copy_text(bs->cxt, se->org.time_zone);
				}
				ne->latest = DatumGetDateADT(usage_date);
				ne->have_now = false;
			}
			else
				ne->latest = Max(ne->latest, DatumGetDateADT(usage_date));
			/* An event of now (the usual case): its subject is the one now. */
			if (!ne->have_now && ev[i].a.occurred_at == GetCurrentTransactionStartTimestamp())
			{
				ne->have_now = true;
				ne->subject.plan_id = copy_text(bs->cxt, se->subject.plan_id);
				ne->subject.time_zone = copy_text(bs->cxt, se->subject.time_zone);
			}
		}
	}
	ua_end_read(true);

	/* The events, as COPY inserts them. */
	ids = palloc(Max(nrows, 1) * sizeof(int64));
	ua_event_insert_batch(rows, nrows, ids);
	for (i = 0; i < n; i++)
		if (row_of[i] >= 0)
			ev[i].id = ids[row_of[i]];
	for (i = 0; i < n; i++)
		if (ev[i].first >= 0)
			ev[i].id = ev[ev[i].first].id;
}

/*
 * Write the sums of bs and evaluate the thresholds of its subjects; then
 * empty bs.  SPI connected.
 */
void
sums_flush(BatchSums *bs, MemoryContext cxt)
{
	HTAB	   *notify = bs->notify;
	char		key[KEYLEN];
	Snapshot	snap;
	HASH_SEQ_STATUS seq;

	/* Counter rows: one statement per table (per 10,000 rows). */
	counters_apply(bs->ucount, false);
	counters_apply(bs->ocount, true);

	/*
	 * Thresholds: once per subject, in key order, with the chunk counted.
	 * A user's plan part is read once per (plan, time zone), the counter
	 * tables are opened once, and a user whose used amounts are below every
	 * threshold of the plan is done after the counter scan.
	 */
	if (hash_get_num_entries(notify) > 0)
	{
		long		nn = hash_get_num_entries(notify);
		NotifyEntry **order = palloc(nn * sizeof(NotifyEntry *));
		NotifyEntry *ne;
		TimestampTz now = GetCurrentTransactionStartTimestamp();
		Datum		zero = DirectFunctionCall1(int8_numeric, Int64GetDatum(0));
		HTAB	   *plans = new_hash("usage_analytics batch plans", sizeof(PlanEntry), cxt);
		UaUsageScans scans;
		bool		scans_open = false;
		long		j = 0;

		hash_seq_init(&seq, notify);
		while ((ne = hash_seq_search(&seq)) != NULL)
			order[j++] = ne;
		qsort(order, nn, sizeof(NotifyEntry *), notify_cmp);
		for (j = 0; j < nn; j++)
		{
			UaSnapshot	usage;
			UaQuota		quota;

			UaSubject	subject;
			DateADT		today;
			int			y,
						m,
						d;

			ne = order[j];
			snap = ua_begin_read(true);
			if (ne->have_now)
				subject = ne->subject;
			else if (ne->in_org)
				ua_org_subject_at(ne->id, &ne->org, now, snap, &subject);
			else
				ua_subject_at(ne->id, now, snap, &subject);

			/*
			 * Usage counted before the current local month (a history load)
			 * is in no period a threshold watches: nothing to evaluate.
			 */
			today = ua_local_date(subject.time_zone, now);
			j2date(today + POSTGRES_EPOCH_JDATE, &y, &m, &d);
			if (ne->latest < date2j(y, m, 1) - POSTGRES_EPOCH_JDATE)
			{
				ua_end_read(true);
				continue;
			}
			if (ne->in_org)
				ua_org_usage_snapshot(ne->id, ne->user_id, now, &subject, NULL, snap, &usage);
			else
			{
				PlanEntry  *pe;
				bool		found;

				make_key(key, TextDatumGetCString(subject.plan_id), TextDatumGetCString(subject.time_zone),
						 "", 0);
				pe = hash_search(plans, key, HASH_ENTER, &found);
				if (!found)
				{
					memset(&pe->plan, 0, sizeof(UaSnapshot));
					pe->month_end = ua_snapshot_plan(&subject, now, snap, &pe->plan);
					plan_levels(pe);
				}
				if (!scans_open)
				{
					ua_usage_scans_open(&scans);
					scans_open = true;
				}
				usage = pe->plan;
				ua_usage_snapshot_used(&scans, ne->id, pe->month_end, snap, &usage);
				if (below_thresholds(pe, &usage))
				{
					ua_end_read(true);
					continue;
				}
			}
			ua_quota_from_snapshot(&usage, 0, zero, NULL, CurrentMemoryContext, &quota);
			ua_end_read(true);
			if (ne->in_org)
				ua_notify_org_thresholds(ne->id, &quota);
			else
				ua_notify_thresholds(ne->id, &quota);
		}
		if (scans_open)
			ua_usage_scans_close(&scans);
	}
}

Datum
ua_record_chat_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *jb;
	int			n;
	int			from;
	bool		keep;
	bool		orgs;
	Tuplestorestate *store;
	TupleDesc	desc;
	MemoryContext per_query;
	MemoryContext old;
	MemoryContext chunk_cxt;
	BatchSums	bs;
	BatchEvent *ev = NULL;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));

	jb = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	if (jb == NULL || !JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("events must be a JSON array of objects")));
	n = JB_ROOT_COUNT(jb);
	if (n > ua_max_batch_events)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a batch holds at most %d events, this one has %d", ua_max_batch_events, n),
				 errhint("Split it into several calls, or raise usage_analytics.max_batch_events.")));

	per_query = rsinfo->econtext->ecxt_per_query_memory;
	old = MemoryContextSwitchTo(per_query);
	store = tuplestore_begin_heap(true, false, work_mem);
	desc = CreateTemplateTupleDesc(1);
	TupleDescInitEntry(desc, (AttrNumber) 1, "record_chat_events", INT8OID, -1, 0);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = desc;
	MemoryContextSwitchTo(old);

	batch_flinfo = make_flinfo();

	/* 1. Every element checked before anything is written. */
	chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "usage_analytics batch",
									  ALLOCSET_DEFAULT_SIZES);
	keep = n <= CHUNK;
	for (from = 0; from < n; from += CHUNK)
	{
		int			to = Min(n, from + CHUNK);

		old = MemoryContextSwitchTo(chunk_cxt);
		ev = palloc((to - from) * sizeof(BatchEvent));
		parse_range(jb, from, to, ev);
		MemoryContextSwitchTo(old);
		if (!keep)
			MemoryContextReset(chunk_cxt);
	}

	/*
	 * 2. Chunk by chunk, in order.  An SPI connection per chunk: what the
	 * chunk allocates after a statement (SPI returns to its procedure
	 * context) and its result tables go at SPI_finish.
	 */
	orgs = ua_orgs_enabled();
	bs.cxt = AllocSetContextCreate(CurrentMemoryContext, "usage_analytics batch sums",
								   ALLOCSET_DEFAULT_SIZES);
	sums_init(&bs);
	for (from = 0; from < n; from += CHUNK)
	{
		int			to = Min(n, from + CHUNK);
		int			i;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(chunk_cxt);
		if (!keep)
		{
			ev = palloc((to - from) * sizeof(BatchEvent));
			parse_range(jb, from, to, ev);
		}
		SPI_connect();
		record_chunk(ev, to - from, orgs, chunk_cxt, &bs, false);
		sums_flush(&bs, chunk_cxt);
		SPI_finish();
		MemoryContextSwitchTo(old);
		for (i = 0; i < to - from; i++)
		{
			Datum		v = Int64GetDatum(ev[i].id);
			bool		isnull = false;

			tuplestore_putvalues(store, desc, &v, &isnull);
		}
		MemoryContextReset(chunk_cxt);
		sums_reset(&bs);
	}
	MemoryContextDelete(chunk_cxt);
	MemoryContextDelete(bs.cxt);
	return (Datum) 0;
}
