/*-------------------------------------------------------------------------
 *
 * subject.c
 *	  A user's plan and time zone, a model's price and a user's used
 *	  amounts, read by index scans of the extension's own tables (scan.c):
 *	  no statement, so no executor start, per recorded event or quota check.
 *
 *	  These are the only implementation of analytics.price_request() and
 *	  usage_snapshot() (internal functions, SQL wrappers at the end of this
 *	  file).  analytics.subject_at() stays SQL: a public function, it reads
 *	  subscriptions with the caller's rights and row security; the same
 *	  definition is here for the owner's side (test/sql/subject.sql checks
 *	  that the two agree).
 *
 *	    subject_at     the subscription in force at a time (the latest
 *	                   started, not ended), else usage_analytics.default_plan
 *	                   in the time zone of the latest subscription started
 *	                   (ended: a trial, a plan that expired), else in UTC;
 *	    price_request  per provider, the price row in force at a time (the
 *	                   latest effective_from), at most two providers; a
 *	                   name the price book lacks is priced by the first of
 *	                   its alias (model_aliases), the name without a gateway
 *	                   prefix, then also without a date suffix, that has a
 *	                   price (see ua_price_request);
 *	    usage_snapshot the plan's limits and the day counters of the user's
 *	                   local month, reservations included.
 *
 *	  Arithmetic is numeric, by the same functions SQL operators call, so
 *	  the results are the SQL definitions' to the last digit.  Text keys
 *	  are compared in the collation of the index scanned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rls.h"
#include "utils/acl.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "guc.h"
#include "scan.h"
#include "subject.h"

PG_FUNCTION_INFO_V1(ua_price_request_srf);
PG_FUNCTION_INFO_V1(ua_usage_snapshot_srf);

void
ua_subject_at(Datum user_id, TimestampTz at, Snapshot snap, UaSubject *out)
{
	UaScan		s;
	bool		isnull;
	bool		fallback_zone = false;

	out->plan_id = CStringGetTextDatum(ua_default_plan ? ua_default_plan : "");
	out->time_zone = CStringGetTextDatum("UTC");

	ua_scan_open(&s, "subscriptions", "subscriptions_lookup_idx");
	ua_scan_key(&s, "user_id", BTEqualStrategyNumber, F_TEXTEQ, user_id);
	ua_scan_key(&s, "starts_at", BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE, TimestampTzGetDatum(at));
	ua_scan_begin(&s, snap);

	/*
	 * Latest start first: the first that has not ended at `at` is in force.
	 * Without one, the default plan keeps the time zone of the latest
	 * subscription started (an ended one: its days and months go on).
	 */
	while (ua_scan_next(&s))
	{
		Datum		ends_at = ua_scan_column(&s, "ends_at", &isnull);

		if (!isnull && DatumGetTimestampTz(ends_at) <= at)
		{
			if (!fallback_zone)
			{
				out->time_zone = ua_scan_column_copy(&s, "time_zone", &isnull);
				fallback_zone = true;
			}
			continue;
		}
		out->plan_id = ua_scan_column_copy(&s, "plan_id", &isnull);
		out->time_zone = ua_scan_column_copy(&s, "time_zone", &isnull);
		break;
	}
	ua_scan_close(&s);
}

DateADT
ua_local_date(Datum time_zone, TimestampTz at)
{
	return DatumGetDateADT(DirectFunctionCall1(timestamp_date,
											   DirectFunctionCall2(timestamptz_zone, time_zone,
																   TimestampTzGetDatum(at))));
}

static Datum
num(int64 v)
{
	return DirectFunctionCall1(int8_numeric, Int64GetDatum(v));
}

/* round(tokens * rate / 1000000, 10), as SQL computes it. */
static Datum
tokens_at_rate(int64 tokens, Datum rate)
{
	Datum		amount = DirectFunctionCall2(numeric_mul, num(tokens), rate);

	amount = DirectFunctionCall2(numeric_div, amount, num(1000000));
	return DirectFunctionCall2(numeric_round, amount, Int32GetDatum(10));
}

void
ua_price_apply(const UaPrice *in, int64 input, int64 cached, int64 write, int64 output,
			   UaPrice *out)
{
	Datum		saving;

	if (out != in)
		*out = *in;
	out->cost_input = tokens_at_rate(input, in->rates[0]);
	out->cost_cached_input = tokens_at_rate(cached, in->rates[1]);
	out->cost_cache_write = tokens_at_rate(write, in->rates[2]);
	out->cost_output = tokens_at_rate(output, in->rates[3]);
	saving = DirectFunctionCall2(numeric_sub, in->rates[0], in->rates[1]);
	saving = DirectFunctionCall2(numeric_larger, saving, num(0));
	out->cache_savings = tokens_at_rate(cached, saving);
}

/* The price-book rows of exactly this name (and provider, if not 0). */
static int
price_lookup(Datum model, Datum provider, TimestampTz at, int64 input, int64 cached,
			 int64 write, int64 output, Snapshot snap, UaPrice *out)
{
	UaScan		s;
	bool		isnull;
	int			found = 0;

	ua_scan_open(&s, "model_prices", "model_prices_model_idx");
	ua_scan_key(&s, "model", BTEqualStrategyNumber, F_TEXTEQ, model);
	if (provider != (Datum) 0)
		ua_scan_key(&s, "provider", BTEqualStrategyNumber, F_TEXTEQ, provider);
	ua_scan_key(&s, "effective_from", BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE, TimestampTzGetDatum(at));
	ua_scan_begin(&s, snap);
	/* By provider, latest effective_from first: each provider's first row. */
	while (found < 2 && ua_scan_next(&s))
	{
		Datum		prov = ua_scan_column_copy(&s, "provider", &isnull);
		Datum		in_rate;
		Datum		cached_rate;

		if (found > 0 && DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID,
															  prov, out[found - 1].provider)))
			continue;
		in_rate = ua_scan_column_copy(&s, "input_per_mtok", &isnull);
		cached_rate = ua_scan_column_copy(&s, "cached_input_per_mtok", &isnull);
		out[found].provider = prov;
		out[found].model = model;
		out[found].renamed = false;
		out[found].rates[0] = in_rate;
		out[found].rates[1] = cached_rate;
		out[found].rates[2] = ua_scan_column_copy(&s, "cache_write_per_mtok", &isnull);
		out[found].rates[3] = ua_scan_column_copy(&s, "output_per_mtok", &isnull);
		ua_price_apply(&out[found], input, cached, write, output, &out[found]);
		found++;
	}
	ua_scan_close(&s);
	return found;
}

/*
 * Model names as providers and gateways send them.
 */

/* The alias of a name: true, with its provider and model. */
static bool
alias_lookup(Datum name, Snapshot snap, Datum *provider, Datum *model)
{
	UaScan		s;
	bool		isnull;
	bool		found;

	ua_scan_open(&s, "model_aliases", "model_aliases_pkey");
	ua_scan_key(&s, "alias", BTEqualStrategyNumber, F_TEXTEQ, name);
	ua_scan_begin(&s, snap);
	found = ua_scan_next(&s);
	if (found)
	{
		*provider = ua_scan_column_copy(&s, "provider", &isnull);
		*model = ua_scan_column_copy(&s, "model", &isnull);
	}
	ua_scan_close(&s);
	return found;
}

static bool
same_text(Datum a, Datum b)
{
	return DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, a, b));
}

/*
 * One name: in the price book (under the gateway's provider first, when
 * the caller named none; unless book is false: looked up already), else
 * through its alias.
 */
static int
price_name(Datum name, bool book, Datum provider, Datum hint, TimestampTz at, int64 input,
		   int64 cached, int64 write, int64 output, Snapshot snap, UaPrice *out)
{
	Datum		alias_provider;
	Datum		alias_model;
	int			found = 0;

	if (book && provider == (Datum) 0 && hint != (Datum) 0)
	{
		found = price_lookup(name, hint, at, input, cached, write, output, snap, out);
		if (found > 0)
			return found;
	}
	if (book)
		found = price_lookup(name, provider, at, input, cached, write, output, snap, out);
	if (found > 0)
		return found;
	if (alias_lookup(name, snap, &alias_provider, &alias_model) &&
		(provider == (Datum) 0 || same_text(provider, alias_provider)))
		found = price_lookup(alias_model, alias_provider, at, input, cached, write, output, snap, out);
	return found;
}

/* n digits at s as a number. */
static int
digits_value(const char *s, int n)
{
	int			v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* How many digits end at position end of s. */
static int
digits_before(const char *s, int end)
{
	int			i = end;

	while (i > 0 && isdigit((unsigned char) s[i - 1]))
		i--;
	return end - i;
}

static bool
plausible_date(const char *y, const char *m, const char *d)
{
	int			year = digits_value(y, 4);
	int			month = digits_value(m, 2);
	int			day = digits_value(d, 2);

	return year >= 2000 && year <= 2099 && month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/*
 * The length of name without a trailing date, or -1 if it has none: a
 * date is -YYYY-MM-DD, -YYYYMMDD or @YYYYMMDD, optionally followed by a
 * version -vN or -vN:M (Bedrock), and something must come before it.
 */
static int
undated_length(const char *s)
{
	int			end = strlen(s);
	int			k = digits_before(s, end);

	if (k > 0 && end - k >= 1 && s[end - k - 1] == ':')
	{
		int			colon = end - k - 1;
		int			k2 = digits_before(s, colon);

		if (k2 > 0 && colon - k2 >= 2 && s[colon - k2 - 1] == 'v' && s[colon - k2 - 2] == '-')
			end = colon - k2 - 2;
	}
	else if (k > 0 && end - k >= 2 && s[end - k - 1] == 'v' && s[end - k - 2] == '-')
		end = end - k - 2;

	k = digits_before(s, end);
	if (k == 8 && end >= 10 && (s[end - 9] == '-' || s[end - 9] == '@') &&
		plausible_date(s + end - 8, s + end - 4, s + end - 2))
		return end - 9;
	if (k == 2 && end >= 12 && s[end - 3] == '-' && digits_before(s, end - 3) == 2 &&
		s[end - 6] == '-' && digits_before(s, end - 6) == 4 && s[end - 11] == '-' &&
		plausible_date(s + end - 10, s + end - 5, s + end - 2))
		return end - 11;
	return -1;
}

/*
 * The price of a model name as sent, by the first of these that has a
 * price in force at `at`:
 *   1. the price book under the name (the usual case: one index scan);
 *   2. its alias in analytics.model_aliases (ignored when the caller named
 *      another provider);
 *   3. the name after the last '/' (a gateway prefix: "openai/gpt-4o"), in
 *      the price book under the provider named by the segment before it
 *      first, then under any, then as an alias;
 *   4. that name without a trailing date ("gpt-4o-2024-08-06"), the same
 *      way.
 * A database still at the 1.0 SQL (no model_aliases) prices exact names only.
 */
int
ua_price_request(Datum model, Datum provider, TimestampTz at, int64 input, int64 cached,
				 int64 write, int64 output, Snapshot snap, UaPrice *out)
{
	char	   *name;
	char	   *base;
	char	   *slash;
	Datum		hint = (Datum) 0;
	int			undated;
	int			found;
	int			i;

	found = price_lookup(model, provider, at, input, cached, write, output, snap, out);
	if (found > 0)
		return found;
	if (!OidIsValid(get_relname_relid("model_aliases", get_namespace_oid("analytics", false))))
		return 0;

	found = price_name(model, false, provider, (Datum) 0, at, input, cached, write, output, snap, out);
	name = TextDatumGetCString(model);
	base = name;
	slash = strrchr(name, '/');
	if (found == 0 && slash != NULL && slash[1] != '\0')
	{
		char	   *segment = slash;

		while (segment > name && segment[-1] != '/')
			segment--;
		if (segment < slash)
			hint = PointerGetDatum(cstring_to_text_with_len(segment, slash - segment));
		base = slash + 1;
		found = price_name(CStringGetTextDatum(base), true, provider, hint, at, input, cached, write,
						   output, snap, out);
	}
	undated = undated_length(base);
	if (found == 0 && undated > 0)
		found = price_name(PointerGetDatum(cstring_to_text_with_len(base, undated)), true, provider,
						   hint, at, input, cached, write, output, snap, out);
	for (i = 0; i < found; i++)
		out[i].renamed = !same_text(out[i].model, model);
	return found;
}

static int64
add_count(int64 a, Datum b)
{
	int64		r;

	if (pg_add_s64_overflow(a, DatumGetInt64(b), &r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range")));
	return r;
}

static const char *const limit_columns[UA_NPLAN_LIMITS] = {
	"daily_request_limit", "monthly_request_limit", "monthly_token_limit",
	"monthly_cost_limit", "max_tokens_per_request"
};

/*
 * The local day and month of `at` in the subject's time zone, when they
 * end, and the plan's limits.  Returns the day after the month.
 */
DateADT
ua_snapshot_plan(const UaSubject *subject, TimestampTz at, Snapshot snap, UaSnapshot *out)
{
	Interval	month = {.time = 0, .day = 0, .month = 1};
	Datum		local;
	Datum		next_month;
	UaScan		s;
	bool		isnull;
	int			i;

	out->plan_id = subject->plan_id;
	local = DirectFunctionCall2(timestamptz_zone, subject->time_zone, TimestampTzGetDatum(at));
	out->today = DatumGetDateADT(DirectFunctionCall1(timestamp_date, local));
	out->month_start = DatumGetDateADT(DirectFunctionCall1(timestamp_date,
														   DirectFunctionCall2(timestamp_trunc,
																			   CStringGetTextDatum("month"), local)));
	out->day_resets_at = DatumGetTimestampTz(DirectFunctionCall2(timestamp_zone, subject->time_zone,
																 DirectFunctionCall1(date_timestamp,
																					 DateADTGetDatum(out->today + 1))));
	next_month = DirectFunctionCall2(timestamp_pl_interval,
									 DirectFunctionCall1(date_timestamp, DateADTGetDatum(out->month_start)),
									 IntervalPGetDatum(&month));
	out->month_resets_at = DatumGetTimestampTz(DirectFunctionCall2(timestamp_zone, subject->time_zone,
																   next_month));

	ua_scan_open(&s, "plans", "plans_pkey");
	ua_scan_key(&s, "plan_id", BTEqualStrategyNumber, F_TEXTEQ, subject->plan_id);
	ua_scan_begin(&s, snap);
	out->plan_found = ua_scan_next(&s);
	for (i = 0; i < UA_NLIMITS; i++)
	{
		out->limit_null[i] = true;
		if (out->plan_found && i < UA_NPLAN_LIMITS)
			out->limits[i] = ua_scan_column_copy(&s, limit_columns[i], &out->limit_null[i]);
	}
	if (out->plan_found)
	{
		out->enforcement = ua_scan_column_copy(&s, "enforcement", &isnull);
		out->warn_thresholds = ua_scan_column_copy(&s, "warn_thresholds", &isnull);
		out->features = PointerGetDatum(pg_detoast_datum_copy((struct varlena *)
															  DatumGetPointer(ua_scan_column(&s, "features", &isnull))));
	}
	ua_scan_close(&s);
	out->month_cost = num(0);
	return DatumGetDateADT(DirectFunctionCall1(timestamp_date, next_month));
}

/* Used amounts of one scan of counter rows (every slot), added with sign. */
typedef struct UaUsed
{
	int64		day_requests;
	int64		month_requests;
	int64		month_tokens;
	Datum		month_cost;
} UaUsed;

static void
sum_counters(UaScan *s, DateADT today, int sign, UaUsed *u)
{
	static const char *const token_columns[] = {
		"input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens"
	};
	bool		isnull;
	int			i;

	while (ua_scan_next(s))
	{
		int64		requests = add_count(DatumGetInt64(ua_scan_column(s, "requests", &isnull)),
										 ua_scan_column(s, "pending_requests", &isnull));
		int64		tokens = DatumGetInt64(ua_scan_column(s, "pending_tokens", &isnull));
		Datum		cost = DirectFunctionCall2(numeric_add, ua_scan_column(s, "cost", &isnull),
											   ua_scan_column(s, "pending_cost", &isnull));

		for (i = 0; i < (int) lengthof(token_columns); i++)
			tokens = add_count(tokens, ua_scan_column(s, token_columns[i], &isnull));
		if (sign < 0)
		{
			requests = -requests;
			tokens = -tokens;
			cost = DirectFunctionCall1(numeric_uminus, cost);
		}
		if (DatumGetDateADT(ua_scan_column(s, "usage_date", &isnull)) == today)
			u->day_requests = add_count(u->day_requests, Int64GetDatum(requests));
		u->month_requests = add_count(u->month_requests, Int64GetDatum(requests));
		u->month_tokens = add_count(u->month_tokens, Int64GetDatum(tokens));
		u->month_cost = DirectFunctionCall2(numeric_add, u->month_cost, cost);
	}
}

/* The rows of org_usage_counters of (org_id, member) in [from, to). */
static void
sum_org_rows(Datum org_id, Datum member, DateADT from, DateADT to, DateADT today, Snapshot snap,
			 UaUsed *u)
{
	UaScan		s;

	ua_scan_open(&s, "org_usage_counters", "org_usage_counters_pkey");
	ua_scan_key(&s, "org_id", BTEqualStrategyNumber, F_TEXTEQ, org_id);
	ua_scan_key(&s, "user_id", BTEqualStrategyNumber, F_TEXTEQ, member);
	ua_scan_key(&s, "usage_date", BTGreaterEqualStrategyNumber, F_DATE_GE, DateADTGetDatum(from));
	ua_scan_key(&s, "usage_date", BTLessStrategyNumber, F_DATE_LT, DateADTGetDatum(to));
	ua_scan_begin(&s, snap);
	sum_counters(&s, today, 1, u);
	ua_scan_close(&s);
}

void
ua_usage_scans_open(UaUsageScans *u)
{
	ua_scan_open(&u->counters, "usage_counters", "usage_counters_pkey");
	u->orgs = ua_orgs_enabled();
	if (u->orgs)
		ua_scan_open(&u->org_rows, "org_usage_counters", "org_usage_counters_member_idx");
}

void
ua_usage_scans_close(UaUsageScans *u)
{
	ua_scan_close(&u->counters);
	if (u->orgs)
		ua_scan_close(&u->org_rows);
}

void
ua_usage_snapshot_used(UaUsageScans *scans, Datum user_id, DateADT month_end, Snapshot snap,
					   UaSnapshot *out)
{
	UaUsageScans own;
	UaUsed		u;

	if (scans == NULL)
	{
		scans = &own;
		ua_usage_scans_open(scans);
	}

	/* The day counters of the month, every slot. */
	memset(&u, 0, sizeof(u));
	u.month_cost = num(0);
	ua_scan_key(&scans->counters, "user_id", BTEqualStrategyNumber, F_TEXTEQ, user_id);
	ua_scan_key(&scans->counters, "usage_date", BTGreaterEqualStrategyNumber, F_DATE_GE,
				DateADTGetDatum(out->month_start));
	ua_scan_key(&scans->counters, "usage_date", BTLessStrategyNumber, F_DATE_LT, DateADTGetDatum(month_end));
	ua_scan_begin(&scans->counters, snap);
	sum_counters(&scans->counters, out->today, 1, &u);
	ua_scan_end(&scans->counters);

	/*
	 * Less the requests made in organizations (counted in the user's
	 * counters on the same day): they count against the organizations'
	 * plans, not the user's.
	 */
	if (scans->orgs)
	{
		ua_scan_key(&scans->org_rows, "user_id", BTEqualStrategyNumber, F_TEXTEQ, user_id);
		ua_scan_key(&scans->org_rows, "usage_date", BTGreaterEqualStrategyNumber, F_DATE_GE,
					DateADTGetDatum(out->month_start));
		ua_scan_key(&scans->org_rows, "usage_date", BTLessStrategyNumber, F_DATE_LT, DateADTGetDatum(month_end));
		ua_scan_begin(&scans->org_rows, snap);
		sum_counters(&scans->org_rows, out->today, -1, &u);
		ua_scan_end(&scans->org_rows);
	}
	out->day_requests = u.day_requests;
	out->month_requests = u.month_requests;
	out->month_tokens = u.month_tokens;
	out->month_cost = u.month_cost;
	if (scans == &own)
		ua_usage_scans_close(scans);
}

void
ua_usage_snapshot(Datum user_id, TimestampTz at, const UaSubject *known, Snapshot snap,
				  UaSnapshot *out)
{
	UaSubject	subject;
	DateADT		month_end;

	memset(out, 0, sizeof(UaSnapshot));
	if (known)
		subject = *known;
	else
		ua_subject_at(user_id, at, snap, &subject);
	month_end = ua_snapshot_plan(&subject, at, snap, out);
	ua_usage_snapshot_used(NULL, user_id, month_end, snap, out);
}

/* ------------------------------------------------------------------------
 * Organizations
 * ------------------------------------------------------------------------
 */

bool
ua_orgs_enabled(void)
{
	return OidIsValid(get_relname_relid("org_usage_counters", get_namespace_oid("analytics", false)));
}

void
ua_org_lookup(Datum org_id, Snapshot snap, UaOrg *org)
{
	UaScan		s;
	bool		isnull;

	org->found = false;
	org->active = false;
	org->time_zone = CStringGetTextDatum("UTC");
	ua_scan_open(&s, "organizations", "organizations_pkey");
	ua_scan_key(&s, "org_id", BTEqualStrategyNumber, F_TEXTEQ, org_id);
	ua_scan_begin(&s, snap);
	if (ua_scan_next(&s))
	{
		org->found = true;
		org->active = strcmp(TextDatumGetCString(ua_scan_column(&s, "status", &isnull)), "active") == 0;
		org->time_zone = ua_scan_column_copy(&s, "time_zone", &isnull);
	}
	ua_scan_close(&s);
}

void
ua_member_lookup(Datum org_id, Datum user_id, Snapshot snap, UaMember *m)
{
	static const char *const cap_columns[3] = {
		"monthly_request_cap", "monthly_token_cap", "monthly_cost_cap"
	};
	UaScan		s;
	bool		isnull;
	int			i;

	memset(m, 0, sizeof(UaMember));
	for (i = 0; i < 3; i++)
		m->cap_null[i] = true;
	ua_scan_open(&s, "org_members", "org_members_pkey");
	ua_scan_key(&s, "org_id", BTEqualStrategyNumber, F_TEXTEQ, org_id);
	ua_scan_key(&s, "user_id", BTEqualStrategyNumber, F_TEXTEQ, user_id);
	ua_scan_begin(&s, snap);
	if (ua_scan_next(&s))
	{
		m->found = true;
		m->role = ua_scan_column_copy(&s, "role", &isnull);
		for (i = 0; i < 3; i++)
			m->caps[i] = ua_scan_column_copy(&s, cap_columns[i], &m->cap_null[i]);
	}
	ua_scan_close(&s);
}

void
ua_org_subject_at(Datum org_id, const UaOrg *org, TimestampTz at, Snapshot snap, UaSubject *out)
{
	UaScan		s;
	bool		isnull;

	out->plan_id = CStringGetTextDatum(ua_default_plan ? ua_default_plan : "");
	out->time_zone = org->time_zone;

	ua_scan_open(&s, "subscriptions", "subscriptions_org_lookup_idx");
	ua_scan_key(&s, "org_id", BTEqualStrategyNumber, F_TEXTEQ, org_id);
	ua_scan_key(&s, "starts_at", BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE, TimestampTzGetDatum(at));
	ua_scan_begin(&s, snap);
	/* Latest start first: the first that has not ended at `at` is in force. */
	while (ua_scan_next(&s))
	{
		Datum		ends_at = ua_scan_column(&s, "ends_at", &isnull);

		if (!isnull && DatumGetTimestampTz(ends_at) <= at)
			continue;
		out->plan_id = ua_scan_column_copy(&s, "plan_id", &isnull);
		break;
	}
	ua_scan_close(&s);
}

void
ua_org_usage_snapshot(Datum org_id, Datum user_id, TimestampTz at, const UaSubject *subject,
					  const UaMember *member, Snapshot snap, UaSnapshot *out)
{
	DateADT		month_end;
	UaUsed		u;
	int			i;

	memset(out, 0, sizeof(UaSnapshot));
	out->is_org = true;
	month_end = ua_snapshot_plan(subject, at, snap, out);

	memset(&u, 0, sizeof(u));
	u.month_cost = num(0);
	sum_org_rows(org_id, CStringGetTextDatum(""), out->month_start, month_end, out->today, snap, &u);
	out->day_requests = u.day_requests;
	out->month_requests = u.month_requests;
	out->month_tokens = u.month_tokens;
	out->month_cost = u.month_cost;

	out->member_month_cost = num(0);
	if (member == NULL || !member->found)
		return;
	for (i = 0; i < 3; i++)
	{
		out->limit_null[UA_LIMIT_MEMBER_REQUESTS + i] = member->cap_null[i];
		out->limits[UA_LIMIT_MEMBER_REQUESTS + i] = member->caps[i];
	}
	if (member->cap_null[0] && member->cap_null[1] && member->cap_null[2])
		return;
	memset(&u, 0, sizeof(u));
	u.month_cost = num(0);
	sum_org_rows(org_id, user_id, out->month_start, month_end, out->today, snap, &u);
	out->member_month_requests = u.month_requests;
	out->member_month_tokens = u.month_tokens;
	out->member_month_cost = u.month_cost;
}

/* ------------------------------------------------------------------------
 * The SQL functions (1.1): one snapshot, or up to two prices.
 * ------------------------------------------------------------------------
 */

/*
 * The SQL functions read with the caller's rights: they are internal (the
 * owner's), but should EXECUTE be granted, reading rows the caller could
 * not read through a table must fail as the SQL versions would.
 */
static void
require_read(const char *table)
{
	Oid			relid = get_relname_relid(table, get_namespace_oid("analytics", false));

	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read every row of analytics.%s", table),
				 errhint("This function is internal to usage_analytics.")));
}

Datum
ua_price_request_srf(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	UaPrice		prices[2];
	int			found;
	int			i;
	int			a;

	require_read("model_prices");
	InitMaterializedSRF(fcinfo, 0);
	/* NULL model or time: no price matches; NULL token counts: NULL costs. */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		return (Datum) 0;
	found = ua_price_request(PG_GETARG_DATUM(0), PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1),
							 PG_GETARG_TIMESTAMPTZ(2),
							 PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3),
							 PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4),
							 PG_ARGISNULL(5) ? 0 : PG_GETARG_INT64(5),
							 PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6),
							 GetActiveSnapshot(), prices);
	for (i = 0; i < found; i++)
	{
		Datum		v[7] = {prices[i].provider, prices[i].cost_input, prices[i].cost_cached_input,
		prices[i].cost_cache_write, prices[i].cost_output, prices[i].cache_savings, prices[i].model};
		bool		n[7] = {false, false, false, false, false, false, false};

		/* A NULL token count makes its bucket (and the savings) NULL. */
		for (a = 3; a <= 6; a++)
			if (PG_ARGISNULL(a))
			{
				n[a - 2] = true;
				if (a == 4)
					n[5] = true;
			}
		/* The 1.1 SQL's seventh column (priced_model) is not in 1.0's. */
		if (rsinfo->setDesc->natts < 6 || rsinfo->setDesc->natts > 7)
			elog(ERROR, "usage_analytics: price_request returns %d columns", rsinfo->setDesc->natts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}

Datum
ua_usage_snapshot_srf(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	UaSnapshot	s;
	Datum		v[17];
	bool		n[17];
	int			i;

	require_read("subscriptions");
	require_read("plans");
	require_read("usage_counters");
	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id and the time must not be null")));
	ua_usage_snapshot(PG_GETARG_DATUM(0), PG_GETARG_TIMESTAMPTZ(1), NULL, GetActiveSnapshot(), &s);
	memset(n, false, sizeof(n));
	v[0] = s.plan_id;
	v[1] = BoolGetDatum(s.plan_found);
	v[2] = DateADTGetDatum(s.month_start);
	v[3] = TimestampTzGetDatum(s.day_resets_at);
	v[4] = TimestampTzGetDatum(s.month_resets_at);
	v[5] = Int64GetDatum(s.day_requests);
	v[6] = Int64GetDatum(s.month_requests);
	v[7] = Int64GetDatum(s.month_tokens);
	v[8] = s.month_cost;
	for (i = 0; i < UA_NPLAN_LIMITS; i++)
	{
		v[9 + i] = s.limits[i];
		n[9 + i] = s.limit_null[i];
	}
	v[14] = s.enforcement;
	n[14] = !s.plan_found;
	v[15] = s.warn_thresholds;
	n[15] = !s.plan_found;
	v[16] = DateADTGetDatum(s.today);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	return (Datum) 0;
}
