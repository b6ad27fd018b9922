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
#include "scan.h"

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
	Datum		rates[4];		/* numeric per million: input, cached, write, output */
} UaPrice;

/*
 * The limits of a plan, in the order the quota reports them, then (a
 * request in an organization) the member's monthly caps from org_members.
 */
enum
{
	UA_LIMIT_DAILY_REQUESTS, UA_LIMIT_MONTHLY_REQUESTS, UA_LIMIT_MONTHLY_TOKENS,
	UA_LIMIT_MONTHLY_COST, UA_LIMIT_MAX_TOKENS,
	UA_NPLAN_LIMITS,
	UA_LIMIT_MEMBER_REQUESTS = UA_NPLAN_LIMITS, UA_LIMIT_MEMBER_TOKENS, UA_LIMIT_MEMBER_COST,
	UA_NLIMITS
};

/* A user's (or organization's) plan, local periods and used amounts (analytics.usage_snapshot). */
typedef struct UaSnapshot
{
	bool		is_org;			/* the organization's plan, pooled; member caps */
	int64		member_month_requests;	/* is_org: the member's share */
	int64		member_month_tokens;
	Datum		member_month_cost;	/* numeric */
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
 * The same price for other token counts: the costs of in, from its rates,
 * into out (the batch looks a price up once and applies it per event).
 */
extern void ua_price_apply(const UaPrice *in, int64 input, int64 cached, int64 write,
						   int64 output, UaPrice *out);

/*
 * subject: the user's subject at `at` if the caller has read it already,
 * else NULL.
 */
extern void ua_usage_snapshot(Datum user_id, TimestampTz at, const UaSubject *subject,
							  Snapshot snap, UaSnapshot *s);

/*
 * The two halves of ua_usage_snapshot, for a caller that evaluates many
 * users (the batch): ua_snapshot_plan fills the part that depends on the
 * subject only -- plan, limits, thresholds, the local day and month of
 * `at` -- into out (zeroed by the caller) and returns the day after the
 * month; ua_usage_snapshot_used adds the user's used amounts over those
 * periods, with the counter tables opened once (ua_usage_scans_open) or,
 * scans NULL, for this call.
 */
typedef struct UaUsageScans
{
	UaScan		counters;
	UaScan		org_rows;
	bool		orgs;
} UaUsageScans;

extern DateADT ua_snapshot_plan(const UaSubject *subject, TimestampTz at, Snapshot snap,
								UaSnapshot *out);
extern void ua_usage_scans_open(UaUsageScans *scans);
extern void ua_usage_scans_close(UaUsageScans *scans);
extern void ua_usage_snapshot_used(UaUsageScans *scans, Datum user_id, DateADT month_end,
								   Snapshot snap, UaSnapshot *out);

/* An organization as the write path and admission see it. */
typedef struct UaOrg
{
	bool		found;			/* a row of analytics.organizations */
	bool		active;			/* status 'active' */
	Datum		time_zone;		/* text; UTC when not found */
} UaOrg;

/* A member of an organization: role and monthly caps. */
typedef struct UaMember
{
	bool		found;
	Datum		role;			/* text */
	bool		cap_null[3];	/* requests, tokens, cost */
	Datum		caps[3];		/* int8, int8, numeric */
} UaMember;

/* Is the organization side installed (the 1.1 SQL: org_usage_counters)? */
extern bool ua_orgs_enabled(void);

extern void ua_org_lookup(Datum org_id, Snapshot snap, UaOrg *org);
extern void ua_member_lookup(Datum org_id, Datum user_id, Snapshot snap, UaMember *m);

/* The organization's plan at `at` (its subscription, else the default) in its time zone. */
extern void ua_org_subject_at(Datum org_id, const UaOrg *org, TimestampTz at, Snapshot snap,
							  UaSubject *s);

/*
 * The organization's snapshot: its plan's limits over the pooled counters
 * of its local month, and (member not NULL) the member's caps over the
 * member's share.
 */
extern void ua_org_usage_snapshot(Datum org_id, Datum user_id, TimestampTz at,
								  const UaSubject *subject, const UaMember *member,
								  Snapshot snap, UaSnapshot *s);

#endif							/* UA_SUBJECT_H */
