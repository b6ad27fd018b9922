/*-------------------------------------------------------------------------
 *
 * append_only.c
 *	  Trigger function analytics.guard_append_only(): the raw log is
 *	  append-only.  UPDATE and DELETE (row triggers, cloned to every
 *	  partition) and TRUNCATE (statement trigger on the parent) are refused,
 *	  for every role, so counters can never drift from the log behind the
 *	  extension's back.  Whole partitions leave only through retention.
 *
 *	  The guard serves both logs: its trigger argument, when given, names
 *	  the log in the error (analytics.api_requests); without one it is
 *	  analytics.chat_events.
 *
 *	  The one exception: UPDATEs made by the extension's own functions,
 *	  which set usage_analytics.internal_write (superuser-only) in their
 *	  definition and keep counters and rollups in step themselves.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "guc.h"

PG_FUNCTION_INFO_V1(ua_guard_append_only);

Datum
ua_guard_append_only(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *what;
	const char *logname = "analytics.chat_events";

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "guard_append_only: not called by trigger manager");
	if (trigdata->tg_trigger->tgnargs > 0)
		logname = trigdata->tg_trigger->tgargs[0];

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		if (ua_internal_write)
			return PointerGetDatum(trigdata->tg_newtuple);
		what = "UPDATE";
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		what = "DELETE";
	else if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		what = "TRUNCATE";
	else
		elog(ERROR, "guard_append_only: unexpected trigger event");

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s of %s is not allowed", what, logname),
			 errdetail("The raw log is append-only; counters and rollups are kept equal to it."),
			 errhint("Old months leave by dropping whole partitions.")));
	PG_RETURN_NULL();			/* not reached */
}
