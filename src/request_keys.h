/*-------------------------------------------------------------------------
 *
 * request_keys.h
 *	  Idempotency keys (user_id, request_id) of analytics.request_keys
 *	  (request_keys.c).  SPI connected, owner's rights.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_REQUEST_KEYS_H
#define UA_REQUEST_KEYS_H

#include "datatype/timestamp.h"

extern bool ua_claim_request_key(Datum user_id, Datum request_id, TimestampTz at,
								 Datum *event_id);
extern bool ua_find_request_key(Datum user_id, Datum request_id, Datum *event_id);

#endif							/* UA_REQUEST_KEYS_H */
