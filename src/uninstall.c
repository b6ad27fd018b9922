/*-------------------------------------------------------------------------
 *
 * uninstall.c
 *	  Event trigger function analytics.on_drop_extension(): DROP EXTENSION
 *	  usage_analytics leaves nothing behind.
 *
 *	  What the extension made outside its own objects does not go with
 *	  them: the pg_cron jobs of schedule_jobs() and the SET ON PARAMETER
 *	  grants of the grant helpers (which would keep DROP ROLE failing).
 *	  At ddl_command_start of a DROP EXTENSION naming usage_analytics, while
 *	  the extension's functions still exist, this runs
 *	  analytics.uninstall_cleanup() in the dropping transaction: if the
 *	  drop fails or rolls back, so does the cleanup.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "nodes/parsenodes.h"
#include "spi_plans.h"

PG_FUNCTION_INFO_V1(ua_on_drop_extension);

static UaPlan cleanup = {
	.sql = "SELECT analytics.uninstall_cleanup()",
	.nargs = 0
};

/* Does this DROP EXTENSION statement name usage_analytics? */
static bool
drops_us(Node *parsetree)
{
	DropStmt   *stmt;
	ListCell   *lc;

	if (parsetree == NULL || !IsA(parsetree, DropStmt))
		return false;
	stmt = (DropStmt *) parsetree;
	if (stmt->removeType != OBJECT_EXTENSION)
		return false;
	foreach(lc, stmt->objects)
	{
		Node	   *name = lfirst(lc);

		if (IsA(name, String) && strcmp(strVal(name), "usage_analytics") == 0)
			return true;
	}
	return false;
}

Datum
ua_on_drop_extension(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "on_drop_extension: not called by event trigger manager");
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!drops_us(trigdata->parsetree))
		PG_RETURN_VOID();

	SPI_connect();
	ua_run(&cleanup, NULL, NULL, false, 1);
	SPI_finish();
	PG_RETURN_VOID();
}
