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

#endif							/* UA_COMPAT_H */
