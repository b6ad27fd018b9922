/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  Knowing whether the extension runs distributed (issue 16).  After
 *	  analytics.distribute() the extension's tables on every node are
 *	  Citus shells: the direct heap insert and the index scans of the
 *	  write path would read and write the empty (or stale) shell, so on a
 *	  distributed install they go through SPI statements instead, which
 *	  Citus routes to the shard (locally when the call was delegated to the
 *	  worker that holds it).
 *
 *	  The answer is cached per backend: a single node pays one test of a
 *	  static flag per call, and looks at the catalogs again only after a
 *	  relcache invalidation of chat_events or of everything.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "citus.h"

static bool known = false;
static bool distributed = false;
static Oid	events_relid = InvalidOid;

static void
forget(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == events_relid)
		known = false;
}

void
ua_citus_init(void)
{
	CacheRegisterRelcacheCallback(forget, (Datum) 0);
}

bool
ua_citus(void)
{
	Oid			nsp;
	bool		isnull;

	if (known)
		return distributed;
	distributed = false;
	nsp = get_namespace_oid("analytics", true);
	events_relid = OidIsValid(nsp) ? get_relname_relid("chat_events", nsp) : InvalidOid;
	if (OidIsValid(events_relid) && OidIsValid(get_extension_oid("citus", true)))
	{
		Datum		arg = ObjectIdGetDatum(events_relid);
		Oid			argtype = OIDOID;

		SPI_connect();
		if (SPI_execute_with_args("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition "
								  "WHERE logicalrelid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass)",
								  1, &argtype, &arg, NULL, true, 1) == SPI_OK_SELECT &&
			SPI_processed == 1)
			distributed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 1, &isnull));
		SPI_finish();
	}
	known = true;
	return distributed;
}

bool
ua_citus_user_is_local(Datum user_id)
{
	Oid			argtype = TEXTOID;
	bool		isnull;
	bool		local = false;

	if (!ua_citus())
		return true;
	SPI_connect();
	if (SPI_execute_with_args("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement p "
							  "WHERE p.shardid OPERATOR(pg_catalog.=) "
							  "  pg_catalog.get_shard_id_for_distribution_column('analytics.chat_events', $1) "
							  "  AND p.groupid OPERATOR(pg_catalog.=) "
							  "  (SELECT groupid FROM pg_catalog.pg_dist_local_group))",
							  1, &argtype, &user_id, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		local = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return local;
}
