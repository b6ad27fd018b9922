/*-------------------------------------------------------------------------
 *
 * access.c
 *	  Row visibility of the calling role, for the RLS policies:
 *	  analytics.sees_all_rows() and analytics.admin_org_ids().
 *
 *	  Both answer for the caller only (GetUserId(): the role that runs the
 *	  query, also inside views), so no role learns another role's access.
 *	  They read analytics.role_bindings, which no caller may read, as the
 *	  function owner through SPI (role_kinds, the one definition of
 *	  access), and switch back before returning.
 *
 *-------------------------------------------------------------------------
 */
#include "usage_analytics.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "quota.h"

PG_FUNCTION_INFO_V1(ua_sees_all_rows);
PG_FUNCTION_INFO_V1(ua_admin_org_ids);

static UaPlan admin_orgs = {
	.sql = "SELECT COALESCE(pg_catalog.array_agg(DISTINCT k.org_id), '{}') "
	"FROM analytics.role_kinds($1) k "
	"WHERE k.kind = 'admin' AND k.org_id IS NOT NULL",
	.nargs = 1, .argtypes = {NAMEOID}
};

Datum
ua_sees_all_rows(PG_FUNCTION_ARGS)
{
	Oid			caller = GetUserId();
	UaSavedUser saved;
	bool		result;

	SPI_connect();
	ua_become_function_owner(fcinfo, &saved);
	result = ua_role_sees_all(caller);
	ua_restore_user(&saved);
	SPI_finish();
	PG_RETURN_BOOL(result);
}

Datum
ua_admin_org_ids(PG_FUNCTION_ARGS)
{
	Oid			caller = GetUserId();
	UaSavedUser saved;
	Datum		name;
	Datum		result;
	bool		isnull;

	name = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(caller, false)));
	SPI_connect();
	ua_become_function_owner(fcinfo, &saved);
	ua_run(&admin_orgs, &name, NULL, true, 1);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	result = SPI_datumTransfer(result, false, -1);
	ua_restore_user(&saved);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
