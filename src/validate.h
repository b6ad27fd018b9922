/*-------------------------------------------------------------------------
 *
 * validate.h
 *	  Argument checks shared by the SQL-callable functions.  Each raises an
 *	  ERROR with a specific SQLSTATE naming the argument; none writes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_VALIDATE_H
#define UA_VALIDATE_H

#include "usage_analytics.h"

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
