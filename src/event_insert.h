/*-------------------------------------------------------------------------
 *
 * event_insert.h
 *	  Inserting one finished request into analytics.chat_events, or one API
 *	  request into analytics.api_requests (event_insert.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_EVENT_INSERT_H
#define UA_EVENT_INSERT_H

#include "fmgr.h"

/*
 * The columns the write path and admission set, in the order of the values
 * passed to ua_event_insert().  Every other column gets its default.
 */
typedef enum UaEventColumn
{
	EV_ID,
	EV_OCCURRED_AT, EV_USAGE_DATE, EV_USER_ID, EV_ORG_ID, EV_CONVERSATION_ID,
	EV_MESSAGE_ID, EV_DOCUMENT_ID, EV_SESSION_ID, EV_REQUEST_ID, EV_PROVIDER,
	EV_MODEL, EV_REQUEST_TYPE, EV_CATEGORY, EV_QUERY_INTENT, EV_STATUS,
	EV_INPUT_TOKENS, EV_CACHED_INPUT_TOKENS, EV_CACHE_WRITE_TOKENS,
	EV_OUTPUT_TOKENS, EV_REASONING_TOKENS, EV_COST, EV_COST_INPUT,
	EV_COST_CACHED_INPUT, EV_COST_CACHE_WRITE, EV_COST_OUTPUT,
	EV_CACHE_SAVINGS, EV_COST_SOURCE, EV_RESPONSE_TIME_MS,
	EV_TIME_TO_FIRST_TOKEN_MS, EV_CACHE_HIT, EV_ERROR_CODE, EV_ERROR_MESSAGE,
	EV_SECTIONS_REFERENCED, EV_INTERMEDIATE_STEPS, EV_METADATA,
	EV_RECORDED_XID, EV_RESERVED_TOKENS, EV_RESERVED_COST,
	/* Columns the 1.1 SQL adds: a 1.0 table lacks them, and nothing sets them then. */
	EV_PRICED_MODEL, EV_MODEL_VERSION, EV_USER_QUERY_LENGTH, EV_AI_RESPONSE_LENGTH,
	EV_COMPLEXITY, EV_IP_ADDRESS, EV_USER_AGENT,
	EV_NCOLUMNS
} UaEventColumn;

/*
 * One event: a value, NULL or the column's default for each column.
 */
typedef struct UaEventRow
{
	Datum		values[EV_NCOLUMNS];
	bool		nulls[EV_NCOLUMNS];
	bool		defaults[EV_NCOLUMNS];	/* true: the column default */
} UaEventRow;

/* A row of defaults only, to fill in. */
extern void ua_event_row_init(UaEventRow *row);

/* A column taken as is from an argument of the SQL function. */
typedef struct UaEventArg
{
	UaEventColumn column;
	int			argno;
} UaEventArg;

/* Set each column of map to its argument of the call (NULL if it is NULL). */
extern void ua_event_row_args(UaEventRow *row, FunctionCallInfo fcinfo, const UaEventArg *map,
							  int n);

/*
 * The same for trailing arguments a newer SQL declaration adds: a column is
 * set only when the call has its argument and it is not NULL.
 */
extern void ua_event_row_optional_args(UaEventRow *row, FunctionCallInfo fcinfo,
									   const UaEventArg *map, int n);

/* Set column col to a value. */
extern void ua_event_row_set(UaEventRow *row, UaEventColumn col, Datum value);

/*
 * Insert the event; returns its id.  Runs with the caller's rights (the
 * extension owner's, inside a SECURITY DEFINER function), SPI connected.
 */
extern int64 ua_event_insert(const UaEventRow *row);

/*
 * Insert n events the way COPY does (buffered per partition,
 * table_multi_insert); ids[i] gets the id of rows[i].  SPI connected,
 * owner's rights.
 */
extern void ua_event_insert_batch(const UaEventRow *rows, int n, int64 *ids);

/*
 * The columns of analytics.api_requests that record_api_request sets
 * (api_request.c); every other column gets its default.
 */
typedef enum UaApiColumn
{
	API_ID, API_ORG_ID, API_OCCURRED_AT, API_ENDPOINT, API_METHOD, API_STATUS_CODE,
	API_RESPONSE_TIME_MS, API_CACHED, API_WIDGET_ID, API_BILLABLE_UNITS, API_API_KEY_ID,
	API_USER_ID, API_REQUEST_ID, API_ORIGIN, API_COUNTRY_CODE, API_IP_ADDRESS, API_USER_AGENT,
	API_METADATA, API_RECORDED_XID,
	API_NCOLUMNS
} UaApiColumn;

/* One API request: a value, NULL or the column's default for each column. */
typedef struct UaApiRow
{
	Datum		values[API_NCOLUMNS];
	bool		nulls[API_NCOLUMNS];
	bool		defaults[API_NCOLUMNS];
} UaApiRow;

/* A row of defaults only; set a column to a value or NULL. */
extern void ua_api_row_init(UaApiRow *row);
extern void ua_api_row_set(UaApiRow *row, UaApiColumn col, Datum value, bool isnull);

/* Insert the API request, as ua_event_insert does an event; returns its id. */
extern int64 ua_api_insert(const UaApiRow *row);

/* Set up the relcache callback; from _PG_init. */
extern void ua_event_insert_init(void);

#endif							/* UA_EVENT_INSERT_H */
