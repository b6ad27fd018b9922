/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every PG_VERSION_NUM conditional of usage_analytics lives here.
 *
 *	  Supported: PostgreSQL 14 to 17 (15 is the tested target).
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
 * The executor calls of the direct event insert (event_insert.c): the range
 * table gained permission infos, index insertion a summarizing flag and the
 * root-to-partition map an accessor in 16.
 */
#if PG_VERSION_NUM >= 160000
#define UA_INIT_RANGE_TABLE(estate, rtable) ExecInitRangeTable(estate, rtable, NIL)
#define UA_INSERT_INDEX_TUPLES(rri, slot, estate) \
	ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL, false)
#define UA_ROOT_TO_CHILD_MAP(rri, estate) ExecGetRootToChildMap(rri, estate)
#else
#define UA_INIT_RANGE_TABLE(estate, rtable) ExecInitRangeTable(estate, rtable)
#define UA_INSERT_INDEX_TUPLES(rri, slot, estate) \
	ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL)
#define UA_ROOT_TO_CHILD_MAP(rri, estate) ((rri)->ri_RootToPartitionMap)
#endif

#endif							/* UA_COMPAT_H */
