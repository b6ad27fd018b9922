/*-------------------------------------------------------------------------
 *
 * request_keys.c
 *	  Idempotency keys: analytics.request_keys maps (user_id, request_id)
 *	  to the event that request made, so a retry of record_chat_event or
 *	  start_request returns the first event's id, and complete_request
 *	  finds an event by the caller's request id.
 *
 *	  Claiming inserts the key with a new event id; ON CONFLICT waits for a
 *	  concurrent holder of the key, so a retry racing the original counts
 *	  once.  SPI connected, with the owner's rights.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/timestamp.h"
#include "request_keys.h"
#include "spi_plans.h"

static UaPlan claim_key = {
	.sql = "INSERT INTO analytics.request_keys AS k (user_id, request_id, event_id, occurred_at) "
	"VALUES ($1, $2, pg_catalog.nextval('analytics.chat_events_id_seq'), $3) "
	"ON CONFLICT (user_id, request_id) DO NOTHING RETURNING k.event_id",
	.nargs = 3, .argtypes = {TEXTOID, TEXTOID, TIMESTAMPTZOID}
};

/*
 * Run with read_only = false: in READ COMMITTED that takes a new snapshot,
 * which sees the key of the transaction ON CONFLICT waited for.
 */
static UaPlan find_key = {
	.sql = "SELECT k.event_id FROM analytics.request_keys k "
	"WHERE k.user_id = $1 AND k.request_id = $2",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

/*
 * The event holding the key (user_id, request_id): true and its id, or
 * false.  Reads with a fresh snapshot.  SPI connected, owner's rights.
 */
bool
ua_find_request_key(Datum user_id, Datum request_id, Datum *event_id)
{
	Datum		kv[2] = {user_id, request_id};
	bool		isnull;

	ua_run(&find_key, kv, NULL, false, -1);
	if (SPI_processed == 0)
		return false;
	*event_id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return true;
}

/*
 * Claim the idempotency key (user_id, request_id) for a new event: true and
 * the new event's id, or false and the id of the event that holds it.  A
 * concurrent holder is waited for.  SPI connected, owner's rights.
 */
bool
ua_claim_request_key(Datum user_id, Datum request_id, TimestampTz at, Datum *event_id)
{
	Datum		kv[3] = {user_id, request_id, TimestampTzGetDatum(at)};
	bool		isnull;

	ua_run(&claim_key, kv, NULL, false, -1);
	if (SPI_processed == 1)
	{
		*event_id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		return true;
	}
	if (!ua_find_request_key(user_id, request_id, event_id))
		elog(ERROR, "usage_analytics: idempotency key vanished");
	return false;
}
