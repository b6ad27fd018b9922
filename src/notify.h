/*-------------------------------------------------------------------------
 *
 * notify.h
 *	  Threshold notifications: record and announce the usage thresholds a
 *	  user has reached (notify.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_NOTIFY_H
#define UA_NOTIFY_H

#include "datatype/timestamp.h"
#include "quota.h"

extern void ua_notify_thresholds(Datum user_id, const UaQuota *q);
extern void ua_notify_org_thresholds(Datum org_id, const UaQuota *q);
extern void ua_notify_org_after_usage(Datum org_id);
extern void ua_notify_after_usage(Datum user_id);
extern void ua_notify_at(Datum user_id, TimestampTz at);

#endif							/* UA_NOTIFY_H */
