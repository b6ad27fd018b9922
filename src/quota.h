/*-------------------------------------------------------------------------
 *
 * quota.h
 *	  The quota evaluation shared by check_quota, start_request and the
 *	  threshold notifications (quota.c, notify.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_QUOTA_H
#define UA_QUOTA_H

#include "subject.h"

/* One limit of the user's plan, evaluated for a request. */
typedef struct UaLimitState
{
	const char *name;
	bool		present;		/* the plan has this limit */
	bool		periodic;		/* false: max_tokens_per_request */
	bool		exceeded;
	Datum		used;			/* numeric */
	Datum		limit;			/* numeric */
	Datum		percent;		/* numeric, 2 decimals */
	Datum		period_start;	/* date */
	Datum		resets_at;		/* timestamptz */
} UaLimitState;

typedef struct UaQuota
{
	bool		allowed;
	bool		hard;
	bool		is_org;			/* an organization's plan (and member caps) */
	const char *status;
	int			chosen;			/* index into limits, -1: none */
	UaLimitState limits[UA_NLIMITS];
	Datum		plan_id;		/* text */
	Datum		month_start;	/* date */
	Datum		today;			/* date: the user's local day */
	int			nthresholds;
	Datum	   *thresholds;		/* numeric fractions of the limit */
	Datum		features;		/* jsonb: the plan's features; 0 without a plan */
	bool		ruled;			/* a rule of the model decides (rules.c) */
	UaLimitState rule;			/* that rule; limit 0: no figures */
} UaQuota;

/* The limit an answer reports: a rule of the model, else the chosen limit, else NULL. */
static inline UaLimitState *
ua_quota_reported(UaQuota *q)
{
	if (q->ruled)
		return &q->rule;
	return q->chosen >= 0 ? &q->limits[q->chosen] : NULL;
}

/*
 * Evaluate the user's quota for one more request of `tokens` tokens costing
 * `cost` (numeric).  The caller must have switched to the owner's rights.
 * fresh = true reads with a new snapshot, which sees this transaction's own
 * counter changes (ua_begin_read).  Results are allocated in cxt.
 */
extern void ua_quota_evaluate(Datum user_id, int64 tokens, Datum cost, bool fresh,
							  MemoryContext cxt, UaQuota *q);

/*
 * The same for a request of user_id in organization org_id: the
 * organization's plan over its pooled counters, and the member's caps.
 */
extern void ua_org_quota_evaluate(Datum org_id, Datum user_id, const UaOrg *org,
								  const UaMember *member, int64 tokens, Datum cost, bool fresh,
								  MemoryContext cxt, UaQuota *q);

/*
 * May user_id make requests in org_id?  Fills org and member, or fails:
 * 42704 no such organization, 42501 not a member, 55000 suspended.
 */
extern void ua_org_admit_check(Datum org_id, Datum user_id, Snapshot snap, UaOrg *org,
							   UaMember *member);

/* Usage this transaction added after the snapshot row was read. */
typedef struct UaUsageAdd
{
	Datum		usage_date;		/* the local day it was counted on */
	int64		requests;
	int64		tokens;
	Datum		cost;			/* numeric */
} UaUsageAdd;

/* The same from a snapshot already read, plus `add` when not NULL.  Allocations in cxt. */
extern void ua_quota_from_snapshot(const UaSnapshot *s, int64 tokens, Datum cost,
								   const UaUsageAdd *add, MemoryContext cxt, UaQuota *q);

#endif							/* UA_QUOTA_H */
