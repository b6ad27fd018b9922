/*-------------------------------------------------------------------------
 *
 * usage_analytics.c
 *	  Module entry point: the magic block and _PG_init, which defines the
 *	  settings.  The SQL-callable functions live in one file per subsystem:
 *
 *	    identity.c     analytics.current_user_id()
 *	    record.c       analytics.record_chat_event()  (write path)
 *	    event_insert.c its insert into chat_events
 *	    subject.c      plans, prices and used amounts, by index scans
 *	    quota.c        analytics.check_quota()
 *	    append_only.c  the append-only guard trigger on chat_events
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
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
}
