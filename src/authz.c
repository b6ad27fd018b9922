/*-------------------------------------------------------------------------
 *
 * authz.c
 *	  Authorization: who may act for which user, and the row visibility of
 *	  the calling role for the RLS policies.
 *
 *	    ua_role_sees_all    a role reads every user's rows: superuser, app
 *	                        backend or admin (of no single organization);
 *	    ua_quota_authorize  the caller may read this user's quota: it acts
 *	                        for that user (analytics.current_user_id()), or
 *	                        sees all rows; 42501 otherwise;
 *	    analytics.sees_all_rows() and analytics.admin_org_ids(), for the
 *	                        RLS policies.
 *
 *	  The SQL functions answer for the caller only (GetUserId(): the role
 *	  that runs the query, also inside views), so no role learns another
 *	  role's access.  Everything here reads analytics.role_bindings, which
 *	  no caller may read, as the function owner through SPI (role_kinds,
 *	  the one definition of access); the SQL functions switch back before
 *	  returning.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "authz.h"
#include "identity.h"
#include "spi_plans.h"

PG_FUNCTION_INFO_V1(ua_sees_all_rows);
PG_FUNCTION_INFO_V1(ua_admin_org_ids);

/* Run as the owner (role_kinds reads role_bindings); inlined and prepared. */
static UaPlan may_read_all = {
	.sql = "SELECT EXISTS (SELECT 1 FROM analytics.role_kinds($1) k "
	"WHERE k.kind = ANY ('{admin,app_backend}') AND k.org_id IS NULL)",
	.nargs = 1, .argtypes = {NAMEOID}
};

static UaPlan admin_orgs = {
	.sql = "SELECT COALESCE(pg_catalog.array_agg(DISTINCT k.org_id), '{}') "
	"FROM analytics.role_kinds($1) k "
	"WHERE k.kind = 'admin' AND k.org_id IS NOT NULL",
	.nargs = 1, .argtypes = {NAMEOID}
};

/* Does the role read every user's rows (superuser, app backend, admin)? */
bool
ua_role_sees_all(Oid role)
{
	Datum		name;
	bool		isnull;

	if (superuser_arg(role))
		return true;
	name = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(role, false)));
	ua_run(&may_read_all, &name, NULL, true, 1);
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

void
ua_quota_authorize(text *user_id, Oid caller)
{
	char	   *me = ua_identity();
	char	   *whom = text_to_cstring(user_id);

	if (me != NULL && strcmp(me, whom) == 0)
		return;
	if (!ua_role_sees_all(caller))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to check the quota of another user"),
				 errdetail("This session acts for %s.", me ? "a different user" : "no user"),
				 errhint("End users may check only their own quota; set usage_analytics.user_id.")));
}

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
