/*-------------------------------------------------------------------------
 *
 * rules.h
 *	  The admission rules of a model (rules.c): the plan's model
 *	  allow-list, models and providers switched off, provider rate limits.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_RULES_H
#define UA_RULES_H

#include "quota.h"

/* UaRateScope.limits[] and .windows: per UTC minute, per UTC day. */
enum
{
	UA_WINDOW_MINUTE, UA_WINDOW_DAY, UA_NWINDOWS
};

/* A provider ('*') or model row of provider_limits with a rate limit. */
typedef struct UaRateScope
{
	Datum		model;			/* text: '*' for the whole provider */
	bool		is_model;
	bool		has_limit[UA_NWINDOWS];
	int64		limit[UA_NWINDOWS];
	int64		lock_key;		/* the scope's admission lock */
} UaRateScope;

/* A request's model as admission sees it. */
typedef struct UaModelRules
{
	bool		enabled;		/* the 1.1 SQL (provider_limits) is installed */
	Datum		sent;			/* text: the model as sent */
	Datum		model;			/* text: the price-book model that prices it, else as sent */
	Datum		provider;		/* text: given or from the price book; 0 if unknown */
	bool		provider_active;
	bool		model_active;
	int			nscopes;		/* in ascending lock_key order */
	UaRateScope scopes[2];
} UaModelRules;

/*
 * Resolve model (from provider, if not 0) at `at` as the price book prices
 * it, and read its provider_limits rows.  A name priced under two
 * providers without provider is an error (22023).
 */
extern void ua_rules_resolve(Datum model, Datum provider, TimestampTz at, Snapshot snap,
							 UaModelRules *r);

/*
 * The provider and model switches (always refuse) and the plan's model
 * allow-list (refuses on a hard plan, reported on a soft one): sets q->rule
 * and q->allowed when one applies.
 */
extern void ua_rules_gates(const UaModelRules *r, UaQuota *q, MemoryContext cxt);

/*
 * The rate limits of the scopes for one more request at `at`, counted
 * with snap: sets q->rule and refuses if one is reached.  The caller holds
 * the scopes' admission locks (start_request) or only asks (check_quota).
 */
extern void ua_rules_rates(const UaModelRules *r, TimestampTz at, Snapshot snap, UaQuota *q,
						   MemoryContext cxt);

/* Count one admitted request in every limited window (this backend's slot).  SPI connected. */
extern void ua_rules_count(const UaModelRules *r, TimestampTz at);

#endif							/* UA_RULES_H */
