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
#include "validate.h"

#include "access/detoast.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

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

	if (PG_ARGISNULL(argno))
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

	if (PG_ARGISNULL(argno))
		return if_null;
	v = PG_GETARG_INT64(argno);
	if (v < 0 || v > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and " INT64_FORMAT, name, max),
				 errdetail("The value given was " INT64_FORMAT ".", v)));
	return v;
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
