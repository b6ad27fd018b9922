/*-------------------------------------------------------------------------
 *
 * usage_analytics.c
 *	  Module entry point: the magic block and _PG_init, which defines the
 *	  settings and the relcache callbacks.  One file per subsystem, each with
 *	  its own header (the README's "Code map" says which calls which):
 *
 *	    guc.c            settings (guc.h)
 *	    spi_plans.c      prepared SPI statements, switch to the owner
 *	    identity.c       analytics.current_user_id(), act_as()
 *	    authz.c          who may act for which user; sees_all_rows(),
 *	                     admin_org_ids() for the RLS policies
 *	    validate.c       argument checks and their limits
 *	    record.c         analytics.record_chat_event()  (write path)
 *	    request_keys.c   idempotency keys (user_id, request_id)
 *	    event_insert.c   the insert into chat_events, as COPY does it
 *	    counters.c       the per-user, per-day counters (backend slots)
 *	    admission.c      start_request(), complete_request()
 *	    quota.c          analytics.check_quota(), the quota evaluation
 *	    notify.c         threshold notifications
 *	    feedback.c       analytics.record_feedback()
 *	    api_keys.c       API keys: the generator, authenticate_api_key(),
 *	                     authorize_api_request() (per-key rate limits)
 *	    subject.c        plans, subscriptions, prices, usage snapshots
 *	    scan.c           the index-scan layer under subject.c
 *	    fold.c           analytics.fold_range(): the entry point,
 *	    fold_aggregate.c   reading the batch into aggregates,
 *	    fold_write.c       upserting the rollups (fold_int.h: private)
 *	    sketch.c         analytics.latency_sketch
 *	    text_set.c       the sorted text set union of the distinct sets
 *	    append_only.c    the append-only guard trigger on chat_events
 *	    uninstall.c      the DROP EXTENSION event trigger
 *	    xact_keys.c      keys a transaction took, dropped on ROLLBACK TO
 *	                     SAVEPOINT (admission locks, notifications)
 *	    citus.c          is the install distributed (Citus)?
 *	    compat.h         every PG_VERSION_NUM conditional
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "citus.h"
#include "event_insert.h"
#include "guc.h"
#include "scan.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	ua_define_gucs();
	ua_event_insert_init();
	ua_scan_init();
	ua_citus_init();
}
