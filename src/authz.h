/*-------------------------------------------------------------------------
 *
 * authz.h
 *	  Authorization: which role may act for which user (authz.c).
 *	  SPI connected, owner's rights.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_AUTHZ_H
#define UA_AUTHZ_H

/* Does the role read every user's rows (superuser, app backend, admin)? */
extern bool ua_role_sees_all(Oid role);

/* May the caller read this user's quota?  42501 if not. */
extern void ua_quota_authorize(text *user_id, Oid caller);

#endif							/* UA_AUTHZ_H */
