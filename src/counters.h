/*-------------------------------------------------------------------------
 *
 * counters.h
 *	  Adding to the exact per-user, per-day counters (counters.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_COUNTERS_H
#define UA_COUNTERS_H

#include "usage_analytics.h"

typedef struct UaCounterDelta
{
	int64		requests;
	int64		failed;
	int64		input_tokens;
	int64		cached_input_tokens;
	int64		cache_write_tokens;
	int64		output_tokens;
	int64		reasoning_tokens;
	int64		cache_hits;
	Datum		cost;			/* numeric; 0 when (Datum) 0 */
	Datum		cache_savings;	/* numeric; 0 when (Datum) 0 */
	int64		response_time_sum;
	int64		response_time_count;
	int64		pending_requests;
	int64		pending_tokens;
	Datum		pending_cost;	/* numeric; 0 when (Datum) 0 */
	int64		rejected;
} UaCounterDelta;

/*
 * The counter upsert's column list and conflict clause (target aliased c),
 * shared by ua_counters_add and the write path's one-statement insert.
 */
#define UA_COUNTERS_INSERT \
	"INSERT INTO analytics.usage_counters AS c (user_id, usage_date, slot, requests, failed, " \
	"  input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, " \
	"  cache_hits, cost, cache_savings, response_time_sum, response_time_count, " \
	"  pending_requests, pending_tokens, pending_cost, rejected) "
#define UA_COUNTERS_ON_CONFLICT \
	"ON CONFLICT (user_id, usage_date, slot) DO UPDATE SET " \
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

/* Add delta to (user_id, usage_date) in this backend's slot.  SPI connected. */
extern void ua_counters_add(Datum user_id, Datum usage_date, const UaCounterDelta *delta);

#endif							/* UA_COUNTERS_H */
