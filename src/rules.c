/*-------------------------------------------------------------------------
 *
 * rules.c
 *	  The admission rules of a request's model, beyond the plan's usage
 *	  limits (quota.c), for start_request and check_quota with a model:
 *
 *	    provider_inactive  provider_limits (provider, '*') has active = false;
 *	    model_inactive     provider_limits (provider, model) has active = false;
 *	    model_not_allowed  the plan's features->'models' does not list the
 *	                       model (as sent, or the price-book model that
 *	                       prices it: alias, gateway prefix and date
 *	                       suffix resolved as for prices); absent, null or
 *	                       "all" allows every model, a string one model, an
 *	                       array its strings, any other value none.  Refuses
 *	                       on a hard plan; a soft plan admits and reports;
 *	    provider_requests_per_minute, provider_requests_per_day,
 *	    model_requests_per_minute, model_requests_per_day
 *	                       rate limits of provider_limits across all users,
 *	                       in fixed UTC minutes and days: a request is
 *	                       refused when the window's admitted requests have
 *	                       reached the limit.
 *
 *	  The model of a request is the price-book entry that prices the name
 *	  as sent at the time (subject.c, ua_price_request), its provider the
 *	  one given or the price book's; a name the price book lacks is its own
 *	  model, with the provider given (or none: no provider rule applies).
 *
 *	  Exactness of the rate limits is admission.c's: start_request holds
 *	  each limited scope's admission lock to commit before it counts the
 *	  window with a fresh snapshot, and adds its request to the window
 *	  (analytics.provider_counters, this backend's slot: no hot row) in the
 *	  same transaction.
 *
 *	  A database still at the 1.0 SQL (no provider_limits) has none of
 *	  these rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "compat.h"
#include "counters.h"
#include "rules.h"
#include "scan.h"
#include "spi_plans.h"

static const char *const window_names[UA_NWINDOWS] = {"minute", "day"};
static const char *const limit_columns[UA_NWINDOWS] = {"requests_per_minute", "requests_per_day"};

static Datum
num(int64 v)
{
	return DirectFunctionCall1(int8_numeric, Int64GetDatum(v));
}

/* The provider_limits row (provider, model): false if none. */
static bool
read_limits(Datum provider, Datum model, Snapshot snap, bool *active, UaRateScope *scope)
{
	UaScan		s;
	bool		found;
	bool		isnull;
	int			w;

	ua_scan_open(&s, "provider_limits", "provider_limits_pkey");
	ua_scan_key(&s, "provider", BTEqualStrategyNumber, F_TEXTEQ, provider);
	ua_scan_key(&s, "model", BTEqualStrategyNumber, F_TEXTEQ, model);
	ua_scan_begin(&s, snap);
	found = ua_scan_next(&s);
	if (found)
	{
		*active = DatumGetBool(ua_scan_column(&s, "active", &isnull));
		for (w = 0; w < UA_NWINDOWS; w++)
		{
			Datum		v = ua_scan_column(&s, limit_columns[w], &scope->has_limit[w]);

			scope->has_limit[w] = !scope->has_limit[w];
			scope->limit[w] = scope->has_limit[w] ? DatumGetInt64(v) : 0;
		}
	}
	ua_scan_close(&s);
	return found;
}

/* hashtextextended('usage_analytics.rate:' || provider || '/' || model, 0) */
static int64
scope_key(Datum provider, Datum model)
{
	char	   *name = psprintf("usage_analytics.rate:%s/%s", TextDatumGetCString(provider),
								TextDatumGetCString(model));

	return DatumGetInt64(DirectFunctionCall2Coll(hashtextextended, C_COLLATION_OID,
												 CStringGetTextDatum(name), Int64GetDatum(0)));
}

void
ua_rules_resolve(Datum model, Datum provider, TimestampTz at, Snapshot snap, UaModelRules *r)
{
	UaPrice		prices[2];
	int			found;
	int			i;
	Datum		star = CStringGetTextDatum("*");

	memset(r, 0, sizeof(UaModelRules));
	r->sent = model;
	r->model = model;
	r->provider = provider;
	r->provider_active = true;
	r->model_active = true;
	r->enabled = OidIsValid(get_relname_relid("provider_limits", get_namespace_oid("analytics", false)));
	if (!r->enabled)
		return;

	found = ua_price_request(model, provider, at, 0, 0, 0, 0, snap, prices);
	if (found > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" is priced under more than one provider",
						TextDatumGetCString(model)),
				 errdetail("Admission applies the rules of one provider."),
				 errhint("Pass provider.")));
	if (found == 1)
	{
		r->model = prices[0].model;
		r->provider = prices[0].provider;
	}
	if (r->provider == (Datum) 0)
		return;

	/* The provider's row, then the model's. */
	for (i = 0; i < 2; i++)
	{
		UaRateScope *sc = &r->scopes[r->nscopes];
		bool		active = true;

		memset(sc, 0, sizeof(UaRateScope));
		if (!read_limits(r->provider, i == 0 ? star : r->model, snap, &active, sc))
			continue;
		if (i == 0)
			r->provider_active = active;
		else
			r->model_active = active;
		if (sc->has_limit[UA_WINDOW_MINUTE] || sc->has_limit[UA_WINDOW_DAY])
		{
			sc->is_model = i == 1;
			sc->model = i == 0 ? star : r->model;
			sc->lock_key = scope_key(r->provider, sc->model);
			r->nscopes++;
		}
	}
	if (r->nscopes == 2 && r->scopes[1].lock_key < r->scopes[0].lock_key)
	{
		UaRateScope tmp = r->scopes[0];

		r->scopes[0] = r->scopes[1];
		r->scopes[1] = tmp;
	}
}

/* Does the plan's features->'models' allow the model? */
static bool
plan_allows(Datum features, const UaModelRules *r)
{
	Jsonb	   *jb;
	JsonbValue *v;
	Datum		names[2];
	int			i;

	if (features == (Datum) 0)
		return true;
	jb = DatumGetJsonbP(features);
	if (!JsonContainerIsObject(&jb->root))
		return true;
	v = getKeyJsonValueFromContainer(&jb->root, "models", 6, NULL);
	if (v == NULL || v->type == jbvNull)
		return true;
	names[0] = r->sent;
	names[1] = r->model;
	if (v->type == jbvString)
	{
		if (v->val.string.len == 3 && memcmp(v->val.string.val, "all", 3) == 0)
			return true;
		for (i = 0; i < 2; i++)
		{
			text	   *t = DatumGetTextPP(names[i]);

			if (VARSIZE_ANY_EXHDR(t) == (Size) v->val.string.len &&
				memcmp(VARDATA_ANY(t), v->val.string.val, v->val.string.len) == 0)
				return true;
		}
		return false;
	}
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		return false;
	for (i = 0; i < 2; i++)
	{
		text	   *t = DatumGetTextPP(names[i]);
		JsonbValue	k;

		k.type = jbvString;
		k.val.string.val = VARDATA_ANY(t);
		k.val.string.len = VARSIZE_ANY_EXHDR(t);
		if (findJsonbValueFromContainer(v->val.binary.data, JB_FARRAY, &k) != NULL)
			return true;
	}
	return false;
}

/* A refusal without figures. */
static void
refuse(UaQuota *q, const char *name, bool hard)
{
	memset(&q->rule, 0, sizeof(UaLimitState));
	q->rule.name = name;
	q->rule.present = true;
	q->rule.exceeded = true;
	q->ruled = true;
	q->status = "limit_reached";
	if (hard)
		q->allowed = false;
}

void
ua_rules_gates(const UaModelRules *r, UaQuota *q, MemoryContext cxt)
{
	if (!r->enabled)
		return;
	if (!r->provider_active)
		refuse(q, "provider_inactive", true);
	else if (!r->model_active)
		refuse(q, "model_inactive", true);
	else if (!plan_allows(q->features, r))
		refuse(q, "model_not_allowed", q->hard);
}

/* The start of the fixed UTC window of `at`. */
static TimestampTz
window_start(TimestampTz at, int w)
{
	int64		len = w == UA_WINDOW_MINUTE ? USECS_PER_MINUTE : USECS_PER_DAY;
	int64		start = at - at % len;

	/* TimestampTz 0 is 2000-01-01 00:00 UTC: floor towards the past. */
	if (at % len < 0)
		start -= len;
	return start;
}

/* Requests admitted in one window of one scope, every slot. */
static int64
window_count(Datum provider, Datum model, int w, TimestampTz start, Snapshot snap)
{
	UaScan		s;
	bool		isnull;
	int64		n = 0;

	ua_scan_open(&s, "provider_counters", "provider_counters_pkey");
	ua_scan_key(&s, "provider", BTEqualStrategyNumber, F_TEXTEQ, provider);
	ua_scan_key(&s, "model", BTEqualStrategyNumber, F_TEXTEQ, model);
	ua_scan_key(&s, "period", BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(window_names[w]));
	ua_scan_key(&s, "period_start", BTEqualStrategyNumber, F_TIMESTAMPTZ_EQ, TimestampTzGetDatum(start));
	ua_scan_begin(&s, snap);
	while (ua_scan_next(&s))
		n += DatumGetInt64(ua_scan_column(&s, "requests", &isnull));
	ua_scan_close(&s);
	return n;
}

void
ua_rules_rates(const UaModelRules *r, TimestampTz at, Snapshot snap, UaQuota *q, MemoryContext cxt)
{
	int			i;
	int			w;

	if (!r->enabled)
		return;
	for (i = 0; i < r->nscopes; i++)
	{
		const UaRateScope *sc = &r->scopes[i];

		for (w = 0; w < UA_NWINDOWS; w++)
		{
			TimestampTz start;
			int64		used;
			MemoryContext old;

			if (!sc->has_limit[w])
				continue;
			start = window_start(at, w);
			used = window_count(r->provider, sc->model, w, start, snap);
			if (used < sc->limit[w])
				continue;

			old = MemoryContextSwitchTo(cxt);
			refuse(q, sc->is_model ? (w == UA_WINDOW_MINUTE ? "model_requests_per_minute" : "model_requests_per_day")
				   : (w == UA_WINDOW_MINUTE ? "provider_requests_per_minute" : "provider_requests_per_day"),
				   true);
			q->rule.periodic = true;
			q->rule.used = num(used);
			q->rule.limit = num(sc->limit[w]);
			q->rule.percent = sc->limit[w] == 0 ? num(100) :
				DirectFunctionCall2(numeric_round,
									DirectFunctionCall2(numeric_div, num(used * 100), q->rule.limit),
									Int32GetDatum(2));
			q->rule.resets_at = TimestampTzGetDatum(start + (w == UA_WINDOW_MINUTE ? USECS_PER_MINUTE : USECS_PER_DAY));
			MemoryContextSwitchTo(old);
			return;
		}
	}
}

static UaPlan add_request = {
	.sql = "INSERT INTO analytics.provider_counters AS c "
	"  (provider, model, period, period_start, slot, requests) "
	"VALUES ($1, $2, $3, $4, $5, 1) "
	"ON CONFLICT (provider, model, period, period_start, slot) "
	"DO UPDATE SET requests = c.requests + 1",
	.nargs = 5, .argtypes = {TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INT2OID}
};

void
ua_rules_count(const UaModelRules *r, TimestampTz at)
{
	int			i;
	int			w;

	if (!r->enabled)
		return;
	for (i = 0; i < r->nscopes; i++)
		for (w = 0; w < UA_NWINDOWS; w++)
		{
			Datum		v[5];

			if (!r->scopes[i].has_limit[w])
				continue;
			v[0] = r->provider;
			v[1] = r->scopes[i].model;
			v[2] = CStringGetTextDatum(window_names[w]);
			v[3] = TimestampTzGetDatum(window_start(at, w));
			v[4] = Int16GetDatum(UA_BACKEND_SLOT);
			ua_run(&add_request, v, NULL, false, 1);
		}
}
