/*-------------------------------------------------------------------------
 *
 * quota.c
 *	  analytics.check_quota(user_id, tokens [, model, provider]): may this
 *	  user make a request of this many tokens (of this model) now?  With a
 *	  model, also the model's admission rules (rules.c).  Read-only; answers from the user's plan and
 *	  one month of day counters (ua_usage_snapshot, subject.c), never from
 *	  events.  Reservations of requests in flight count as used.
 *
 *	  ua_quota_evaluate() is shared with start_request (admission.c) and the
 *	  threshold notifications (notify.c).
 *
 *	  Authorization runs as the caller's role (passed in, authz.c): an end
 *	  user may ask about the identity it acts for
 *	  (analytics.current_user_id()); app backends, admins and superusers
 *	  about anyone.  The counters are read with the function owner's rights.
 *
 *	  Limits, in reporting order: daily_requests, monthly_requests,
 *	  monthly_tokens, monthly_cost, max_tokens_per_request.  A limit is
 *	  exceeded when used has reached it or used + this request passes it
 *	  (max_tokens_per_request: when tokens pass it).  The answer reports the
 *	  first exceeded limit, else the limit with the highest usage percent.
 *	  Status: limit_reached (exceeded), warning (>= 90 %), approaching
 *	  (>= the plan's lowest warn threshold), normal.  Soft plans allow
 *	  everything and still report the status.
 *
 *	  All arithmetic is numeric: exact at every boundary.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "authz.h"
#include "quota.h"
#include "rules.h"
#include "scan.h"
#include "spi_plans.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(ua_check_quota);

typedef enum
{
	NEED_REQUEST, NEED_TOKENS, NEED_COST
} Need;

typedef enum
{
	PERIOD_NONE, PERIOD_DAY, PERIOD_MONTH
} Period;

/* The limits, in the order of UaSnapshot.limits. */
static const struct
{
	const char *name;
	Period		period;
	Need		need;			/* what one request adds to the used amount */
}			limit_defs[UA_NLIMITS] = {
	{"daily_requests", PERIOD_DAY, NEED_REQUEST},
	{"monthly_requests", PERIOD_MONTH, NEED_REQUEST},
	{"monthly_tokens", PERIOD_MONTH, NEED_TOKENS},
	{"monthly_cost", PERIOD_MONTH, NEED_COST},
	{"max_tokens_per_request", PERIOD_NONE, NEED_TOKENS},
	{"member_monthly_requests", PERIOD_MONTH, NEED_REQUEST},
	{"member_monthly_tokens", PERIOD_MONTH, NEED_TOKENS},
	{"member_monthly_cost", PERIOD_MONTH, NEED_COST},
};

/* The names of an organization's pooled limits (its plan's). */
static const char *const org_limit_names[UA_NPLAN_LIMITS] = {
	"org_daily_requests", "org_monthly_requests", "org_monthly_tokens", "org_monthly_cost",
	"max_tokens_per_request"
};

static Datum
num(int64 v)
{
	return DirectFunctionCall1(int8_numeric, Int64GetDatum(v));
}

static int
cmp(Datum a, Datum b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

void
ua_quota_evaluate(Datum user_id, int64 tokens, Datum cost, bool fresh, MemoryContext cxt,
				  UaQuota *q)
{
	UaSnapshot	s;

	ua_usage_snapshot(user_id, GetCurrentTransactionStartTimestamp(), NULL, ua_begin_read(fresh), &s);
	ua_end_read(fresh);
	ua_quota_from_snapshot(&s, tokens, cost, NULL, cxt, q);
}

void
ua_org_quota_evaluate(Datum org_id, Datum user_id, const UaOrg *org, const UaMember *member,
					  int64 tokens, Datum cost, bool fresh, MemoryContext cxt, UaQuota *q)
{
	UaSnapshot	s;
	UaSubject	subject;
	TimestampTz at = GetCurrentTransactionStartTimestamp();
	Snapshot	snap = ua_begin_read(fresh);

	ua_org_subject_at(org_id, org, at, snap, &subject);
	ua_org_usage_snapshot(org_id, user_id, at, &subject, member, snap, &s);
	ua_end_read(fresh);
	ua_quota_from_snapshot(&s, tokens, cost, NULL, cxt, q);
}

void
ua_org_admit_check(Datum org_id, Datum user_id, Snapshot snap, UaOrg *org, UaMember *member)
{
	ua_org_lookup(org_id, snap, org);
	if (!org->found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("organization \"%s\" does not exist", TextDatumGetCString(org_id)),
				 errhint("Create it with analytics.create_organization, or leave org_id out.")));
	ua_member_lookup(org_id, user_id, snap, member);
	if (!member->found)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("user \"%s\" is not a member of organization \"%s\"",
						TextDatumGetCString(user_id), TextDatumGetCString(org_id)),
				 errhint("Add the user with analytics.add_member, or leave org_id out.")));
	if (!org->active)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("organization \"%s\" is suspended", TextDatumGetCString(org_id)),
				 errhint("Reactivate it with analytics.reactivate_organization.")));
}

/* Is date d in the same month as date m? */
static bool
same_month(DateADT d, DateADT m)
{
	int			y1,
				m1,
				d1,
				y2,
				m2,
				d2;

	j2date(d + POSTGRES_EPOCH_JDATE, &y1, &m1, &d1);
	j2date(m + POSTGRES_EPOCH_JDATE, &y2, &m2, &d2);
	return y1 == y2 && m1 == m2;
}

void
ua_quota_from_snapshot(const UaSnapshot *s, int64 tokens, Datum cost,
					   const UaUsageAdd *add, MemoryContext cxt, UaQuota *q)
{
	MemoryContext old;
	Datum		hundred;
	Datum		lowest = (Datum) 0;
	bool		in_day = false;
	bool		in_month = false;
	int			i;

	if (!s->plan_found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("plan \"%s\" does not exist", TextDatumGetCString(s->plan_id)),
				 errhint("Set usage_analytics.default_plan to a plan of analytics.plans.")));

	old = MemoryContextSwitchTo(cxt);
	memset(q, 0, sizeof(UaQuota));
	hundred = num(100);
	q->hard = strcmp(TextDatumGetCString(s->enforcement), "hard") == 0;
	q->plan_id = datumCopy(s->plan_id, false, -1);
	q->is_org = s->is_org;
	q->month_start = DateADTGetDatum(s->month_start);
	q->today = DateADTGetDatum(s->today);
	q->features = s->features == (Datum) 0 ? (Datum) 0 : datumCopy(s->features, false, -1);
	q->chosen = -1;
	if (add)
	{
		DateADT		d = DatumGetDateADT(add->usage_date);

		in_day = d == s->today;
		in_month = same_month(d, s->month_start);
	}

	deconstruct_array(DatumGetArrayTypePCopy(s->warn_thresholds),
					  NUMERICOID, -1, false, TYPALIGN_INT, &q->thresholds, NULL, &q->nthresholds);
	for (i = 0; i < q->nthresholds; i++)
	{
		Datum		pct = DirectFunctionCall2(numeric_mul, q->thresholds[i], hundred);

		if (i == 0 || cmp(pct, lowest) < 0)
			lowest = pct;
	}

	for (i = 0; i < UA_NLIMITS; i++)
	{
		UaLimitState *l = &q->limits[i];
		Need		need_kind = limit_defs[i].need;
		Period		period = limit_defs[i].period;
		Datum		need;

		l->name = s->is_org && i < UA_NPLAN_LIMITS ? org_limit_names[i] : limit_defs[i].name;
		l->periodic = period != PERIOD_NONE;
		if (s->limit_null[i])
			continue;
		l->present = true;
		l->limit = i == UA_LIMIT_MONTHLY_COST || i == UA_LIMIT_MEMBER_COST ?
			datumCopy(s->limits[i], false, -1) : num(DatumGetInt64(s->limits[i]));
		switch (i)
		{
			case UA_LIMIT_DAILY_REQUESTS:
				l->used = num(s->day_requests);
				break;
			case UA_LIMIT_MONTHLY_REQUESTS:
				l->used = num(s->month_requests);
				break;
			case UA_LIMIT_MONTHLY_TOKENS:
				l->used = num(s->month_tokens);
				break;
			case UA_LIMIT_MONTHLY_COST:
				l->used = datumCopy(s->month_cost, false, -1);
				break;
			case UA_LIMIT_MEMBER_REQUESTS:
				l->used = num(s->member_month_requests);
				break;
			case UA_LIMIT_MEMBER_TOKENS:
				l->used = num(s->member_month_tokens);
				break;
			case UA_LIMIT_MEMBER_COST:
				l->used = datumCopy(s->member_month_cost, false, -1);
				break;
			default:
				l->used = num(tokens);
				break;
		}
		/* A change this transaction made after the snapshot was read. */
		if (add && (period == PERIOD_DAY ? in_day : period == PERIOD_MONTH && in_month))
			l->used = DirectFunctionCall2(numeric_add, l->used,
										  need_kind == NEED_REQUEST ? num(add->requests) :
										  need_kind == NEED_TOKENS ? num(add->tokens) : add->cost);
		need = need_kind == NEED_REQUEST ? num(1) : need_kind == NEED_TOKENS ? num(tokens) : cost;
		if (!l->periodic)
			l->exceeded = cmp(l->used, l->limit) > 0;
		else
			l->exceeded = cmp(l->used, l->limit) >= 0 ||
				cmp(DirectFunctionCall2(numeric_add, l->used, need), l->limit) > 0;
		if (cmp(l->limit, num(0)) == 0)
			l->percent = hundred;
		else
			l->percent = DirectFunctionCall2(numeric_round,
											 DirectFunctionCall2(numeric_div,
																 DirectFunctionCall2(numeric_mul, l->used, hundred),
																 l->limit),
											 Int32GetDatum(2));
		if (period == PERIOD_DAY)
		{
			l->resets_at = TimestampTzGetDatum(s->day_resets_at);
			l->period_start = DateADTGetDatum(s->today);
		}
		else if (period == PERIOD_MONTH)
		{
			l->resets_at = TimestampTzGetDatum(s->month_resets_at);
			l->period_start = DateADTGetDatum(s->month_start);
		}

		/* Report the first exceeded limit, else the fullest periodic one. */
		if (q->chosen >= 0 && q->limits[q->chosen].exceeded)
			continue;
		if (l->exceeded || (l->periodic && (q->chosen < 0 ||
											cmp(l->percent, q->limits[q->chosen].percent) > 0)))
			q->chosen = i;
	}

	q->allowed = true;
	for (i = 0; i < UA_NLIMITS; i++)
		if (q->limits[i].present && q->limits[i].exceeded && (q->hard || i >= UA_NPLAN_LIMITS))
			q->allowed = false;		/* a member's cap refuses on any plan */

	if (q->chosen < 0)
		q->status = "normal";
	else
	{
		UaLimitState *c = &q->limits[q->chosen];

		if (c->exceeded || cmp(c->percent, hundred) >= 0)
			q->status = "limit_reached";
		else if (cmp(c->percent, num(90)) >= 0)
			q->status = "warning";
		else if (cmp(c->percent, lowest) >= 0)
			q->status = "approaching";
		else
			q->status = "normal";
	}
	MemoryContextSwitchTo(old);
}

Datum
ua_check_quota(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	TupleDesc	result_desc;
	UaSavedUser saved;
	UaQuota		q;
	Datum		out[10];
	bool		out_null[10];
	int64		tokens;
	bool		with_model;
	bool		with_org;
	UaLimitState *c;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("user_id must not be null")));
	tokens = ua_check_count(fcinfo, 1, "tokens", UA_MAX_TOKENS * 4LL, 0);
	with_model = PG_NARGS() >= 4 && !PG_ARGISNULL(2);
	if (PG_NARGS() >= 4)
	{
		ua_check_text(fcinfo, 2, "model", UA_MAX_NAME_BYTES, false);
		ua_check_text(fcinfo, 3, "provider", UA_MAX_NAME_BYTES, false);
	}
	with_org = PG_NARGS() >= 5 && !PG_ARGISNULL(4);
	if (with_org)
		ua_check_text(fcinfo, 4, "org_id", UA_MAX_ID_BYTES, false);

	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "check_quota: return type must be a row type");
	result_desc = BlessTupleDesc(result_desc);

	SPI_connect();
	ua_become_function_owner(fcinfo, &saved);
	ua_quota_authorize(PG_GETARG_TEXT_PP(0), saved.userid);
	if (with_org && ua_orgs_enabled())
	{
		UaOrg		org;
		UaMember	member;

		ua_org_admit_check(PG_GETARG_DATUM(4), PG_GETARG_DATUM(0), GetActiveSnapshot(), &org, &member);
		ua_org_quota_evaluate(PG_GETARG_DATUM(4), PG_GETARG_DATUM(0), &org, &member, tokens, num(0),
							  false, cxt, &q);
	}
	else
		ua_quota_evaluate(PG_GETARG_DATUM(0), tokens, num(0), false, cxt, &q);
	if (with_model)
	{
		UaModelRules r;
		TimestampTz now = GetCurrentTransactionStartTimestamp();

		ua_rules_resolve(PG_GETARG_DATUM(2), PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3),
						 now, GetActiveSnapshot(), &r);
		ua_rules_gates(&r, &q, cxt);
		if (q.allowed)
			ua_rules_rates(&r, now, GetActiveSnapshot(), &q, cxt);
	}
	ua_restore_user(&saved);
	SPI_finish();

	memset(out_null, false, sizeof(out_null));
	out[0] = BoolGetDatum(q.allowed);
	out[1] = CStringGetTextDatum(q.status);
	c = ua_quota_reported(&q);
	if (c == NULL || c->limit == (Datum) 0)
	{
		for (i = 2; i <= 7; i++)
			out_null[i] = true;
		if (c != NULL)
		{
			out[2] = CStringGetTextDatum(c->name);
			out_null[2] = false;
		}
	}
	else
	{
		Datum		remaining = DirectFunctionCall2(numeric_sub, c->limit, c->used);

		if (cmp(remaining, num(0)) < 0)
			remaining = num(0);
		out[2] = CStringGetTextDatum(c->name);
		out[3] = c->used;
		out[4] = c->limit;
		out[5] = remaining;
		out[6] = c->percent;
		out[7] = c->resets_at;
		out_null[7] = !c->periodic;
	}
	out[8] = q.plan_id;
	out[9] = q.month_start;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_desc, out, out_null)));
}
