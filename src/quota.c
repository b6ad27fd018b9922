/*-------------------------------------------------------------------------
 *
 * quota.c
 *	  analytics.check_quota(user_id, tokens): may this user make a request
 *	  of this many tokens now?  Read-only; answers from the user's plan and
 *	  at most 31 day counters (analytics.usage_snapshot), never from events.
 *
 *	  Authorization runs as the caller: an end user may ask about the
 *	  identity it acts for (analytics.current_user_id()); app backends,
 *	  admins and superusers about anyone.  The counters are then read with
 *	  the function owner's rights.
 *
 *	  Limits, in reporting order: daily_requests, monthly_requests,
 *	  monthly_tokens, monthly_cost, max_tokens_per_request.  A limit is
 *	  exceeded when used has reached it or used + this request passes it
 *	  (max_tokens_per_request: when tokens pass it).  The answer reports the
 *	  first exceeded limit, else the limit with the highest usage percent.
 *	  Status: limit_reached (exceeded), warning (>= 90 %), approaching
 *	  (>= the plan's lowest warn threshold), normal.  Soft plans allow
 *	  everything and still report the status.
 *
 *	  All arithmetic is numeric: exact at every boundary.
 *
 *-------------------------------------------------------------------------
 */
#include "usage_analytics.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/numeric.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(ua_check_quota);

/* Run as the owner (role_kinds reads role_bindings); inlined and prepared. */
static UaPlan may_read_all = {
	.sql = "SELECT EXISTS (SELECT 1 FROM analytics.role_kinds($1) k "
	"WHERE k.kind = ANY ('{admin,app_backend}') AND k.org_id IS NULL)",
	.nargs = 1, .argtypes = {NAMEOID}
};

static UaPlan snapshot = {
	.sql = "SELECT * FROM analytics.usage_snapshot($1, pg_catalog.now())",
	.nargs = 1, .argtypes = {TEXTOID}
};

/* Columns of analytics.usage_snapshot, 1-based. */
enum
{
	S_PLAN_ID = 1, S_PLAN_FOUND, S_MONTH_START, S_DAY_RESETS, S_MONTH_RESETS,
	S_DAY_REQUESTS, S_MONTH_REQUESTS, S_MONTH_TOKENS, S_MONTH_COST,
	S_DAILY_REQ_LIMIT, S_MONTHLY_REQ_LIMIT, S_MONTHLY_TOKEN_LIMIT,
	S_MONTHLY_COST_LIMIT, S_MAX_TOKENS, S_ENFORCEMENT, S_THRESHOLDS
};

typedef struct QuotaLimit
{
	const char *name;
	int			limit_col;		/* snapshot column of the limit */
	int			used_col;		/* snapshot column of the used amount, 0: tokens */
	int			resets_col;		/* snapshot column of the reset time, 0: none */
	int			need;			/* 1: one request; 2: the tokens; 0: nothing */
	bool		per_request;
} QuotaLimit;

static const QuotaLimit limits[] = {
	{"daily_requests", S_DAILY_REQ_LIMIT, S_DAY_REQUESTS, S_DAY_RESETS, 1, false},
	{"monthly_requests", S_MONTHLY_REQ_LIMIT, S_MONTH_REQUESTS, S_MONTH_RESETS, 1, false},
	{"monthly_tokens", S_MONTHLY_TOKEN_LIMIT, S_MONTH_TOKENS, S_MONTH_RESETS, 2, false},
	{"monthly_cost", S_MONTHLY_COST_LIMIT, S_MONTH_COST, S_MONTH_RESETS, 0, false},
	{"max_tokens_per_request", S_MAX_TOKENS, 0, 0, 0, true},
};

static Datum
num(int64 v)
{
	return DirectFunctionCall1(int8_numeric, Int64GetDatum(v));
}

/* A snapshot column as numeric, copied out of SPI memory; NULL -> isnull. */
static Datum
col_numeric(HeapTuple row, TupleDesc desc, int col, bool *isnull, MemoryContext cxt)
{
	Datum		d = SPI_getbinval(row, desc, col, isnull);
	MemoryContext old;

	if (*isnull)
		return (Datum) 0;
	old = MemoryContextSwitchTo(cxt);
	if (SPI_gettypeid(desc, col) == INT8OID)
		d = num(DatumGetInt64(d));
	else
		d = datumCopy(d, false, -1);
	MemoryContextSwitchTo(old);
	return d;
}

static int
cmp(Datum a, Datum b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

/*
 * The end user may ask about itself; others need an all-rows role.  Called
 * as the owner, with the caller's role.
 */
static void
authorize(text *user_id, Oid caller)
{
	char	   *me = ua_identity();
	char	   *whom = text_to_cstring(user_id);
	Datum		role;
	bool		isnull;

	if ((me != NULL && strcmp(me, whom) == 0) || superuser_arg(caller))
		return;
	role = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(caller, false)));
	ua_run(&may_read_all, &role, NULL, true, 1);
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to check the quota of another user"),
				 errdetail("This session acts for %s.", me ? "a different user" : "no user"),
				 errhint("End users may check only their own quota; set usage_analytics.user_id.")));
}

Datum
ua_check_quota(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	TupleDesc	result_desc;
	UaSavedUser saved;
	HeapTuple	row;
	TupleDesc	desc;
	Datum		out[10];
	bool		out_null[10];
	int64		tokens;
	bool		isnull;
	bool		hard;
	Datum		hundred = num(100);
	Datum		lowest_threshold = (Datum) 0;
	int			chosen = -1;
	bool		chosen_exceeded = false;
	Datum		chosen_used = 0,
				chosen_limit = 0,
				chosen_pct = 0;
	bool		any_hard_exceeded = false;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("user_id must not be null")));
	tokens = ua_check_count(fcinfo, 1, "tokens", UA_MAX_TOKENS * 4LL, 0);

	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "check_quota: return type must be a row type");
	result_desc = BlessTupleDesc(result_desc);

	SPI_connect();
	ua_become_function_owner(fcinfo, &saved);
	authorize(PG_GETARG_TEXT_PP(0), saved.userid);
	{
		Datum		arg = PG_GETARG_DATUM(0);

		ua_run(&snapshot, &arg, NULL, true, 1);
	}
	ua_restore_user(&saved);

	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	if (!DatumGetBool(SPI_getbinval(row, desc, S_PLAN_FOUND, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("plan \"%s\" does not exist", SPI_getvalue(row, desc, S_PLAN_ID)),
				 errhint("Set usage_analytics.default_plan to a plan of analytics.plans.")));
	hard = strcmp(SPI_getvalue(row, desc, S_ENFORCEMENT), "hard") == 0;

	/* The lowest warning threshold, as a percentage. */
	{
		Datum		arr = SPI_getbinval(row, desc, S_THRESHOLDS, &isnull);
		Datum	   *elems;
		int			nelems;
		MemoryContext old = MemoryContextSwitchTo(cxt);

		deconstruct_array(DatumGetArrayTypeP(arr), NUMERICOID, -1, false, TYPALIGN_INT,
						  &elems, NULL, &nelems);
		for (i = 0; i < nelems; i++)
		{
			Datum		pct = DirectFunctionCall2(numeric_mul, elems[i], hundred);

			if (i == 0 || cmp(pct, lowest_threshold) < 0)
				lowest_threshold = pct;
		}
		MemoryContextSwitchTo(old);
	}

	for (i = 0; i < (int) lengthof(limits); i++)
	{
		const QuotaLimit *l = &limits[i];
		Datum		limit = col_numeric(row, desc, l->limit_col, &isnull, cxt);
		Datum		used;
		Datum		need;
		Datum		pct;
		bool		exceeded;
		MemoryContext old;

		if (isnull)
			continue;
		used = l->used_col ? col_numeric(row, desc, l->used_col, &isnull, cxt) : num(tokens);
		old = MemoryContextSwitchTo(cxt);
		need = num(l->need == 1 ? 1 : l->need == 2 ? tokens : 0);
		if (l->per_request)
			exceeded = cmp(used, limit) > 0;
		else
			exceeded = cmp(used, limit) >= 0 ||
				cmp(DirectFunctionCall2(numeric_add, used, need), limit) > 0;
		if (cmp(limit, num(0)) == 0)
			pct = hundred;
		else
			pct = DirectFunctionCall2(numeric_round,
									  DirectFunctionCall2(numeric_div,
														  DirectFunctionCall2(numeric_mul, used, hundred),
														  limit),
									  Int32GetDatum(2));
		MemoryContextSwitchTo(old);

		if (exceeded && hard)
			any_hard_exceeded = true;
		/* Report the first exceeded limit, else the fullest periodic one. */
		if (chosen_exceeded)
			continue;
		if (exceeded || (!l->per_request && (chosen < 0 || cmp(pct, chosen_pct) > 0)))
		{
			chosen = i;
			chosen_exceeded = exceeded;
			chosen_used = used;
			chosen_limit = limit;
			chosen_pct = pct;
		}
	}

	memset(out_null, false, sizeof(out_null));
	out[0] = BoolGetDatum(!any_hard_exceeded);
	if (chosen < 0)
	{
		out[1] = CStringGetTextDatum("normal");
		for (i = 2; i <= 7; i++)
			out_null[i] = true;
	}
	else
	{
		const QuotaLimit *l = &limits[chosen];
		const char *status;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		Datum		remaining = DirectFunctionCall2(numeric_sub, chosen_limit, chosen_used);

		if (chosen_exceeded || cmp(chosen_pct, hundred) >= 0)
			status = "limit_reached";
		else if (cmp(chosen_pct, num(90)) >= 0)
			status = "warning";
		else if (cmp(chosen_pct, lowest_threshold) >= 0)
			status = "approaching";
		else
			status = "normal";
		if (cmp(remaining, num(0)) < 0)
			remaining = num(0);
		out[1] = CStringGetTextDatum(status);
		out[2] = CStringGetTextDatum(l->name);
		out[3] = chosen_used;
		out[4] = chosen_limit;
		out[5] = remaining;
		out[6] = chosen_pct;
		MemoryContextSwitchTo(old);
		if (l->resets_col)
			out[7] = SPI_getbinval(row, desc, l->resets_col, &out_null[7]);
		else
			out_null[7] = true;
	}
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		out[8] = CStringGetTextDatum(SPI_getvalue(row, desc, S_PLAN_ID));
		out[9] = SPI_getbinval(row, desc, S_MONTH_START, &isnull);
		MemoryContextSwitchTo(old);
	}

	/* timestamptz and date are by value: safe after SPI_finish. */
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_desc, out, out_null)));
}
