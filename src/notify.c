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
 *	  Each backend remembers the keys it saw written (by itself or, committed,
 *	  by others), so a user above a threshold costs no further attempt.  The
 *	  keys a transaction adds are listed with the subtransaction that added
 *	  them until it ends: an abort, or a ROLLBACK TO SAVEPOINT of that
 *	  subtransaction or an ancestor, forgets them again (the row, the NOTIFY
 *	  and the advisory lock went with it), so a threshold crossed again is
 *	  recorded then.  Subtransaction ids grow as subtransactions start, so
 *	  aborting subtransaction s forgets the keys added at s or above: those
 *	  of s and of its committed children.
 *
 *	  Exactly once under any concurrency: a transaction sees only what
 *	  committed before its snapshot, so transactions that reach a threshold
 *	  together can each see it unreached (no rollback anywhere).  fold()
 *	  closes that gap: for every user whose events it folds (recorded in the
 *	  last day) it evaluates the periods of the user's latest event and
 *	  records what is missing (ua_notify_at), under the same lock and key.
 *
 *	  Called after the counters changed, with the owner's rights.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "utils/lsyscache.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "guc.h"
#include "notify.h"
#include "quota.h"
#include "scan.h"
#include "spi_plans.h"
#include "xact_keys.h"

static UaPlan record_threshold_10 = {
	.sql = "WITH l AS ("
	"  SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended("
	"    'usage_analytics.notification:' || $1 || ':' || $2 || ':' || $3 || ':' || $4, 0)) AS mine), "
	"n AS ("
	"  INSERT INTO analytics.notifications AS n "
	"    (user_id, limit_name, period_start, threshold, used, limit_value, plan_id) "
	"  SELECT $1, $2, $3, $4, $5, $6, $7 FROM l WHERE l.mine "
	"  ON CONFLICT (user_id, limit_name, period_start, threshold) DO NOTHING "
	"  RETURNING n.*) "
	"SELECT l.mine, (SELECT count(pg_catalog.pg_notify('usage_analytics', pg_catalog.jsonb_build_object("
	"  'notification_id', n.notification_id, 'user_id', n.user_id, 'limit', n.limit_name, "
	"  'threshold', n.threshold, 'used', n.used, 'limit_value', n.limit_value, "
	"  'plan_id', n.plan_id)::text)) FROM n) FROM l",
	.nargs = 7, .argtypes = {TEXTOID, TEXTOID, DATEOID, NUMERICOID, NUMERICOID, NUMERICOID, TEXTOID}
};

/*
 * With organizations (the 1.1 SQL): the recipient is a user (org_id '') or
 * an organization (user_id '', org_id $8).
 */
static UaPlan record_threshold = {
	.sql = "WITH l AS ("
	"  SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended("
	"    'usage_analytics.notification:' || $1 || ':' || $2 || ':' || $3 || ':' || $4 || ':' || $8, 0)) AS mine), "
	"n AS ("
	"  INSERT INTO analytics.notifications AS n "
	"    (user_id, limit_name, period_start, threshold, used, limit_value, plan_id, org_id) "
	"  SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM l WHERE l.mine "
	"  ON CONFLICT (user_id, org_id, limit_name, period_start, threshold) DO NOTHING "
	"  RETURNING n.*) "
	"SELECT l.mine, (SELECT count(pg_catalog.pg_notify('usage_analytics', (pg_catalog.jsonb_build_object("
	"  'notification_id', n.notification_id, 'user_id', n.user_id, 'limit', n.limit_name, "
	"  'threshold', n.threshold, 'used', n.used, 'limit_value', n.limit_value, "
	"  'plan_id', n.plan_id) || CASE WHEN n.org_id <> '' THEN pg_catalog.jsonb_build_object('org_id', n.org_id) "
	"  ELSE '{}' END)::text)) FROM n) FROM l",
	.nargs = 8, .argtypes = {TEXTOID, TEXTOID, DATEOID, NUMERICOID, NUMERICOID, NUMERICOID, TEXTOID, TEXTOID}
};

/*
 * Keys (64-bit hashes) of notifications known to exist in this backend, for
 * the notifications table of known_relid (a re-created extension starts
 * afresh).
 */
#define UA_KNOWN_NOTIFICATIONS_MAX 100000
static HTAB *known = NULL;
static Oid	known_relid = InvalidOid;

/* The keys added by the running transaction, with the subtransaction of each. */
static UaXactKeys added;

static void
remember(uint64 key)
{
	bool		found;

	hash_search(known, &key, HASH_ENTER, &found);
	if (!found)
		ua_xact_keys_add(&added, key);
}

/* A key added by a transaction or subtransaction that rolled back. */
static void
forget_known(uint64 key)
{
	if (known != NULL)
		hash_search(known, &key, HASH_REMOVE, NULL);
}

static void
notify_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			added.n = 0;		/* committed: known for good */
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			ua_xact_keys_drop_from(&added, TopSubTransactionId, forget_known);
			break;
		default:
			break;
	}
}

static void
notify_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		ua_xact_keys_drop_from(&added, mySubid, forget_known);
}

/* Hash of (user, organization, limit by position, period, threshold's bytes). */
static uint64
key_hash(Datum user_id, Datum org_id, int limit, Datum period, Datum threshold)
{
	text	   *u = DatumGetTextPP(user_id);
	text	   *o = DatumGetTextPP(org_id);
	struct varlena *t = PG_DETOAST_DATUM_PACKED(threshold);
	uint64		h = hash_bytes_extended((const unsigned char *) VARDATA_ANY(u),
										VARSIZE_ANY_EXHDR(u), 0);
	int32		tail[2] = {limit, DatumGetDateADT(period)};

	h = hash_bytes_extended((const unsigned char *) VARDATA_ANY(o), VARSIZE_ANY_EXHDR(o), h + 1);

	h = hash_bytes_extended((const unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), h);
	return hash_bytes_extended((const unsigned char *) tail, sizeof(tail), h);
}

/*
 * The thresholds of the plan limits reached: the recipient is the user
 * (org_id '') or the organization (user_id '').  Members' caps notify no
 * one (check_quota and start_request report them).
 */
static void
notify_subject(Datum user_id, Datum org_id, const UaQuota *q)
{
	static bool registered = false;
	Oid			relid;
	bool		with_orgs = ua_orgs_enabled();
	int			i,
				t;

	if (!registered)
	{
		RegisterXactCallback(notify_xact_callback, NULL);
		RegisterSubXactCallback(notify_subxact_callback, NULL);
		registered = true;
	}
	relid = get_relname_relid("notifications", get_namespace_oid("analytics", false));
	if (known != NULL && (relid != known_relid ||
						  hash_get_num_entries(known) > UA_KNOWN_NOTIFICATIONS_MAX))
	{
		hash_destroy(known);	/* another table, or bounded memory: start over */
		known = NULL;
		added.n = 0;
	}
	known_relid = relid;
	if (known == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(uint64);
		known = hash_create("usage_analytics notifications", 256, &ctl, HASH_ELEM | HASH_BLOBS);
	}

	for (i = 0; i < UA_NPLAN_LIMITS; i++)
	{
		const UaLimitState *l = &q->limits[i];

		if (!l->present || !l->periodic)
			continue;
		for (t = 0; t < q->nthresholds; t++)
		{
			Datum		level = DirectFunctionCall2(numeric_mul, q->thresholds[t], l->limit);
			Datum		v[8];
			uint64		key;
			bool		isnull;

			if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, l->used, level)) < 0)
				continue;
			key = key_hash(user_id, org_id, i, l->period_start, q->thresholds[t]);
			if (hash_search(known, &key, HASH_FIND, NULL) != NULL)
				continue;
			v[0] = user_id;
			v[1] = CStringGetTextDatum(l->name);
			v[2] = l->period_start;
			v[3] = q->thresholds[t];
			v[4] = l->used;
			v[5] = l->limit;
			v[6] = q->plan_id;
			v[7] = org_id;
			ua_run(with_orgs ? &record_threshold : &record_threshold_10, v, NULL, false, 1);
			/* Ours now, or written and committed by another: known. */
			if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
				remember(key);
		}
	}
}

void
ua_notify_thresholds(Datum user_id, const UaQuota *q)
{
	notify_subject(user_id, CStringGetTextDatum(""), q);
}

void
ua_notify_org_thresholds(Datum org_id, const UaQuota *q)
{
	notify_subject(CStringGetTextDatum(""), org_id, q);
}

/*
 * After a change of an organization's usage: evaluate its plan and notify,
 * if enabled and it is an organization.
 */
void
ua_notify_org_after_usage(Datum org_id)
{
	UaQuota		q;
	UaOrg		org;

	if (!ua_notify_enabled)
		return;
	ua_org_lookup(org_id, ua_begin_read(true), &org);
	ua_end_read(true);
	if (!org.found)
		return;
	ua_org_quota_evaluate(org_id, CStringGetTextDatum(""), &org, NULL, 0,
						  DirectFunctionCall1(int8_numeric, Int64GetDatum(0)), true,
						  CurrentMemoryContext, &q);
	ua_notify_org_thresholds(org_id, &q);
}

/* After a change of a user's usage: evaluate and notify, if enabled. */
void
ua_notify_after_usage(Datum user_id)
{
	UaQuota		q;

	if (!ua_notify_enabled)
		return;
	ua_quota_evaluate(user_id, 0, DirectFunctionCall1(int8_numeric, Int64GetDatum(0)), true,
					  CurrentMemoryContext, &q);
	ua_notify_thresholds(user_id, &q);
}

/*
 * The sweep (fold.c): record the thresholds the user has reached in the
 * periods in force at `at`, as the fold's snapshot sees them (taken after
 * every transaction it folds had ended).  Transactions that reach a
 * threshold together, each seeing only what committed before it, may all
 * see it unreached; the fold, once they have ended, sees their sum.  A plan
 * dropped since has nothing to measure against: skipped.
 */
/*
 * The same sweep for the organizations the user is a member of: their
 * pooled usage may have reached a threshold through concurrent members.
 */
static void
notify_orgs_at(Datum user_id, TimestampTz at)
{
	UaScan		scan;
	List	   *orgs = NIL;
	ListCell   *lc;
	bool		isnull;
	Snapshot	snap;

	if (!ua_orgs_enabled())
		return;
	snap = ua_begin_read(false);
	ua_scan_open(&scan, "org_members", "org_members_user_idx");
	ua_scan_key(&scan, "user_id", BTEqualStrategyNumber, F_TEXTEQ, user_id);
	ua_scan_begin(&scan, snap);
	while (ua_scan_next(&scan))
		orgs = lappend(orgs, DatumGetPointer(ua_scan_column_copy(&scan, "org_id", &isnull)));
	ua_scan_close(&scan);
	foreach(lc, orgs)
	{
		Datum		org_id = PointerGetDatum(lfirst(lc));
		UaOrg		org;
		UaSubject	subject;
		UaSnapshot	s;
		UaQuota		q;

		ua_org_lookup(org_id, snap, &org);
		ua_org_subject_at(org_id, &org, at, snap, &subject);
		ua_org_usage_snapshot(org_id, CStringGetTextDatum(""), at, &subject, NULL, snap, &s);
		if (!s.plan_found)
			continue;
		ua_quota_from_snapshot(&s, 0, DirectFunctionCall1(int8_numeric, Int64GetDatum(0)), NULL,
							   CurrentMemoryContext, &q);
		ua_notify_org_thresholds(org_id, &q);
	}
	ua_end_read(false);
}

void
ua_notify_at(Datum user_id, TimestampTz at)
{
	UaSnapshot	s;
	UaQuota		q;

	if (!ua_notify_enabled)
		return;
	ua_usage_snapshot(user_id, at, NULL, ua_begin_read(false), &s);
	ua_end_read(false);
	if (!s.plan_found)
		return;
	ua_quota_from_snapshot(&s, 0, DirectFunctionCall1(int8_numeric, Int64GetDatum(0)), NULL,
						   CurrentMemoryContext, &q);
	ua_notify_thresholds(user_id, &q);
	notify_orgs_at(user_id, at);
}

/*
 * analytics.notify_thresholds(user_id): the same, for SQL functions that
 * changed a user's usage (corrections).  Internal: executable by nobody but
 * the owner, whose rights the caller's SECURITY DEFINER function has.
 */
PG_FUNCTION_INFO_V1(ua_notify_thresholds_sql);

Datum
ua_notify_thresholds_sql(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("user_id must not be null")));
	SPI_connect();
	ua_notify_after_usage(PG_GETARG_DATUM(0));
	SPI_finish();
	PG_RETURN_VOID();
}
