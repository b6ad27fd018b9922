/*-------------------------------------------------------------------------
 *
 * record.c
 *	  The write path: analytics.record_chat_event(), one finished request.
 *
 *	  1. Validate every argument (nothing is written before all pass).
 *	  2. Claim the idempotency key (user_id, request_id), if given: a repeat
 *	     returns the first event's id.  ON CONFLICT waits for a concurrent
 *	     holder of the key, so a retry racing the original counts once
 *	     (request_keys.c).
 *	  3. Look up the user's time zone (day bucket), the price in force (of
 *	     the model as sent, an alias or its normalised name; the event
 *	     keeps the name as sent and, if another, the priced one in
 *	     priced_model) and, when notifications are on, the user's quota
 *	     snapshot: index scans, no statement (subject.c).
 *	  4. Insert the event, stamped with its top transaction id (the fold's
 *	     watermark, see analytics.fold()), without a statement
 *	     (event_insert.c), and add it to the user's day counter (this
 *	     backend's slot, see counters.c: no waits, no deadlocks).
 *	  5. Record and announce any usage threshold now reached (notify.c),
 *	     from the quota snapshot read with the context in step 3 plus this
 *	     event: no extra query.
 *
 *	  Runs as SECURITY DEFINER with search_path pinned in the catalog;
 *	  statements are prepared once per backend (spi_plans.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "counters.h"
#include "event_insert.h"
#include "guc.h"
#include "notify.h"
#include "quota.h"
#include "record.h"
#include "scan.h"
#include "request_keys.h"
#include "spi_plans.h"
#include "subject.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(ua_record_chat_event);

/* Text arguments and their limits. */
static const UaTextArg text_args[] =
{
	{A_USER_ID, "user_id", UA_MAX_ID_BYTES, true},
	{A_MODEL, "model", UA_MAX_NAME_BYTES, true},
	{A_PROVIDER, "provider", UA_MAX_NAME_BYTES, false},
	{A_STATUS, "status", UA_MAX_NAME_BYTES, false},
	{A_ERROR_CODE, "error_code", UA_MAX_NAME_BYTES, false},
	{A_ERROR_MESSAGE, "error_message", UA_MAX_MESSAGE_BYTES, false},
	{A_REQUEST_ID, "request_id", UA_MAX_ID_BYTES, false},
	{A_ORG_ID, "org_id", UA_MAX_ID_BYTES, false},
	{A_CONVERSATION_ID, "conversation_id", UA_MAX_ID_BYTES, false},
	{A_MESSAGE_ID, "message_id", UA_MAX_ID_BYTES, false},
	{A_DOCUMENT_ID, "document_id", UA_MAX_ID_BYTES, false},
	{A_SESSION_ID, "session_id", UA_MAX_ID_BYTES, false},
	{A_REQUEST_TYPE, "request_type", UA_MAX_NAME_BYTES, false},
	{A_CATEGORY, "category", UA_MAX_NAME_BYTES, false},
	{A_QUERY_INTENT, "query_intent", UA_MAX_NAME_BYTES, false},
	{A_MODEL_VERSION, "model_version", UA_MAX_NAME_BYTES, false},
	{A_COMPLEXITY, "complexity", UA_MAX_NAME_BYTES, false},
	{A_USER_AGENT, "user_agent", UA_MAX_AGENT_BYTES, false},
};

/* Event columns copied from the arguments. */
static const UaEventArg event_args[] =
{
	{EV_USER_ID, A_USER_ID}, {EV_ORG_ID, A_ORG_ID}, {EV_CONVERSATION_ID, A_CONVERSATION_ID},
	{EV_MESSAGE_ID, A_MESSAGE_ID}, {EV_DOCUMENT_ID, A_DOCUMENT_ID}, {EV_SESSION_ID, A_SESSION_ID},
	{EV_REQUEST_ID, A_REQUEST_ID}, {EV_MODEL, A_MODEL}, {EV_REQUEST_TYPE, A_REQUEST_TYPE},
	{EV_CATEGORY, A_CATEGORY}, {EV_QUERY_INTENT, A_QUERY_INTENT}, {EV_ERROR_CODE, A_ERROR_CODE},
	{EV_ERROR_MESSAGE, A_ERROR_MESSAGE}, {EV_SECTIONS_REFERENCED, A_SECTIONS},
	{EV_METADATA, A_METADATA}
};

/* Event columns of the arguments 1.1 adds (absent under the 1.0 SQL). */
static const UaEventArg optional_event_args[] =
{
	{EV_MODEL_VERSION, A_MODEL_VERSION}, {EV_COMPLEXITY, A_COMPLEXITY},
	{EV_IP_ADDRESS, A_IP_ADDRESS}, {EV_USER_AGENT, A_USER_AGENT}
};

static const int ledger_args[UA_LEDGER_NARGS] = {A_INPUT, A_CACHED, A_WRITE, A_OUTPUT, A_REASONING, A_COST};

void
ua_record_check(FunctionCallInfo fcinfo, UaRecordArgs *ledger)
{
	ua_check_text_args(fcinfo, text_args, lengthof(text_args));

	ua_check_ledger(fcinfo, ledger_args, &ledger->t);

	ledger->response_ms = ua_arg_duration(fcinfo, A_RESPONSE_MS, "response_time_ms", UA_MAX_DURATION_MS, -1);
	ledger->ttft_ms = ua_arg_duration(fcinfo, A_TTFT_MS, "time_to_first_token_ms", UA_MAX_DURATION_MS, -1);
	if (ledger->response_ms >= 0 && ledger->ttft_ms > ledger->response_ms)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_to_first_token_ms must not exceed response_time_ms")));
	ua_check_count(fcinfo, A_STEPS, "intermediate_steps", UA_MAX_INTERMEDIATE, 0);
	ledger->query_length = ua_check_count(fcinfo, A_QUERY_LENGTH, "user_query_length", UA_MAX_TEXT_CHARS, -1);
	ledger->response_length = ua_check_count(fcinfo, A_RESPONSE_LENGTH, "ai_response_length", UA_MAX_TEXT_CHARS, -1);

	if (!PG_ARGISNULL(A_STATUS))
	{
		char	   *status = text_to_cstring(PG_GETARG_TEXT_PP(A_STATUS));

		if (strcmp(status, "completed") != 0 && strcmp(status, "failed") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("status must be \"completed\" or \"failed\", not \"%s\"", status),
					 errhint("record_chat_event records finished requests.")));
	}

	if (!PG_ARGISNULL(A_OCCURRED_AT))
	{
		TimestampTz ts = PG_GETARG_TIMESTAMPTZ(A_OCCURRED_AT);

		if (TIMESTAMP_NOT_FINITE(ts))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("occurred_at must be a finite timestamp")));
		if (ts > GetCurrentTimestamp() + (int64) UA_FUTURE_SKEW_SECS * USECS_PER_SEC)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("occurred_at is in the future"),
					 errdetail("Events may be at most %d seconds ahead of the server clock.",
							   UA_FUTURE_SKEW_SECS)));
	}

	if (!PG_ARGISNULL(A_SECTIONS))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(A_SECTIONS);
		int			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));

		if (ARR_NDIM(a) > 1 || n > UA_MAX_SECTIONS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("sections_referenced must be a one-dimensional array of at most %d elements",
							UA_MAX_SECTIONS)));
	}

	ua_check_metadata(fcinfo, A_METADATA);

	ledger->occurred_at = PG_ARGISNULL(A_OCCURRED_AT) ? GetCurrentTransactionStartTimestamp()
		: PG_GETARG_TIMESTAMPTZ(A_OCCURRED_AT);
	ledger->failed = !PG_ARGISNULL(A_STATUS) &&
		strcmp(text_to_cstring(PG_GETARG_TEXT_PP(A_STATUS)), "failed") == 0;
	ledger->cache_hit = PG_ARGISNULL(A_CACHE_HIT) ? ledger->t.cached > 0 : PG_GETARG_BOOL(A_CACHE_HIT);
}

void
ua_record_cost(FunctionCallInfo fcinfo, const UaRecordArgs *ledger, const UaPrice *prices,
			   int found, UaRecordCost *c)
{
	int			i;

	c->provider = found > 0 ? prices[0].provider : (Datum) 0;
	c->provider_null = found == 0;
	c->parts_null = true;
	c->savings = (Datum) 0;
	c->priced_model = (Datum) 0;
	if (ledger->t.cost_null)
	{
		if (found == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("unknown model \"%s\"", text_to_cstring(PG_GETARG_TEXT_PP(A_MODEL))),
					 PG_ARGISNULL(A_PROVIDER) ? 0 :
					 errdetail("No price for provider \"%s\" in force at that time.",
							   text_to_cstring(PG_GETARG_TEXT_PP(A_PROVIDER))),
					 errhint("Add its prices to analytics.model_prices, or pass cost.")));
		if (found > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model \"%s\" is priced under more than one provider",
							text_to_cstring(PG_GETARG_TEXT_PP(A_MODEL))),
					 errhint("Pass provider.")));
		c->cost_part[0] = prices[0].cost_input;
		c->cost_part[1] = prices[0].cost_cached_input;
		c->cost_part[2] = prices[0].cost_cache_write;
		c->cost_part[3] = prices[0].cost_output;
		c->cost = DirectFunctionCall1(int8_numeric, Int64GetDatum(0));
		for (i = 0; i < 4; i++)
			c->cost = DirectFunctionCall2(numeric_add, c->cost, c->cost_part[i]);
		c->savings = prices[0].cache_savings;
		c->parts_null = false;
		c->priced_model = prices[0].renamed ? prices[0].model : (Datum) 0;
	}
	else
	{
		c->cost = ledger->t.cost;
		/* Fill in the provider only when the price book is unambiguous. */
		if (!PG_ARGISNULL(A_PROVIDER) || found != 1)
		{
			c->provider = PG_ARGISNULL(A_PROVIDER) ? (Datum) 0 : PG_GETARG_DATUM(A_PROVIDER);
			c->provider_null = PG_ARGISNULL(A_PROVIDER);
		}
	}
}

void
ua_record_row(FunctionCallInfo fcinfo, const UaRecordArgs *ledger, const UaRecordCost *c,
			  Datum usage_date, Datum event_id, UaEventRow *row)
{
	int			i;

	ua_event_row_init(row);
	if (event_id != (Datum) 0)
		ua_event_row_set(row, EV_ID, event_id);
	ua_event_row_set(row, EV_OCCURRED_AT, TimestampTzGetDatum(ledger->occurred_at));
	ua_event_row_set(row, EV_USAGE_DATE, usage_date);
	ua_event_row_args(row, fcinfo, event_args, lengthof(event_args));
	ua_event_row_optional_args(row, fcinfo, optional_event_args, lengthof(optional_event_args));
	if (ledger->query_length >= 0)
		ua_event_row_set(row, EV_USER_QUERY_LENGTH, Int32GetDatum((int32) ledger->query_length));
	if (ledger->response_length >= 0)
		ua_event_row_set(row, EV_AI_RESPONSE_LENGTH, Int32GetDatum((int32) ledger->response_length));
	ua_event_row_set(row, EV_PROVIDER, c->provider);
	row->nulls[EV_PROVIDER] = c->provider_null;
	ua_event_row_set(row, EV_STATUS, CStringGetTextDatum(ledger->failed ? "failed" : "completed"));
	ua_event_row_set(row, EV_INPUT_TOKENS, Int32GetDatum((int32) ledger->t.input));
	ua_event_row_set(row, EV_CACHED_INPUT_TOKENS, Int32GetDatum((int32) ledger->t.cached));
	ua_event_row_set(row, EV_CACHE_WRITE_TOKENS, Int32GetDatum((int32) ledger->t.write));
	ua_event_row_set(row, EV_OUTPUT_TOKENS, Int32GetDatum((int32) ledger->t.output));
	ua_event_row_set(row, EV_REASONING_TOKENS, Int32GetDatum((int32) ledger->t.reasoning));
	ua_event_row_set(row, EV_COST, c->cost);
	for (i = 0; i < 4; i++)
	{
		ua_event_row_set(row, EV_COST_INPUT + i, c->parts_null ? (Datum) 0 : c->cost_part[i]);
		row->nulls[EV_COST_INPUT + i] = c->parts_null;
	}
	ua_event_row_set(row, EV_CACHE_SAVINGS, c->savings);
	row->nulls[EV_CACHE_SAVINGS] = c->parts_null;
	ua_event_row_set(row, EV_COST_SOURCE, CStringGetTextDatum(c->parts_null ? "provided" : "computed"));
	if (c->priced_model != (Datum) 0)
		ua_event_row_set(row, EV_PRICED_MODEL, c->priced_model);
	if (ledger->response_ms >= 0)
		ua_event_row_set(row, EV_RESPONSE_TIME_MS, Int32GetDatum((int32) ledger->response_ms));
	if (ledger->ttft_ms >= 0)
		ua_event_row_set(row, EV_TIME_TO_FIRST_TOKEN_MS, Int32GetDatum((int32) ledger->ttft_ms));
	ua_event_row_set(row, EV_CACHE_HIT, BoolGetDatum(ledger->cache_hit));
	if (!PG_ARGISNULL(A_STEPS))
		ua_event_row_set(row, EV_INTERMEDIATE_STEPS, Int32GetDatum((int32) PG_GETARG_INT64(A_STEPS)));
	/* An event already past payload retention never stores its free text. */
	if (ua_payload_retention_days > 0 &&
		ledger->occurred_at < GetCurrentTransactionStartTimestamp() - (TimestampTz) ua_payload_retention_days * USECS_PER_DAY)
	{
		row->nulls[EV_ERROR_MESSAGE] = true;
		row->nulls[EV_METADATA] = true;
		row->nulls[EV_IP_ADDRESS] = true;
		row->nulls[EV_USER_AGENT] = true;
	}
	/* The fold's watermark: every event carries its top transaction id. */
	ua_event_row_set(row, EV_RECORDED_XID,
					 Int64GetDatum((int64) U64FromFullTransactionId(GetTopFullTransactionId())));
}

void
ua_record_delta(const UaRecordArgs *ledger, const UaRecordCost *c, UaCounterDelta *d)
{
	memset(d, 0, sizeof(*d));
	d->requests = 1;
	d->failed = ledger->failed ? 1 : 0;
	d->input_tokens = ledger->t.input;
	d->cached_input_tokens = ledger->t.cached;
	d->cache_write_tokens = ledger->t.write;
	d->output_tokens = ledger->t.output;
	d->reasoning_tokens = ledger->t.reasoning;
	d->cache_hits = ledger->cache_hit ? 1 : 0;
	d->cost = c->cost;
	d->cache_savings = c->parts_null ? (Datum) 0 : c->savings;
	d->response_time_sum = ledger->response_ms >= 0 ? ledger->response_ms : 0;
	d->response_time_count = ledger->response_ms >= 0 ? 1 : 0;
}

Datum
ua_record_chat_event(PG_FUNCTION_ARGS)
{
	UaRecordArgs ledger;
	UaRecordCost cost;
	UaEventRow	row;
	Datum		event_id = (Datum) 0;
	Datum		usage_date;
	UaQuota		quota;
	bool		in_org = false;
	UaOrg		org = {0};
	TimestampTz occurred_at;

	ua_record_check(fcinfo, &ledger);
	occurred_at = ledger.occurred_at;

	SPI_connect();

	/* Idempotency: claim the key, or return the event that holds it. */
	if (!PG_ARGISNULL(A_REQUEST_ID))
	{
		if (!ua_claim_request_key(PG_GETARG_DATUM(A_USER_ID), PG_GETARG_DATUM(A_REQUEST_ID),
								  occurred_at, &event_id))
		{
			SPI_finish();
			PG_RETURN_DATUM(event_id);
		}
	}

	/* Day bucket and price, read with a snapshot that sees this
	 * transaction's earlier events (a batch, or a multi-row SELECT). */
	{
		Snapshot	snap = ua_begin_read(true);
		UaSubject	subject;
		UaPrice		prices[2];
		int			found;

		/*
		 * A request with org_id is the organization's: its day is the
		 * organization's, and it counts in the organization's counters
		 * (also for an org_id that is not, or not yet, an organization,
		 * and for a user who is not a member: usage that happened is
		 * recorded, never refused).
		 */
		in_org = !PG_ARGISNULL(A_ORG_ID) && ua_orgs_enabled();
		if (in_org)
		{
			ua_org_lookup(PG_GETARG_DATUM(A_ORG_ID), snap, &org);
			ua_org_subject_at(PG_GETARG_DATUM(A_ORG_ID), &org, occurred_at, snap, &subject);
		}
		else
			ua_subject_at(PG_GETARG_DATUM(A_USER_ID), occurred_at, snap, &subject);
		usage_date = DateADTGetDatum(ua_local_date(subject.time_zone, occurred_at));
		found = ua_price_request(PG_GETARG_DATUM(A_MODEL),
								 PG_ARGISNULL(A_PROVIDER) ? (Datum) 0 : PG_GETARG_DATUM(A_PROVIDER),
								 occurred_at, ledger.t.input, ledger.t.cached, ledger.t.write, ledger.t.output,
								 snap, prices);
		ua_record_cost(fcinfo, &ledger, prices, found, &cost);

		/* The quota as it will be once this event is counted. */
		if (ua_notify_enabled && in_org)
		{
			UaUsageAdd	add = {usage_date, 1,
				ledger.t.input + ledger.t.cached + ledger.t.write + ledger.t.output, cost.cost};
			UaSnapshot	usage;
			TimestampTz now = GetCurrentTransactionStartTimestamp();

			/* Only an organization's plan notifies (not an unknown org_id's). */
			if (org.found)
			{
				if (occurred_at != now)
					ua_org_subject_at(PG_GETARG_DATUM(A_ORG_ID), &org, now, snap, &subject);
				ua_org_usage_snapshot(PG_GETARG_DATUM(A_ORG_ID), PG_GETARG_DATUM(A_USER_ID), now,
									  &subject, NULL, snap, &usage);
				ua_quota_from_snapshot(&usage, 0, DirectFunctionCall1(int8_numeric, Int64GetDatum(0)),
									   &add, CurrentMemoryContext, &quota);
			}
		}
		else if (ua_notify_enabled)
		{
			UaUsageAdd	add = {usage_date, 1,
				ledger.t.input + ledger.t.cached + ledger.t.write + ledger.t.output, cost.cost};
			UaSnapshot	usage;
			TimestampTz now = GetCurrentTransactionStartTimestamp();

			/* The quota is the current period's: the subject read above if
			 * the event is of now (the usual case). */
			ua_usage_snapshot(PG_GETARG_DATUM(A_USER_ID), now,
							  occurred_at == now ? &subject : NULL, snap, &usage);
			ua_quota_from_snapshot(&usage, 0, DirectFunctionCall1(int8_numeric, Int64GetDatum(0)),
								   &add, CurrentMemoryContext, &quota);
		}
		ua_end_read(true);
	}

	/* The event. */
	ua_record_row(fcinfo, &ledger, &cost, usage_date, event_id, &row);
	event_id = Int64GetDatum(ua_event_insert(&row));

	/* Its counter, last: this backend's slot (counters.c). */
	{
		UaCounterDelta d;

		ua_record_delta(&ledger, &cost, &d);
		if (in_org)
			ua_counters_add_org(PG_GETARG_DATUM(A_ORG_ID), PG_GETARG_DATUM(A_USER_ID), usage_date, &d);
		else
			ua_counters_add(PG_GETARG_DATUM(A_USER_ID), usage_date, &d);
	}
	if (ua_notify_enabled && in_org && org.found)
		ua_notify_org_thresholds(PG_GETARG_DATUM(A_ORG_ID), &quota);
	else if (ua_notify_enabled && !in_org)
		ua_notify_thresholds(PG_GETARG_DATUM(A_USER_ID), &quota);

	SPI_finish();
	PG_RETURN_DATUM(event_id);
}
