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
#define UA_MAX_SECTIONS			1000	/* sections_referenced elements */
#define UA_MAX_COST				1000000	/* USD per request */
#define UA_FUTURE_SKEW_SECS		300		/* occurred_at may be this far ahead */

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
extern void ua_check_metadata(FunctionCallInfo fcinfo, int argno);

#endif							/* UA_VALIDATE_H */
