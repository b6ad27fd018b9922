/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every PG_VERSION_NUM conditional of usage_analytics lives here.
 *
 *	  Tested (make test: pg_regress, isolation and Perl TAP suites): PostgreSQL
 *	  15 (Debian 12's packages), 17 (Debian 13 "trixie") and 18 (Debian
 *	  "forky"), see tools/run-tests.sh and tools/provision-pg.sh.  Built, not
 *	  tested: 16 (no Debian package; compiled against its headers with
 *	  -Wall -Wextra -Werror).  Not built or tested: 14 (the conditionals
 *	  below still name it).  The views need 15 (security_invoker).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_COMPAT_H
#define UA_COMPAT_H

#include "utils/guc.h"

#if PG_VERSION_NUM < 140000
#error "usage_analytics requires PostgreSQL 14 or later"
#endif

/* MarkGUCPrefixReserved() appeared in 15; before it, warn on placeholders. */
#if PG_VERSION_NUM >= 150000
#define UA_RESERVE_GUC_PREFIX(prefix) MarkGUCPrefixReserved(prefix)
#else
#define UA_RESERVE_GUC_PREFIX(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/*
 * A number no other running backend has: the counter slot of this backend.
 * MyBackendId became MyProcNumber in 17.
 */
#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
#define UA_BACKEND_SLOT ((int16) MyProcNumber)
#else
#include "storage/backendid.h"
#define UA_BACKEND_SLOT ((int16) MyBackendId)
#endif

/*
 * The executor calls of the direct event insert (event_insert.c), as COPY FROM
 * makes them in each version.
 *
 * 16: permissions moved from the range table entry to RTEPermissionInfo
 * (found through rte->perminfoindex: ExecConstraints needs it to describe a
 * failing row), index insertion gained a summarizing flag and the
 * root-to-partition map an accessor.  17: CheckValidResultRel takes the MERGE
 * actions.  18: ExecInitRangeTable takes the unpruned relations (our one
 * RTE), CheckValidResultRel the ON CONFLICT action, ri_ConstraintExprs became
 * ri_CheckConstraintExprs, CHECK constraints may be NOT ENFORCED and
 * generated columns may be virtual.
 */
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"

/* The permission infos of a range table of one RTE, for an INSERT of cols. */
static inline List *
ua_insert_perminfos(RangeTblEntry *rte, Bitmapset *inserted_cols)
{
	List	   *perminfos = NIL;
	RTEPermissionInfo *perminfo = addRTEPermissionInfo(&perminfos, rte);

	perminfo->requiredPerms = ACL_INSERT;
	perminfo->insertedCols = inserted_cols;
	return perminfos;
}
#define UA_INSERT_INDEX_TUPLES(rri, slot, estate) \
	ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL, false)
#define UA_ROOT_TO_CHILD_MAP(rri, estate) ExecGetRootToChildMap(rri, estate)
#else
#define ua_insert_perminfos(rte, inserted_cols) ((void) (inserted_cols), NIL)
#define UA_INSERT_INDEX_TUPLES(rri, slot, estate) \
	ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL)
#define UA_ROOT_TO_CHILD_MAP(rri, estate) ((rri)->ri_RootToPartitionMap)
#endif

#if PG_VERSION_NUM >= 180000
#define UA_INIT_RANGE_TABLE(estate, rtable, perminfos) \
	ExecInitRangeTable(estate, rtable, perminfos, bms_make_singleton(1))
#elif PG_VERSION_NUM >= 160000
#define UA_INIT_RANGE_TABLE(estate, rtable, perminfos) ExecInitRangeTable(estate, rtable, perminfos)
#else
#define UA_INIT_RANGE_TABLE(estate, rtable, perminfos) ExecInitRangeTable(estate, rtable)
#endif

#if PG_VERSION_NUM >= 180000
#define UA_CHECK_VALID_INSERT(rri) CheckValidResultRel(rri, CMD_INSERT, ONCONFLICT_NONE, NIL)
#elif PG_VERSION_NUM >= 170000
#define UA_CHECK_VALID_INSERT(rri) CheckValidResultRel(rri, CMD_INSERT, NIL)
#else
#define UA_CHECK_VALID_INSERT(rri) CheckValidResultRel(rri, CMD_INSERT)
#endif

#if PG_VERSION_NUM >= 180000
#define UA_CHECK_EXPRS(rri) ((rri)->ri_CheckConstraintExprs)
/* Is CHECK constraint i of constr enforced? */
#define UA_CHECK_ENFORCED(constr, i) ((constr)->check[i].ccenforced)
/* Has the table generated columns, stored or virtual? */
#define UA_HAS_GENERATED(constr) \
	((constr) != NULL && ((constr)->has_generated_stored || (constr)->has_generated_virtual))
#else
#define UA_CHECK_EXPRS(rri) ((rri)->ri_ConstraintExprs)
#define UA_CHECK_ENFORCED(constr, i) ((void) (constr), (void) (i), true)
#define UA_HAS_GENERATED(constr) ((constr) != NULL && (constr)->has_generated_stored)
#endif

/*
 * The fold's direct insert (fold_direct.c): 18 added an index scan's
 * instrumentation (none here) and lets the primary key lookup take a
 * deferrable one (not here: the insert needs an immediate unique check).
 */
#if PG_VERSION_NUM >= 180000
#define UA_INDEX_BEGINSCAN(heap, index, snapshot, nkeys) \
	index_beginscan(heap, index, snapshot, NULL, nkeys, 0)
#define UA_PRIMARY_KEY_INDEX(rel) RelationGetPrimaryKeyIndex(rel, false)
#else
#define UA_INDEX_BEGINSCAN(heap, index, snapshot, nkeys) \
	index_beginscan(heap, index, snapshot, nkeys, 0)
#define UA_PRIMARY_KEY_INDEX(rel) RelationGetPrimaryKeyIndex(rel)
#endif

#endif							/* UA_COMPAT_H */
