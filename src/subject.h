/*-------------------------------------------------------------------------
 *
 * subject.h
 *	  What the write path, the quota and admission know of a user and a
 *	  model at a time: plan and time zone, price, used amounts (subject.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_SUBJECT_H
#define UA_SUBJECT_H

#include "datatype/timestamp.h"
#include "utils/date.h"
#include "utils/snapshot.h"

/* The plan and time zone in force for a user (analytics.subject_at). */
typedef struct UaSubject
{
	Datum		plan_id;		/* text */
	Datum		time_zone;		/* text */
} UaSubject;

/* The cost of a request at the price of one provider (analytics.price_request). */
typedef struct UaPrice
{
	Datum		provider;		/* text */
	Datum		model;			/* text: the price-book model that priced it */
	bool		renamed;		/* model is not the name as sent */
	Datum		cost_input;		/* numeric, like the rest */
	Datum		cost_cached_input;
	Datum		cost_cache_write;
	Datum		cost_output;
	Datum		cache_savings;
} UaPrice;

/* The limits of a plan, in the order the quota reports them. */
enum
{
	UA_LIMIT_DAILY_REQUESTS, UA_LIMIT_MONTHLY_REQUESTS, UA_LIMIT_MONTHLY_TOKENS,
	UA_LIMIT_MONTHLY_COST, UA_LIMIT_MAX_TOKENS, UA_NLIMITS
};

/* A user's plan, local periods and used amounts (analytics.usage_snapshot). */
typedef struct UaSnapshot
{
	Datum		plan_id;		/* text */
	bool		plan_found;
	DateADT		today;
	DateADT		month_start;
	TimestampTz day_resets_at;
	TimestampTz month_resets_at;
	int64		day_requests;	/* reservations included */
	int64		month_requests;
	int64		month_tokens;
	Datum		month_cost;		/* numeric */
	Datum		limits[UA_NLIMITS]; /* int8, monthly cost numeric */
	bool		limit_null[UA_NLIMITS];
	Datum		enforcement;	/* text; NULL without a plan */
	Datum		warn_thresholds;	/* numeric[]; NULL without a plan */
	Datum		features;		/* jsonb, detoasted; 0 without a plan */
} UaSnapshot;

extern void ua_subject_at(Datum user_id, TimestampTz at, Snapshot snap, UaSubject *s);

/* The user's local day at a time. */
extern DateADT ua_local_date(Datum time_zone, TimestampTz at);

/*
 * The price of model (from provider, if not 0) at a time: fills up to two
 * providers' prices, in provider order, and returns how many it found.
 * A name the price book does not have is priced through an alias or as
 * its normalised name (subject.c, ua_price_request).
 */
extern int	ua_price_request(Datum model, Datum provider, TimestampTz at, int64 input,
							 int64 cached, int64 write, int64 output, Snapshot snap,
							 UaPrice *out);

/*
 * subject: the user's subject at `at` if the caller has read it already,
 * else NULL.
 */
extern void ua_usage_snapshot(Datum user_id, TimestampTz at, const UaSubject *subject,
							  Snapshot snap, UaSnapshot *s);

#endif							/* UA_SUBJECT_H */
