/*-------------------------------------------------------------------------
 *
 * counters.c
 *	  The statements that change analytics.usage_counters: add a delta to
 *	  a user's day, in the slot of this backend (an upsert; the batch
 *	  first updates the rows the slot has, then upserts the rest).
 *
 *	  Each backend writes only its own slot (its backend number), so no two
 *	  running transactions update the same counter row: writers never wait
 *	  for each other here and cannot deadlock, whatever order they touch
 *	  users in.  Readers sum the slots.  The update changes no indexed
 *	  column and is HOT.  Callers touch the counters last in their
 *	  transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "compat.h"
#include "utils/numeric.h"
#include "utils/builtins.h"
#include "utils/array.h"
#include "utils/date.h"
#include "citus.h"
#include "counters.h"
#include "spi_plans.h"

/*
 * The counter upsert's column list and conflict clause (target aliased c).
 */
#define UA_COUNTERS_INSERT \
	"INSERT INTO analytics.usage_counters AS c (user_id, usage_date, slot, requests, failed, " \
	"  input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, " \
	"  cache_hits, cost, cache_savings, response_time_sum, response_time_count, " \
	"  pending_requests, pending_tokens, pending_cost, rejected) "
#define UA_COUNTERS_ON_CONFLICT \
	"ON CONFLICT (user_id, usage_date, slot) DO UPDATE SET " UA_COUNTERS_SET
#define UA_COUNTERS_SET \
	"  requests = c.requests + EXCLUDED.requests, failed = c.failed + EXCLUDED.failed, " \
	"  input_tokens = c.input_tokens + EXCLUDED.input_tokens, " \
	"  cached_input_tokens = c.cached_input_tokens + EXCLUDED.cached_input_tokens, " \
	"  cache_write_tokens = c.cache_write_tokens + EXCLUDED.cache_write_tokens, " \
	"  output_tokens = c.output_tokens + EXCLUDED.output_tokens, " \
	"  reasoning_tokens = c.reasoning_tokens + EXCLUDED.reasoning_tokens, " \
	"  cache_hits = c.cache_hits + EXCLUDED.cache_hits, " \
	"  cost = c.cost + EXCLUDED.cost, " \
	"  cache_savings = c.cache_savings + EXCLUDED.cache_savings, " \
	"  response_time_sum = c.response_time_sum + EXCLUDED.response_time_sum, " \
	"  response_time_count = c.response_time_count + EXCLUDED.response_time_count, " \
	"  pending_requests = c.pending_requests + EXCLUDED.pending_requests, " \
	"  pending_tokens = c.pending_tokens + EXCLUDED.pending_tokens, " \
	"  pending_cost = c.pending_cost + EXCLUDED.pending_cost, " \
	"  rejected = c.rejected + EXCLUDED.rejected"

static UaPlan add_delta = {
	.sql = UA_COUNTERS_INSERT
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) "
	UA_COUNTERS_ON_CONFLICT,
	.nargs = 19, .argtypes = {TEXTOID, DATEOID, INT2OID, INT8OID, INT8OID, INT8OID, INT8OID,
		INT8OID, INT8OID, INT8OID, INT8OID, NUMERICOID, NUMERICOID, INT8OID, INT8OID,
	INT8OID, INT8OID, NUMERICOID, INT8OID}
};

/*
 * A request with org_id: the user's counter, the organization's pooled row
 * (user_id '') and the member's row, in one statement ($20: org_id).
 */
#define UA_ORG_COUNTERS_INSERT \
	"INSERT INTO analytics.org_usage_counters AS c (org_id, user_id, usage_date, slot, requests, " \
	"  failed, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, " \
	"  reasoning_tokens, cache_hits, cost, cache_savings, response_time_sum, response_time_count, " \
	"  pending_requests, pending_tokens, pending_cost, rejected) " \
	"VALUES ($20, '', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19), " \
	"  ($20, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) " \
	"ON CONFLICT (org_id, user_id, usage_date, slot) DO UPDATE SET " UA_COUNTERS_SET

#define UA_COUNTERS_TYPES TEXTOID, DATEOID, INT2OID, INT8OID, INT8OID, INT8OID, INT8OID, \
	INT8OID, INT8OID, INT8OID, INT8OID, NUMERICOID, NUMERICOID, INT8OID, INT8OID, \
	INT8OID, INT8OID, NUMERICOID, INT8OID

static UaPlan add_org_delta = {
	.sql = "WITH u AS (" UA_COUNTERS_INSERT
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) "
	UA_COUNTERS_ON_CONFLICT ") " UA_ORG_COUNTERS_INSERT,
	.nargs = 20, .argtypes = {UA_COUNTERS_TYPES, TEXTOID}
};

static UaPlan add_org_only = {
	.sql = UA_ORG_COUNTERS_INSERT,
	.nargs = 20, .argtypes = {UA_COUNTERS_TYPES, TEXTOID}
};

static Datum
or_zero(Datum n)
{
	return n ? n : DirectFunctionCall1(int8_numeric, Int64GetDatum(0));
}

void
ua_counters_add(Datum user_id, Datum usage_date, const UaCounterDelta *d)
{
	Datum		v[19] = {
		user_id, usage_date, Int16GetDatum(UA_BACKEND_SLOT),
		Int64GetDatum(d->requests), Int64GetDatum(d->failed),
		Int64GetDatum(d->input_tokens), Int64GetDatum(d->cached_input_tokens),
		Int64GetDatum(d->cache_write_tokens), Int64GetDatum(d->output_tokens),
		Int64GetDatum(d->reasoning_tokens), Int64GetDatum(d->cache_hits),
		or_zero(d->cost), or_zero(d->cache_savings),
		Int64GetDatum(d->response_time_sum), Int64GetDatum(d->response_time_count),
		Int64GetDatum(d->pending_requests), Int64GetDatum(d->pending_tokens),
		or_zero(d->pending_cost), Int64GetDatum(d->rejected)
	};

	ua_run(&add_delta, v, NULL, false, 1);
}

static void
fill_values(Datum *v, Datum user_id, Datum usage_date, const UaCounterDelta *d)
{
	v[0] = user_id;
	v[1] = usage_date;
	v[2] = Int16GetDatum(UA_BACKEND_SLOT);
	v[3] = Int64GetDatum(d->requests);
	v[4] = Int64GetDatum(d->failed);
	v[5] = Int64GetDatum(d->input_tokens);
	v[6] = Int64GetDatum(d->cached_input_tokens);
	v[7] = Int64GetDatum(d->cache_write_tokens);
	v[8] = Int64GetDatum(d->output_tokens);
	v[9] = Int64GetDatum(d->reasoning_tokens);
	v[10] = Int64GetDatum(d->cache_hits);
	v[11] = or_zero(d->cost);
	v[12] = or_zero(d->cache_savings);
	v[13] = Int64GetDatum(d->response_time_sum);
	v[14] = Int64GetDatum(d->response_time_count);
	v[15] = Int64GetDatum(d->pending_requests);
	v[16] = Int64GetDatum(d->pending_tokens);
	v[17] = or_zero(d->pending_cost);
	v[18] = Int64GetDatum(d->rejected);
}

void
ua_counters_add_org(Datum org_id, Datum user_id, Datum usage_date, const UaCounterDelta *d)
{
	Datum		v[20];

	fill_values(v, user_id, usage_date, d);
	v[19] = org_id;
	ua_run(&add_org_delta, v, NULL, false, 2);
}

/*
 * Many counter rows in one statement (the batch): arrays of the keys and of
 * each delta column, unnested; keys must be distinct (each row is updated
 * once).  $1 the slot, $2 user ids, $3 days, $4-$15 the deltas; the
 * organization's rows $16 the org ids.
 */
#define UA_BATCH_DELTAS \
	"x.r, x.f, x.i, x.ci, x.cw, x.o, x.rs, x.ch, x.c, x.cs, x.ts, x.tc, 0, 0, 0, 0 "

static UaPlan add_many = {
	.sql = UA_COUNTERS_INSERT
	"SELECT x.u, x.d, $1, " UA_BATCH_DELTAS
	"FROM ROWS FROM (pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::date[]), "
	"pg_catalog.unnest($4::int8[]), pg_catalog.unnest($5::int8[]), pg_catalog.unnest($6::int8[]), "
	"pg_catalog.unnest($7::int8[]), pg_catalog.unnest($8::int8[]), pg_catalog.unnest($9::int8[]), "
	"pg_catalog.unnest($10::int8[]), pg_catalog.unnest($11::int8[]), pg_catalog.unnest($12::numeric[]), "
	"pg_catalog.unnest($13::numeric[]), pg_catalog.unnest($14::int8[]), pg_catalog.unnest($15::int8[])) "
	"AS x(u, d, r, f, i, ci, cw, o, rs, ch, c, cs, ts, tc) "
	UA_COUNTERS_ON_CONFLICT,
	.nargs = 15, .argtypes = {INT2OID, TEXTARRAYOID, DATEARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
		INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
	NUMERICARRAYOID, NUMERICARRAYOID, INT8ARRAYOID, INT8ARRAYOID}
};

static UaPlan add_org_many = {
	.sql = "INSERT INTO analytics.org_usage_counters AS c (org_id, user_id, usage_date, slot, requests, "
	"  failed, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, "
	"  reasoning_tokens, cache_hits, cost, cache_savings, response_time_sum, response_time_count, "
	"  pending_requests, pending_tokens, pending_cost, rejected) "
	"SELECT x.g, x.u, x.d, $1, " UA_BATCH_DELTAS
	"FROM ROWS FROM (pg_catalog.unnest($16::text[]), pg_catalog.unnest($2::text[]), "
	"pg_catalog.unnest($3::date[]), "
	"pg_catalog.unnest($4::int8[]), pg_catalog.unnest($5::int8[]), pg_catalog.unnest($6::int8[]), "
	"pg_catalog.unnest($7::int8[]), pg_catalog.unnest($8::int8[]), pg_catalog.unnest($9::int8[]), "
	"pg_catalog.unnest($10::int8[]), pg_catalog.unnest($11::int8[]), pg_catalog.unnest($12::numeric[]), "
	"pg_catalog.unnest($13::numeric[]), pg_catalog.unnest($14::int8[]), pg_catalog.unnest($15::int8[])) "
	"AS x(g, u, d, r, f, i, ci, cw, o, rs, ch, c, cs, ts, tc) "
	"ON CONFLICT (org_id, user_id, usage_date, slot) DO UPDATE SET " UA_COUNTERS_SET,
	.nargs = 16, .argtypes = {INT2OID, TEXTARRAYOID, DATEARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
		INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
	NUMERICARRAYOID, NUMERICARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID}
};

static Datum
int8_array(int n, const UaCounterDelta *d, size_t offset)
{
	Datum	   *v = palloc(n * sizeof(Datum));
	int			i;

	for (i = 0; i < n; i++)
		v[i] = Int64GetDatum(*(const int64 *) ((const char *) &d[i] + offset));
	return PointerGetDatum(construct_array(v, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
numeric_array(int n, const UaCounterDelta *d, size_t offset)
{
	Datum	   *v = palloc(n * sizeof(Datum));
	int			i;

	for (i = 0; i < n; i++)
		v[i] = or_zero(*(const Datum *) ((const char *) &d[i] + offset));
	return PointerGetDatum(construct_array(v, n, NUMERICOID, -1, false, TYPALIGN_INT));
}

/*
 * The rows this backend has already: one UPDATE of them all, its keys
 * joined to the arrays (the same arrays as above, WITH ORDINALITY; $1 the
 * slot), returning the positions it updated.  The upsert locks an existing
 * row before updating it (a WAL record and a lock per row); the UPDATE does
 * not, and no other transaction writes this backend's slot.  The rows it
 * did not find go through the upsert.  Only up to UA_UPDATE_FIRST_MAX rows:
 * for more (a history load's chunk of new users) the planner may hash the
 * whole counter table, and most rows are new anyway.
 */
#define UA_UPDATE_FIRST_MAX 1000

#define UA_BATCH_SET \
	"requests = c.requests + x.r, failed = c.failed + x.f, input_tokens = c.input_tokens + x.i, " \
	"cached_input_tokens = c.cached_input_tokens + x.ci, " \
	"cache_write_tokens = c.cache_write_tokens + x.cw, output_tokens = c.output_tokens + x.o, " \
	"reasoning_tokens = c.reasoning_tokens + x.rs, cache_hits = c.cache_hits + x.ch, " \
	"cost = c.cost + x.c, cache_savings = c.cache_savings + x.cs, " \
	"response_time_sum = c.response_time_sum + x.ts, " \
	"response_time_count = c.response_time_count + x.tc "
#define UA_BATCH_UNNEST_DELTAS \
	"pg_catalog.unnest($4::int8[]), pg_catalog.unnest($5::int8[]), pg_catalog.unnest($6::int8[]), " \
	"pg_catalog.unnest($7::int8[]), pg_catalog.unnest($8::int8[]), pg_catalog.unnest($9::int8[]), " \
	"pg_catalog.unnest($10::int8[]), pg_catalog.unnest($11::int8[]), pg_catalog.unnest($12::numeric[]), " \
	"pg_catalog.unnest($13::numeric[]), pg_catalog.unnest($14::int8[]), pg_catalog.unnest($15::int8[])"

static UaPlan update_many = {
	.sql = "UPDATE analytics.usage_counters AS c SET " UA_BATCH_SET
	"FROM ROWS FROM (pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::date[]), "
	UA_BATCH_UNNEST_DELTAS ") WITH ORDINALITY AS x(u, d, r, f, i, ci, cw, o, rs, ch, c, cs, ts, tc, n) "
	"WHERE c.user_id = x.u AND c.usage_date = x.d AND c.slot = $1 RETURNING x.n",
	.nargs = 15, .argtypes = {INT2OID, TEXTARRAYOID, DATEARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
		INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
	NUMERICARRAYOID, NUMERICARRAYOID, INT8ARRAYOID, INT8ARRAYOID}
};

static UaPlan update_org_many = {
	.sql = "UPDATE analytics.org_usage_counters AS c SET " UA_BATCH_SET
	"FROM ROWS FROM (pg_catalog.unnest($16::text[]), pg_catalog.unnest($2::text[]), "
	"pg_catalog.unnest($3::date[]), " UA_BATCH_UNNEST_DELTAS ") "
	"WITH ORDINALITY AS x(g, u, d, r, f, i, ci, cw, o, rs, ch, c, cs, ts, tc, n) "
	"WHERE c.org_id = x.g AND c.user_id = x.u AND c.usage_date = x.d AND c.slot = $1 RETURNING x.n",
	.nargs = 16, .argtypes = {INT2OID, TEXTARRAYOID, DATEARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
		INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
	NUMERICARRAYOID, NUMERICARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID}
};

/* The statements' arguments for rows [0, n). */
static void
many_args(int n, const Datum *org_ids, const Datum *user_ids, const Datum *dates,
		  const UaCounterDelta *d, Datum *v)
{
	v[0] = Int16GetDatum(UA_BACKEND_SLOT);
	v[1] = PointerGetDatum(construct_array((Datum *) user_ids, n, TEXTOID, -1, false, TYPALIGN_INT));
	v[2] = PointerGetDatum(construct_array((Datum *) dates, n, DATEOID, sizeof(DateADT), true, TYPALIGN_INT));
	v[3] = int8_array(n, d, offsetof(UaCounterDelta, requests));
	v[4] = int8_array(n, d, offsetof(UaCounterDelta, failed));
	v[5] = int8_array(n, d, offsetof(UaCounterDelta, input_tokens));
	v[6] = int8_array(n, d, offsetof(UaCounterDelta, cached_input_tokens));
	v[7] = int8_array(n, d, offsetof(UaCounterDelta, cache_write_tokens));
	v[8] = int8_array(n, d, offsetof(UaCounterDelta, output_tokens));
	v[9] = int8_array(n, d, offsetof(UaCounterDelta, reasoning_tokens));
	v[10] = int8_array(n, d, offsetof(UaCounterDelta, cache_hits));
	v[11] = numeric_array(n, d, offsetof(UaCounterDelta, cost));
	v[12] = numeric_array(n, d, offsetof(UaCounterDelta, cache_savings));
	v[13] = int8_array(n, d, offsetof(UaCounterDelta, response_time_sum));
	v[14] = int8_array(n, d, offsetof(UaCounterDelta, response_time_count));
	if (org_ids != NULL)
		v[15] = PointerGetDatum(construct_array((Datum *) org_ids, n, TEXTOID, -1, false, TYPALIGN_INT));
}

void
ua_counters_add_many(int n, const Datum *org_ids, const Datum *user_ids, const Datum *dates,
					 const UaCounterDelta *d)
{
	Datum		v[16];
	int			i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		if (d[i].pending_requests != 0 || d[i].pending_tokens != 0 || d[i].pending_cost != (Datum) 0 ||
			d[i].rejected != 0)
			elog(ERROR, "usage_analytics: ua_counters_add_many adds finished requests only");
	many_args(n, org_ids, user_ids, dates, d, v);

	/* On Citus the upsert alone (a distributed UPDATE ... FROM is another plan). */
	if (n <= UA_UPDATE_FIRST_MAX && !ua_citus())
	{
		bool	   *done = palloc0(n * sizeof(bool));
		Datum	   *orgs_left = org_ids != NULL ? palloc(n * sizeof(Datum)) : NULL;
		Datum	   *users_left = palloc(n * sizeof(Datum));
		Datum	   *dates_left = palloc(n * sizeof(Datum));
		UaCounterDelta *d_left = palloc(n * sizeof(UaCounterDelta));
		uint64		j;
		int			m = 0;

		ua_run(org_ids != NULL ? &update_org_many : &update_many, v, NULL, false, -1);
		for (j = 0; j < SPI_processed; j++)
		{
			bool		isnull;
			int64		pos = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[j], SPI_tuptable->tupdesc, 1,
														  &isnull));

			if (isnull || pos < 1 || pos > n || done[pos - 1])
				elog(ERROR, "usage_analytics: counter update returned an unexpected row");
			done[pos - 1] = true;
		}
		if (SPI_processed == (uint64) n)
			return;
		for (i = 0; i < n; i++)
			if (!done[i])
			{
				if (org_ids != NULL)
					orgs_left[m] = org_ids[i];
				users_left[m] = user_ids[i];
				dates_left[m] = dates[i];
				d_left[m] = d[i];
				m++;
			}
		n = m;
		many_args(n, orgs_left, users_left, dates_left, d_left, v);
	}
	ua_run(org_ids != NULL ? &add_org_many : &add_many, v, NULL, false, n);
}

/*
 * analytics.counters_add(user_id, usage_date, named deltas ...): the same
 * change for the extension's SQL (reservation expiry, corrections), so the
 * counter upsert is written once.  Internal: EXECUTE for the owner only.
 * Every delta must be given or defaulted; NULL is an error, never a skip.
 */
PG_FUNCTION_INFO_V1(ua_counters_add_sql);

Datum
ua_counters_add_sql(PG_FUNCTION_ARGS)
{
	UaCounterDelta d;
	int			i;

	for (i = 0; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("counters_add: argument %d must not be null", i + 1)));
	d.requests = PG_GETARG_INT64(2);
	d.failed = PG_GETARG_INT64(3);
	d.input_tokens = PG_GETARG_INT64(4);
	d.cached_input_tokens = PG_GETARG_INT64(5);
	d.cache_write_tokens = PG_GETARG_INT64(6);
	d.output_tokens = PG_GETARG_INT64(7);
	d.reasoning_tokens = PG_GETARG_INT64(8);
	d.cache_hits = PG_GETARG_INT64(9);
	d.cost = PG_GETARG_DATUM(10);
	d.cache_savings = PG_GETARG_DATUM(11);
	d.response_time_sum = PG_GETARG_INT64(12);
	d.response_time_count = PG_GETARG_INT64(13);
	d.pending_requests = PG_GETARG_INT64(14);
	d.pending_tokens = PG_GETARG_INT64(15);
	d.pending_cost = PG_GETARG_DATUM(16);
	d.rejected = PG_GETARG_INT64(17);

	SPI_connect();
	ua_counters_add(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), &d);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * analytics.org_counters_add(org_id, user_id, usage_date, named deltas ...):
 * the organization's part (pooled and member rows) for the extension's SQL.
 * Internal.
 */
PG_FUNCTION_INFO_V1(ua_org_counters_add_sql);

Datum
ua_org_counters_add_sql(PG_FUNCTION_ARGS)
{
	UaCounterDelta d;
	Datum		v[20];
	int			i;

	for (i = 0; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("org_counters_add: argument %d must not be null", i + 1)));
	d.requests = PG_GETARG_INT64(3);
	d.failed = PG_GETARG_INT64(4);
	d.input_tokens = PG_GETARG_INT64(5);
	d.cached_input_tokens = PG_GETARG_INT64(6);
	d.cache_write_tokens = PG_GETARG_INT64(7);
	d.output_tokens = PG_GETARG_INT64(8);
	d.reasoning_tokens = PG_GETARG_INT64(9);
	d.cache_hits = PG_GETARG_INT64(10);
	d.cost = PG_GETARG_DATUM(11);
	d.cache_savings = PG_GETARG_DATUM(12);
	d.response_time_sum = PG_GETARG_INT64(13);
	d.response_time_count = PG_GETARG_INT64(14);
	d.pending_requests = PG_GETARG_INT64(15);
	d.pending_tokens = PG_GETARG_INT64(16);
	d.pending_cost = PG_GETARG_DATUM(17);
	d.rejected = PG_GETARG_INT64(18);

	fill_values(v, PG_GETARG_DATUM(1), PG_GETARG_DATUM(2), &d);
	v[19] = PG_GETARG_DATUM(0);
	SPI_connect();
	ua_run(&add_org_only, v, NULL, false, 2);
	SPI_finish();
	PG_RETURN_VOID();
}
