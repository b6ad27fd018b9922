/*-------------------------------------------------------------------------
 *
 * usage_analytics.h
 *	  Declarations shared by the subsystems of usage_analytics: settings,
 *	  identity, validation limits, SPI plan cache, privilege switching.
 *
 *-------------------------------------------------------------------------
 */
#ifndef USAGE_ANALYTICS_H
#define USAGE_ANALYTICS_H

#include "postgres.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "datatype/timestamp.h"

/* Validation limits: one place, mirrored by the CHECK constraints. */
#define UA_MAX_TOKENS			100000000	/* per ledger bucket and request */
#define UA_MAX_DURATION_MS		86400000	/* one day */
#define UA_MAX_INTERMEDIATE		100000
#define UA_MAX_ID_BYTES			256		/* user, org, conversation ... ids */
#define UA_MAX_NAME_BYTES		128		/* model, provider, category ... */
#define UA_MAX_MESSAGE_BYTES	8192	/* error_message */
#define UA_MAX_SECTIONS			1000	/* sections_referenced elements */
#define UA_MAX_COST				1000000	/* USD per request */
#define UA_FUTURE_SKEW_SECS		300		/* occurred_at may be this far ahead */

/* guc.c */
extern char *ua_user_id_setting;
extern bool ua_trust_jwt_claims;
extern char *ua_jwt_claim;
extern char *ua_default_plan;
extern int	ua_max_metadata_bytes;
extern bool ua_internal_write;
extern bool ua_notify_enabled;
extern int	ua_reservation_ttl;
extern int	ua_retention_months;
extern int	ua_payload_retention_days;
extern int	ua_max_batch_events;
extern void ua_define_gucs(void);

/* record.c */
extern bool ua_claim_request_key(Datum user_id, Datum request_id, TimestampTz at,
								 Datum *event_id);
extern bool ua_find_request_key(Datum user_id, Datum request_id, Datum *event_id);

/* identity.c */
extern char *ua_identity(void);

/* spi_plans.c */
typedef struct UaPlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[40];
	SPIPlanPtr	plan;
} UaPlan;

extern SPIPlanPtr ua_plan(UaPlan *p);
extern void ua_run(UaPlan *p, Datum *values, const char *nulls, bool read_only,
				   int expected);
extern void ua_run_internal_write(UaPlan *p, Datum *values, const char *nulls, int expected);

typedef struct UaSavedUser
{
	Oid			userid;
	int			sec_context;
} UaSavedUser;

extern void ua_become_function_owner(FunctionCallInfo fcinfo, UaSavedUser *saved);
extern void ua_restore_user(const UaSavedUser *saved);

#endif							/* USAGE_ANALYTICS_H */
