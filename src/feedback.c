/*-------------------------------------------------------------------------
 *
 * feedback.c
 *	  analytics.record_feedback(event_id, rating, feedback_text): an end user
 *	  rates one of its own events (1-5); app backends and admins may rate
 *	  any event.  The arguments and the caller's rights are checked here, as
 *	  the caller; the rating is then written by analytics.apply_feedback()
 *	  with the function owner's rights (the log is append-only for everyone
 *	  else), which also moves the rollups when the event is already folded.
 *
 *	  Another user's event and a missing event get the same error, so the
 *	  error reveals nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "authz.h"
#include "identity.h"
#include "spi_plans.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(ua_record_feedback);

#define UA_MAX_FEEDBACK_BYTES 4096

static UaPlan apply = {
	.sql = "SELECT analytics.apply_feedback($1, $2, $3, $4, $5)",
	.nargs = 5, .argtypes = {INT8OID, INT4OID, TEXTOID, TEXTOID, BOOLOID}
};

Datum
ua_record_feedback(PG_FUNCTION_ARGS)
{
	char	   *identity = ua_identity();
	bool		all_rows;
	Datum		values[5];
	char		nulls[6] = "     ";
	UaSavedUser saved;
	int32		rating;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("event_id must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("rating must not be null")));
	rating = PG_GETARG_INT32(1);
	if (rating < 1 || rating > 5)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rating must be between 1 and 5"),
				 errdetail("The value given was %d.", rating)));
	ua_check_text(fcinfo, 2, "feedback_text", UA_MAX_FEEDBACK_BYTES, false);

	SPI_connect();
	ua_become_function_owner(fcinfo, &saved);
	all_rows = ua_role_sees_all(saved.userid);
	ua_restore_user(&saved);
	if (identity == NULL && !all_rows)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("no end user to record feedback for"),
				 errhint("Set usage_analytics.user_id.")));

	values[0] = PG_GETARG_DATUM(0);
	values[1] = Int32GetDatum(rating);
	values[2] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	nulls[2] = PG_ARGISNULL(2) ? 'n' : ' ';
	values[3] = identity ? CStringGetTextDatum(identity) : (Datum) 0;
	nulls[3] = identity ? ' ' : 'n';
	values[4] = BoolGetDatum(all_rows);

	ua_become_function_owner(fcinfo, &saved);
	ua_run(&apply, values, nulls, false, 1);
	ua_restore_user(&saved);

	SPI_finish();
	PG_RETURN_VOID();
}
