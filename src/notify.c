/*-------------------------------------------------------------------------
 *
 * notify.c
 *	  Threshold notifications: when a user's usage of a periodic limit
 *	  reaches one of the plan's warn_thresholds (80 % and 100 % by default),
 *	  one row goes to analytics.notifications per user, limit, period and
 *	  threshold, in the transaction that saw it reached, and NOTIFY
 *	  usage_analytics carries it as JSON (notification_id, user_id, limit,
 *	  threshold, used, limit_value, plan_id; the period is in the row).
 *
 *	  Never a wait, never a deadlock: a transaction first tries a
 *	  transaction-scoped advisory lock on the notification's key.  Only the
 *	  holder inserts; a transaction that finds it held skips, since the
 *	  holder is writing that very row.  The primary key keeps it to one row
 *	  against committed ones (ON CONFLICT DO NOTHING, which then never has
 *	  an in-flight row to wait for).  A rollback takes the row and the
 *	  NOTIFY with it; if the holder rolls back after another transaction
 *	  skipped, the user's next event writes the row.
 *
 *	  Called after the counters changed, with the owner's rights.
 *
 *-------------------------------------------------------------------------
 */
#include "usage_analytics.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "quota.h"

static UaPlan record_threshold = {
	.sql = "WITH l AS ("
	"  SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended("
	"    'usage_analytics.notification:' || $1 || ':' || $2 || ':' || $3 || ':' || $4, 0)) AS mine), "
	"n AS ("
	"  INSERT INTO analytics.notifications AS n "
	"    (user_id, limit_name, period_start, threshold, used, limit_value, plan_id) "
	"  SELECT $1, $2, $3, $4, $5, $6, $7 FROM l WHERE l.mine "
	"  ON CONFLICT (user_id, limit_name, period_start, threshold) DO NOTHING "
	"  RETURNING n.*) "
	"SELECT pg_catalog.pg_notify('usage_analytics', pg_catalog.jsonb_build_object("
	"  'notification_id', n.notification_id, 'user_id', n.user_id, 'limit', n.limit_name, "
	"  'threshold', n.threshold, 'used', n.used, 'limit_value', n.limit_value, "
	"  'plan_id', n.plan_id)::text) FROM n",
	.nargs = 7, .argtypes = {TEXTOID, TEXTOID, DATEOID, NUMERICOID, NUMERICOID, NUMERICOID, TEXTOID}
};

void
ua_notify_thresholds(Datum user_id, const UaQuota *q)
{
	int			i,
				t;

	for (i = 0; i < UA_NLIMITS; i++)
	{
		const UaLimitState *l = &q->limits[i];

		if (!l->present || !l->periodic)
			continue;
		for (t = 0; t < q->nthresholds; t++)
		{
			Datum		level = DirectFunctionCall2(numeric_mul, q->thresholds[t], l->limit);
			Datum		v[7];

			if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, l->used, level)) < 0)
				continue;
			v[0] = user_id;
			v[1] = CStringGetTextDatum(l->name);
			v[2] = l->period_start;
			v[3] = q->thresholds[t];
			v[4] = l->used;
			v[5] = l->limit;
			v[6] = q->plan_id;
			ua_run(&record_threshold, v, NULL, false, -1);
		}
	}
}

/* After a change of a user's usage: evaluate and notify, if enabled. */
void
ua_notify_after_usage(Datum user_id)
{
	UaQuota		q;

	if (!ua_notify_enabled)
		return;
	ua_quota_evaluate(user_id, 0, DirectFunctionCall1(int8_numeric, Int64GetDatum(0)), false,
					  CurrentMemoryContext, &q);
	ua_notify_thresholds(user_id, &q);
}
