/*-------------------------------------------------------------------------
 *
 * spi_plans.c
 *	  SPI helpers: statements prepared once per backend and kept, and the
 *	  switch to the function owner's privileges.
 *
 *	  Every statement text is fully qualified and is prepared and run inside
 *	  a function whose search_path is pinned to pg_catalog, pg_temp.  Kept
 *	  plans live in the plan cache, which re-plans them after DDL.
 *
 *	  ua_become_function_owner() is for functions that must check the
 *	  caller's rights first (as the caller) and then read tables the caller
 *	  cannot (as the owner).  The previous user is restored by
 *	  ua_restore_user(), or by transaction abort on error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "miscadmin.h"
#include "utils/syscache.h"
#include "guc.h"
#include "spi_plans.h"

SPIPlanPtr
ua_plan(UaPlan *p)
{
	if (p->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(p->sql, p->nargs, p->argtypes);

		if (plan == NULL)
			elog(ERROR, "usage_analytics: SPI_prepare failed: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "usage_analytics: SPI_keepplan failed");
		p->plan = plan;
	}
	return p->plan;
}

/*
 * Run a prepared statement.  expected >= 0 asserts the number of rows it
 * returned or touched; -1 accepts any.
 */
void
ua_run(UaPlan *p, Datum *values, const char *nulls, bool read_only, int expected)
{
	int			rc = SPI_execute_plan(ua_plan(p), values, nulls, read_only, 0);

	if (rc < 0)
		elog(ERROR, "usage_analytics: SPI_execute_plan failed: %s",
			 SPI_result_code_string(rc));
	if (expected >= 0 && SPI_processed != (uint64) expected)
		elog(ERROR, "usage_analytics: statement returned " UINT64_FORMAT " rows, expected %d",
			 SPI_processed, expected);
}

/*
 * Run a statement that updates the append-only log: the guard trigger lets
 * it through while usage_analytics.internal_write is on (append_only.c).
 */
void
ua_run_internal_write(UaPlan *p, Datum *values, const char *nulls, int expected)
{
	bool		save = ua_internal_write;

	ua_internal_write = true;
	PG_TRY();
	{
		ua_run(p, values, nulls, false, expected);
	}
	PG_FINALLY();
	{
		ua_internal_write = save;
	}
	PG_END_TRY();
}

void
ua_become_function_owner(FunctionCallInfo fcinfo, UaSavedUser *saved)
{
	Oid		   *owner = (Oid *) fcinfo->flinfo->fn_extra;

	if (owner == NULL)
	{
		HeapTuple	tup = SearchSysCache1(PROCOID,
										  ObjectIdGetDatum(fcinfo->flinfo->fn_oid));

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
		owner = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid));
		*owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
		ReleaseSysCache(tup);
		fcinfo->flinfo->fn_extra = owner;
	}
	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(*owner, saved->sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

void
ua_restore_user(const UaSavedUser *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}
