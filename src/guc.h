/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  The settings of usage_analytics (guc.c), each documented in the
 *	  README's settings table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_GUC_H
#define UA_GUC_H

extern char *ua_user_id_setting;
extern char *ua_identity_token;
extern int	ua_identity_token_ttl;
extern bool ua_trust_jwt_claims;
extern char *ua_jwt_claim;
extern char *ua_default_plan;
extern int	ua_max_metadata_bytes;
extern bool ua_internal_write;
extern bool ua_notify_enabled;
extern int	ua_reservation_ttl;
extern int	ua_retention_months;
extern int	ua_payload_retention_days;
extern int	ua_max_batch_events;

/* Define them all; from _PG_init. */
extern void ua_define_gucs(void);

#endif							/* UA_GUC_H */
