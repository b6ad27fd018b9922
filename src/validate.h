/*-------------------------------------------------------------------------
 *
 * validate.h
 *	  Argument checks shared by the SQL-callable functions.  Each raises an
 *	  ERROR with a specific SQLSTATE naming the argument; none writes.
 *	  The limits they check (validate.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_VALIDATE_H
#define UA_VALIDATE_H

#include "fmgr.h"

/* Validation limits: one place, mirrored by the CHECK constraints. */
#define UA_MAX_TOKENS			100000000	/* per ledger bucket and request */
#define UA_MAX_DURATION_MS		86400000	/* one day */
#define UA_MAX_INTERMEDIATE		100000
#define UA_MAX_ID_BYTES			256		/* user, org, conversation ... ids */
#define UA_MAX_NAME_BYTES		128		/* model, provider, category ... */
#define UA_MAX_MESSAGE_BYTES	8192	/* error_message */
#define UA_MAX_AGENT_BYTES		1024	/* user_agent */
#define UA_MAX_TEXT_CHARS		100000000	/* user_query_length, ai_response_length */
#define UA_MAX_SECTIONS			1000	/* sections_referenced elements */
#define UA_MAX_COST				1000000	/* USD per request */
#define UA_FUTURE_SKEW_SECS		300		/* occurred_at may be this far ahead */

/*
 * Every check treats an argument the call does not have (a trailing one a
 * newer SQL declaration adds) as NULL.
 */
#define UA_ARG_NULL(fcinfo, argno) ((argno) >= PG_NARGS() || PG_ARGISNULL(argno))

extern bool ua_check_text(FunctionCallInfo fcinfo, int argno, const char *name,
						  int maxbytes, bool required);

/* A text argument and its limits, for ua_check_text_args. */
typedef struct UaTextArg
{
	int			argno;
	const char *name;
	int			maxbytes;
	bool		required;
} UaTextArg;

extern void ua_check_text_args(FunctionCallInfo fcinfo, const UaTextArg *args, int nargs);
extern int64 ua_check_count(FunctionCallInfo fcinfo, int argno, const char *name,
							int64 max, int64 if_null);
extern int64 ua_arg_duration(FunctionCallInfo fcinfo, int argno, const char *name,
							 int64 max, int64 if_null);
extern Datum ua_arg_cost(FunctionCallInfo fcinfo, int argno, bool *isnull);
extern void ua_check_cost(Datum cost);

/*
 * The token ledger of one request (SPEC §2: disjoint buckets, reasoning
 * part of output) and its cost, from a function's arguments: the one
 * check of them, for the write path, settlement and (through
 * analytics.check_ledger) corrections.  A NULL count is 0; a NULL cost
 * stays NULL (priced later).
 */
typedef struct UaLedgerArgs
{
	int64		input;
	int64		cached;
	int64		write;
	int64		output;
	int64		reasoning;
	Datum		cost;			/* numeric, when !cost_null */
	bool		cost_null;
} UaLedgerArgs;

/* Argument numbers, in this order: input, cached, write, output, reasoning, cost. */
#define UA_LEDGER_NARGS 6
extern void ua_check_ledger(FunctionCallInfo fcinfo, const int argno[UA_LEDGER_NARGS],
							UaLedgerArgs *ledger);
extern void ua_check_metadata(FunctionCallInfo fcinfo, int argno);

#endif							/* UA_VALIDATE_H */
