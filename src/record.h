/*-------------------------------------------------------------------------
 *
 * record.h
 *	  The write path of one finished request, in parts the single call
 *	  (record.c) and the batch (record_batch.c) share: the argument checks,
 *	  the cost, the event row and its counter delta.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_RECORD_H
#define UA_RECORD_H

#include "fmgr.h"
#include "datatype/timestamp.h"
#include "counters.h"
#include "event_insert.h"
#include "subject.h"
#include "validate.h"

/* Argument positions of analytics.record_chat_event(). */
enum
{
	A_USER_ID, A_MODEL, A_PROVIDER, A_INPUT, A_CACHED, A_WRITE, A_OUTPUT,
	A_REASONING, A_COST, A_RESPONSE_MS, A_TTFT_MS, A_STATUS, A_ERROR_CODE,
	A_ERROR_MESSAGE, A_REQUEST_ID, A_OCCURRED_AT, A_ORG_ID, A_CONVERSATION_ID,
	A_MESSAGE_ID, A_DOCUMENT_ID, A_SESSION_ID, A_REQUEST_TYPE, A_CATEGORY,
	A_QUERY_INTENT, A_CACHE_HIT, A_SECTIONS, A_STEPS, A_METADATA,
	/* 1.1 */
	A_MODEL_VERSION, A_QUERY_LENGTH, A_RESPONSE_LENGTH, A_COMPLEXITY, A_IP_ADDRESS,
	A_USER_AGENT,
	UA_RECORD_NARGS
};

/* The validated request: token ledger, cost, latencies, time, status. */
typedef struct UaRecordArgs
{
	UaLedgerArgs t;				/* tokens and cost */
	int64		response_ms;	/* rounded; -1 when NULL */
	int64		ttft_ms;
	int64		query_length;	/* characters; -1 when NULL */
	int64		response_length;
	TimestampTz occurred_at;	/* the transaction's start when NULL */
	bool		failed;
	bool		cache_hit;
} UaRecordArgs;

/* The cost and provider of the event, from the price book or as given. */
typedef struct UaRecordCost
{
	Datum		provider;
	bool		provider_null;
	Datum		cost;			/* numeric */
	Datum		cost_part[4];
	bool		parts_null;		/* cost provided: no parts, no savings */
	Datum		savings;
	Datum		priced_model;	/* the price-book model, if renamed; else 0 */
} UaRecordCost;

/* Check every argument (ERROR naming it) and derive the rest. */
extern void ua_record_check(FunctionCallInfo fcinfo, UaRecordArgs *a);

/*
 * The cost from the prices found (ua_price_request; found of them): the
 * unknown-model and two-provider errors when no cost was given.
 */
extern void ua_record_cost(FunctionCallInfo fcinfo, const UaRecordArgs *a,
						   const UaPrice *prices, int found, UaRecordCost *c);

/* The event row (event_id 0: drawn at insert). */
extern void ua_record_row(FunctionCallInfo fcinfo, const UaRecordArgs *a, const UaRecordCost *c,
						  Datum usage_date, Datum event_id, UaEventRow *row);

/* The event's counter delta. */
extern void ua_record_delta(const UaRecordArgs *a, const UaRecordCost *c, UaCounterDelta *d);

#endif							/* UA_RECORD_H */
