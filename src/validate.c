/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Argument checks shared by the SQL-callable functions.
 *
 *	  SQLSTATEs: 23502 a required argument is NULL; 22023 a value out of
 *	  range or empty; 22001 a string longer than its limit; 54000 metadata
 *	  too large.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "guc.h"
#include "validate.h"

/*
 * Check a text argument: NULL only when not required, not empty, at most
 * maxbytes long.  Returns true when the argument is NULL.
 */
bool
ua_check_text(FunctionCallInfo fcinfo, int argno, const char *name,
			  int maxbytes, bool required)
{
	text	   *t;
	int			len;

	if (UA_ARG_NULL(fcinfo, argno))
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("%s must not be null", name)));
		return true;
	}
	t = PG_GETARG_TEXT_PP(argno);
	len = VARSIZE_ANY_EXHDR(t);
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name),
				 errhint("Pass NULL when there is no %s.", name)));
	if (len > maxbytes)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is too long", name),
				 errdetail("It has %d bytes; the limit is %d.", len, maxbytes)));
	return false;
}

void
ua_check_text_args(FunctionCallInfo fcinfo, const UaTextArg *args, int nargs)
{
	int			i;

	for (i = 0; i < nargs; i++)
		ua_check_text(fcinfo, args[i].argno, args[i].name, args[i].maxbytes, args[i].required);
}

/* A count between 0 and max; NULL means if_null. */
int64
ua_check_count(FunctionCallInfo fcinfo, int argno, const char *name,
			   int64 max, int64 if_null)
{
	int64		v;

	if (UA_ARG_NULL(fcinfo, argno))
		return if_null;
	v = PG_GETARG_INT64(argno);
	if (v < 0 || v > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and " INT64_FORMAT, name, max),
				 errdetail("The value given was " INT64_FORMAT ".", v)));
	return v;
}

/*
 * A duration in milliseconds between 0 and max; NULL means if_null.  The
 * 1.0 SQL declares it bigint; 1.1 declares double precision, so that a
 * float from a driver (psycopg sends Python floats as float8, node-pg sends
 * untyped strings) is accepted: it is rounded to the nearest millisecond
 * (halves to even, as PostgreSQL's float8-to-bigint cast does).  A
 * negative value is refused before rounding.
 */
int64
ua_arg_duration(FunctionCallInfo fcinfo, int argno, const char *name,
				int64 max, int64 if_null)
{
	Oid			type;
	float8		f;

	if (PG_ARGISNULL(argno))
		return if_null;
	type = get_fn_expr_argtype(fcinfo->flinfo, argno);
	if (type == InvalidOid || type == INT8OID)
		return ua_check_count(fcinfo, argno, name, max, if_null);
	if (type != FLOAT8OID)
		elog(ERROR, "usage_analytics: %s declared as %s", name, format_type_be(type));

	f = PG_GETARG_FLOAT8(argno);
	if (isnan(f) || isinf(f))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", name)));
	f = f < 0 ? f : rint(f);
	if (f < 0 || f > (float8) max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and " INT64_FORMAT, name, max),
				 errdetail("The value given was %s.", float8out_internal(PG_GETARG_FLOAT8(argno)))));
	return (int64) f;
}

/*
 * A cost argument as numeric, or NULL (*isnull).  The 1.0 SQL declares it
 * numeric; 1.1 declares analytics.amount, a numeric by another name that
 * integers, double precision and untyped text convert to implicitly (see
 * the 1.0--1.1 script): either way the datum is a numeric.
 */
Datum
ua_arg_cost(FunctionCallInfo fcinfo, int argno, bool *isnull)
{
	*isnull = PG_ARGISNULL(argno);
	return *isnull ? (Datum) 0 : PG_GETARG_DATUM(argno);
}

/* A cost in USD: finite, not negative, at most UA_MAX_COST. */
void
ua_check_cost(Datum cost)
{
	Numeric		n = DatumGetNumeric(cost);
	Datum		zero = DirectFunctionCall1(int8_numeric, Int64GetDatum(0));
	Datum		max = DirectFunctionCall1(int8_numeric, Int64GetDatum(UA_MAX_COST));

	if (numeric_is_nan(n) || numeric_is_inf(n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cost must be a finite number"),
				 errdetail("NaN and Infinity are not amounts of money.")));
	if (DatumGetBool(DirectFunctionCall2(numeric_lt, cost, zero)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cost must not be negative")));
	if (DatumGetBool(DirectFunctionCall2(numeric_gt, cost, max)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cost must be at most %d USD", UA_MAX_COST)));
}

/* The token counts and cost of a request (validate.h). */
void
ua_check_ledger(FunctionCallInfo fcinfo, const int argno[UA_LEDGER_NARGS], UaLedgerArgs *ledger)
{
	ledger->input = ua_check_count(fcinfo, argno[0], "input_tokens", UA_MAX_TOKENS, 0);
	ledger->cached = ua_check_count(fcinfo, argno[1], "cached_input_tokens", UA_MAX_TOKENS, 0);
	ledger->write = ua_check_count(fcinfo, argno[2], "cache_write_tokens", UA_MAX_TOKENS, 0);
	ledger->output = ua_check_count(fcinfo, argno[3], "output_tokens", UA_MAX_TOKENS, 0);
	ledger->reasoning = ua_check_count(fcinfo, argno[4], "reasoning_tokens", UA_MAX_TOKENS, 0);
	if (ledger->reasoning > ledger->output)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reasoning_tokens must not exceed output_tokens"),
				 errdetail("Reasoning tokens are part of the output: " INT64_FORMAT " > " INT64_FORMAT ".",
						   ledger->reasoning, ledger->output)));
	ledger->cost = ua_arg_cost(fcinfo, argno[5], &ledger->cost_null);
	if (!ledger->cost_null)
		ua_check_cost(ledger->cost);
}

/*
 * analytics.check_ledger(input_tokens, cached_input_tokens,
 * cache_write_tokens, output_tokens, reasoning_tokens, cost): the same
 * check for SQL callers (corrections).  Returns nothing; raises 22023.
 */
PG_FUNCTION_INFO_V1(ua_check_ledger_sql);

Datum
ua_check_ledger_sql(PG_FUNCTION_ARGS)
{
	static const int argno[UA_LEDGER_NARGS] = {0, 1, 2, 3, 4, 5};
	UaLedgerArgs ledger;

	ua_check_ledger(fcinfo, argno, &ledger);
	PG_RETURN_VOID();
}

/* metadata: a JSON object of at most usage_analytics.max_metadata_bytes. */
void
ua_check_metadata(FunctionCallInfo fcinfo, int argno)
{
	Size		size;
	Jsonb	   *jb;

	if (PG_ARGISNULL(argno))
		return;
	size = toast_raw_datum_size(PG_GETARG_DATUM(argno)) - VARHDRSZ;
	if (size > (Size) ua_max_metadata_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("metadata is too large"),
				 errdetail("It takes %zu bytes; usage_analytics.max_metadata_bytes is %d.",
						   size, ua_max_metadata_bytes)));
	jb = PG_GETARG_JSONB_P(argno);
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metadata must be a JSON object")));
}
