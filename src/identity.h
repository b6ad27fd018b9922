/*-------------------------------------------------------------------------
 *
 * identity.h
 *	  The end user this session acts for (identity.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_IDENTITY_H
#define UA_IDENTITY_H

/* The user id of analytics.current_user_id(), or NULL: none. */
extern char *ua_identity(void);

#endif							/* UA_IDENTITY_H */
