/*-------------------------------------------------------------------------
 *
 * counters.h
 *	  Adding to the exact per-user, per-day counters (counters.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_COUNTERS_H
#define UA_COUNTERS_H

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

/* Add delta to (user_id, usage_date) in this backend's slot.  SPI connected. */
extern void ua_counters_add(Datum user_id, Datum usage_date, const UaCounterDelta *delta);

/*
 * A request with org_id: the same to the user's counter, plus the
 * organization's pooled and member rows (org_usage_counters), in one
 * statement.  SPI connected.
 */
extern void ua_counters_add_org(Datum org_id, Datum user_id, Datum usage_date,
								const UaCounterDelta *delta);

/*
 * n rows in one statement (the batch): org_ids NULL for usage_counters
 * (user_ids, dates), else org_usage_counters (org_ids, user_ids -- '' for
 * the pooled row --, dates).  Keys distinct; finished requests only (no
 * pending or rejected deltas).  SPI connected.
 */
extern void ua_counters_add_many(int n, const Datum *org_ids, const Datum *user_ids,
								 const Datum *dates, const UaCounterDelta *d);

#endif							/* UA_COUNTERS_H */
