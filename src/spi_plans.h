/*-------------------------------------------------------------------------
 *
 * spi_plans.h
 *	  SPI statements prepared once per backend and kept, and the switch to
 *	  the function owner's rights (spi_plans.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_SPI_PLANS_H
#define UA_SPI_PLANS_H

#include "executor/spi.h"
#include "fmgr.h"

/* A statement, prepared on first use (argtypes: at most 40 parameters). */
typedef struct UaPlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[40];
	SPIPlanPtr	plan;
} UaPlan;

extern SPIPlanPtr ua_plan(UaPlan *p);
extern void ua_run(UaPlan *p, Datum *values, const char *nulls, bool read_only,
				   int expected);
extern void ua_run_internal_write(UaPlan *p, Datum *values, const char *nulls, int expected);

/* The user and security context to return to after ua_become_function_owner. */
typedef struct UaSavedUser
{
	Oid			userid;
	int			sec_context;
} UaSavedUser;

extern void ua_become_function_owner(FunctionCallInfo fcinfo, UaSavedUser *saved);
extern void ua_restore_user(const UaSavedUser *saved);

#endif							/* UA_SPI_PLANS_H */
