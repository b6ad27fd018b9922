/*-------------------------------------------------------------------------
 *
 * admission.c
 *	  Exact quota admission: analytics.start_request() admits a request and
 *	  reserves its estimate against the user's hard limits, or rejects it;
 *	  analytics.complete_request() settles the reservation with the actual
 *	  usage.  analytics.expire_reservations() (SQL) releases what is never
 *	  settled.
 *
 *	  Exactness: start_request takes a transaction-scoped advisory lock on
 *	  the user before it reads the counters, and keeps it to commit.  The
 *	  next admission of that user waits for the lock, then reads (a new
 *	  READ COMMITTED snapshot) every reservation committed before it: never
 *	  more admitted than a limit allows, however many clients race.  Under
 *	  REPEATABLE READ or SERIALIZABLE the snapshot would predate the lock,
 *	  so start_request refuses to run there.  Reservations count as used in
 *	  every quota answer (usage_snapshot adds the pending counters).
 *
 *	  Several users in one transaction: each admission holds its user's lock
 *	  to commit, so two transactions admitting A then B and B then A could
 *	  wait for each other.  A transaction therefore waits for a user's lock
 *	  only in ascending key order (a key above every admission lock it
 *	  holds); out of order it only tries the lock, and a lock another
 *	  transaction holds is an immediate 55P03 error.  No cycle of waits can
 *	  form (every wait is for a key above all the waiter holds), so
 *	  admission never deadlocks; a single user per transaction always just
 *	  waits.  The keys held are listed per transaction, with the
 *	  subtransaction that took each: a ROLLBACK TO SAVEPOINT releases the
 *	  locks taken since, and the list forgets them with it.
 *
 *	  On a distributed install (Citus) a user's lock is taken on the node
 *	  that holds the user's shard: where a top-level call runs (Citus
 *	  delegates it there), or, from a call on another node (the
 *	  coordinator, inside a transaction block), by statements routed there
 *	  in the calling transaction.  A request in an organization also takes
 *	  the organization's on the node that holds its pooled counters, in key
 *	  order (lock_org_distributed).
 *
 *	  A settled event gets the settling transaction's id as recorded_xid, so
 *	  the fold (which skips pending events) folds it exactly once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "compat.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "citus.h"
#include "counters.h"
#include "event_insert.h"
#include "guc.h"
#include "notify.h"
#include "quota.h"
#include "scan.h"
#include "request_keys.h"
#include "rules.h"
#include "spi_plans.h"
#include "subject.h"
#include "validate.h"
#include "xact_keys.h"

PG_FUNCTION_INFO_V1(ua_start_request);
PG_FUNCTION_INFO_V1(ua_complete_request);
PG_FUNCTION_INFO_V1(ua_backend_slot);

/* Arguments of start_request. */
enum
{
	S_USER_ID, S_MODEL, S_EST_TOKENS, S_REQUEST_ID, S_PROVIDER, S_EST_COST, S_ORG_ID,
	S_CONVERSATION_ID, S_MESSAGE_ID, S_DOCUMENT_ID, S_SESSION_ID, S_REQUEST_TYPE,
	S_CATEGORY, S_QUERY_INTENT, S_METADATA,
	/* 1.1 */
	S_MODEL_VERSION, S_QUERY_LENGTH, S_COMPLEXITY, S_IP_ADDRESS, S_USER_AGENT
};

/* Arguments of complete_request. */
enum
{
	C_EVENT_ID, C_STATUS, C_INPUT, C_CACHED, C_WRITE, C_OUTPUT, C_REASONING, C_COST,
	C_RESPONSE_MS, C_TTFT_MS, C_ERROR_CODE, C_ERROR_MESSAGE, C_CACHE_HIT, C_USER_ID,
	C_REQUEST_ID,
	/* 1.1 */
	C_MODEL_VERSION, C_RESPONSE_LENGTH
};

/* Event columns copied from start_request's arguments. */
static const UaEventArg event_args[] =
{
	{EV_ORG_ID, S_ORG_ID}, {EV_CONVERSATION_ID, S_CONVERSATION_ID}, {EV_MESSAGE_ID, S_MESSAGE_ID},
	{EV_DOCUMENT_ID, S_DOCUMENT_ID}, {EV_SESSION_ID, S_SESSION_ID}, {EV_REQUEST_ID, S_REQUEST_ID},
	{EV_PROVIDER, S_PROVIDER}, {EV_MODEL, S_MODEL}, {EV_REQUEST_TYPE, S_REQUEST_TYPE},
	{EV_CATEGORY, S_CATEGORY}, {EV_QUERY_INTENT, S_QUERY_INTENT}, {EV_METADATA, S_METADATA}
};

/* Event columns of the start_request arguments 1.1 adds (absent under the 1.0 SQL). */
static const UaEventArg optional_event_args[] =
{
	{EV_MODEL_VERSION, S_MODEL_VERSION}, {EV_COMPLEXITY, S_COMPLEXITY},
	{EV_IP_ADDRESS, S_IP_ADDRESS}, {EV_USER_AGENT, S_USER_AGENT}
};

/*
 * Admission locks this transaction holds (keys as uint64), with the
 * subtransaction of each: users', and the rate-limited scopes' (rules.c),
 * which come after every user's in the lock order.
 */
static UaXactKeys held;
static UaXactKeys held_scopes;

static void
admission_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			held.n = 0;			/* the transaction's locks are gone */
			held_scopes.n = 0;
			break;
		default:
			break;
	}
}

/* A rolled-back subtransaction released the locks taken at it or above. */
static void
admission_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		ua_xact_keys_drop_from(&held, mySubid, NULL);
		ua_xact_keys_drop_from(&held_scopes, mySubid, NULL);
	}
}

/*
 * On a distributed install a user's admission lock is the advisory lock of
 * the node that holds the user's shard, and an organization's that of the
 * node that holds its pooled counters (the shard of org_usage_counters for
 * user_id ''), each taken in the transaction that writes those rows there.
 * On another node (the coordinator, in a transaction block; the member's
 * node for its organization) it is taken by statements Citus routes to
 * that shard.  First an UPDATE that matches no row: in a call outside a
 * transaction block (a delegated one) Citus sends a read-only statement to
 * another node in a transaction of its own, which would release the lock
 * at once; after a modification every statement to that shard group goes
 * through one remote transaction, committed with this one (and the reads
 * and writes of the admission that follow go through it too).  Then the
 * lock: the aggregate gives the one row that carries the lock function (no
 * counter row matches).  $1 the user, organization or provider, $2 the key.
 */
#define WAIT_LOCK	"pg_catalog.pg_advisory_xact_lock($2) IS NULL"
#define TRY_LOCK	"pg_catalog.pg_try_advisory_xact_lock($2)"

/* The statements for one kind of subject: open, lock (wait), try lock. */
typedef struct RemoteLock
{
	UaPlan		open;
	UaPlan		lock;
	UaPlan		try_lock;
} RemoteLock;

/* Those statements for the rows `rows` (they match none) of `table`. */
#define REMOTE_LOCK(table, rows) { \
	.open = {.sql = "UPDATE analytics." table " SET slot = slot WHERE " rows, \
			 .nargs = 1, .argtypes = {TEXTOID}}, \
	.lock = {.sql = "SELECT " WAIT_LOCK ", pg_catalog.count(*) FROM analytics." table " WHERE " rows, \
			 .nargs = 2, .argtypes = {TEXTOID, INT8OID}}, \
	.try_lock = {.sql = "SELECT " TRY_LOCK ", pg_catalog.count(*) FROM analytics." table " WHERE " rows, \
				 .nargs = 2, .argtypes = {TEXTOID, INT8OID}}}

static RemoteLock remote_org =
	REMOTE_LOCK("org_usage_counters", "user_id = '' AND org_id = $1 AND usage_date IS NULL");
static RemoteLock remote_user =
	REMOTE_LOCK("usage_counters", "user_id = $1 AND usage_date IS NULL");

/*
 * A rate limit's lock: on the node of its provider's provider_counters
 * rows (distributed by provider), where the window it guards is counted
 * and written.
 */
static RemoteLock remote_provider =
	REMOTE_LOCK("provider_counters", "provider = $1 AND period IS NULL");

/*
 * Take advisory lock `key` to commit (wait: wait for it; else try it);
 * false when tried and busy.  With `remote` (a user, organization or
 * provider, r's statements telling which) on a distributed install: on the
 * node of its shard (above); (Datum) 0: on this node.
 */
static bool
advisory_lock(int64 key, bool wait, RemoteLock *r, Datum remote)
{
	Datum		a[2];
	bool		isnull;
	bool		got;

	if (remote == (Datum) 0)
	{
		if (wait)
		{
			DirectFunctionCall1(pg_advisory_xact_lock_int8, Int64GetDatum(key));
			return true;
		}
		return DatumGetBool(DirectFunctionCall1(pg_try_advisory_xact_lock_int8, Int64GetDatum(key)));
	}
	a[0] = remote;
	a[1] = Int64GetDatum(key);
	ua_run(&r->open, a, NULL, false, 0);
	ua_run(wait ? &r->lock : &r->try_lock, a, NULL, false, 1);
	got = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return wait || (!isnull && got);
}

/*
 * Take an admission lock, to commit: a user's (scope = NULL) or a rate
 * limited scope's.  The lock order: users by key, then scopes by key.  A
 * transaction waits only for a lock above every one it holds; otherwise
 * it tries, and reports 55P03 if another transaction holds it.  Keys are
 * the same on every node, and each key is locked on one node only (a
 * user's where its shard is, an organization's where its pooled counters
 * are, a rate limit's where its provider's counters are), so the order
 * holds across the cluster.  remote: the user, organization or provider
 * whose node takes the lock on a distributed install, (Datum) 0 for this
 * node.
 */
static void
lock_admission(int64 key, const char *user, const char *scope, bool org, Datum remote)
{
	static bool registered = false;
	UaXactKeys *list = scope ? &held_scopes : &held;
	RemoteLock *rl = scope ? &remote_provider : org ? &remote_org : &remote_user;
	bool		in_order = true;
	int			i;

	if (!registered)
	{
		RegisterXactCallback(admission_xact_callback, NULL);
		RegisterSubXactCallback(admission_subxact_callback, NULL);
		registered = true;
	}
	for (i = 0; i < list->n; i++)
		if ((int64) list->items[i].key >= key)
			in_order = false;
	if (!scope && held_scopes.n > 0)
		in_order = false;
	if (in_order)
		advisory_lock(key, true, rl, remote);
	else if (!advisory_lock(key, false, rl, remote))
	{
		if (scope)
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("cannot wait for the rate limit of \"%s\" in this transaction", scope),
					 errdetail("Another transaction is admitting a request under that rate limit, and "
							   "this transaction already holds a rate limit that comes later in the "
							   "lock order: waiting could deadlock."),
					 errhint("Retry the transaction, or admit each request in its own transaction.")));
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("cannot wait for the admission of %s \"%s\" in this transaction",
						org ? "organization" : "user", user),
				 errdetail("Another transaction is admitting that user, and this transaction already "
						   "holds the admission of a user or a rate limit that comes later in the lock "
						   "order: waiting could deadlock."),
				 errhint("Retry the transaction, or admit each user in its own transaction.")));
	}
	else
	{
		/* Held already by this transaction: listed already, unless the same key. */
		for (i = 0; i < list->n; i++)
			if ((int64) list->items[i].key == key)
				return;
	}
	ua_xact_keys_add(list, (uint64) key);
}

/*
 * The user's lock key: hashtextextended('usage_analytics.admission:' || user_id, 0);
 * an organization's: hashtextextended('usage_analytics.org_admission:' || org_id, 0).
 * Both kinds are admission locks in one key order (lock_admission).
 */
static int64
subject_key(Datum user_id, bool org)
{
	const char *prefix = org ? "usage_analytics.org_admission:" : "usage_analytics.admission:";
	text	   *u = DatumGetTextPP(user_id);
	Size		ulen = VARSIZE_ANY_EXHDR(u);
	Size		plen = strlen(prefix);
	text	   *name = palloc(VARHDRSZ + plen + ulen);
	int64		key;

	SET_VARSIZE(name, VARHDRSZ + plen + ulen);
	memcpy(VARDATA(name), prefix, plen);
	memcpy(VARDATA(name) + plen, VARDATA_ANY(u), ulen);
	key = DatumGetInt64(DirectFunctionCall2Coll(hashtextextended, C_COLLATION_OID,
												PointerGetDatum(name), Int64GetDatum(0)));
	pfree(name);
	return key;
}

/*
 * A user's or an organization's admission lock: on this node, or (remote)
 * on the node of its shard.
 */
static void
lock_subject(Datum id, bool org, bool remote)
{
	lock_admission(subject_key(id, org), text_to_cstring(DatumGetTextPP(id)), NULL, org,
				   remote ? id : (Datum) 0);
}

/*
 * An organization's admission on a distributed install: the user's lock,
 * on the node of the user's shard (this one, or remote_user), and the
 * organization's, on the node of its pooled counters, in key order.  The
 * organization's lock serializes its admissions wherever their members
 * live, and is released only when its pooled counters commit there; the
 * user's lock is released only when the member's counters commit on its
 * node.
 * So each read after its lock sees every admission before it, whatever
 * order the nodes' commits of a two-phase commit take.
 */
static void
lock_org_distributed(Datum org_id, Datum user_id, bool remote_user)
{
	bool		user_first = subject_key(user_id, false) < subject_key(org_id, true);

	if (user_first)
		lock_subject(user_id, false, remote_user);
	lock_subject(org_id, true, true);
	if (!user_first)
		lock_subject(user_id, false, remote_user);
}

/*
 * The rate-limited scopes' locks, in ascending key order (rules.c sorted
 * them); on a distributed install on the node of the provider's counters.
 */
static void
lock_scopes(const UaModelRules *r)
{
	int			i;

	for (i = 0; i < r->nscopes; i++)
		lock_admission(r->scopes[i].lock_key, NULL,
					   psprintf("%s/%s", TextDatumGetCString(r->provider),
								TextDatumGetCString(r->scopes[i].model)), false,
					   ua_citus() ? r->provider : (Datum) 0);
}

static UaPlan event_state = {
	.sql = "SELECT status, error_code FROM analytics.chat_events WHERE id = $1",
	.nargs = 1, .argtypes = {INT8OID}
};



static UaPlan lock_event = {
	.sql = "SELECT user_id, occurred_at, usage_date, status, model, provider, "
	"  COALESCE(reserved_tokens, 0)::int8, COALESCE(reserved_cost, 0), cost, org_id "
	"FROM analytics.chat_events WHERE id = $1 FOR UPDATE",
	.nargs = 1, .argtypes = {INT8OID}
};

/*
 * On a distributed install, by the user too: Citus routes a lookup by the
 * distribution column (locally, in a call delegated to the user's worker)
 * and refuses FOR UPDATE over every shard.
 */
static UaPlan event_state_of_user = {
	.sql = "SELECT status, error_code FROM analytics.chat_events WHERE id = $1 AND user_id = $2",
	.nargs = 2, .argtypes = {INT8OID, TEXTOID}
};

static UaPlan lock_event_of_user = {
	.sql = "SELECT user_id, occurred_at, usage_date, status, model, provider, "
	"  COALESCE(reserved_tokens, 0)::int8, COALESCE(reserved_cost, 0), cost, org_id "
	"FROM analytics.chat_events WHERE id = $1 AND user_id = $2 FOR UPDATE",
	.nargs = 2, .argtypes = {INT8OID, TEXTOID}
};

/*
 * On a distributed install, without user_id: the event's user first (a
 * lookup over every shard, no lock), then the row by user and id.
 */
static UaPlan user_of_event = {
	.sql = "SELECT user_id FROM analytics.chat_events WHERE id = $1",
	.nargs = 1, .argtypes = {INT8OID}
};

/* The settling UPDATE; with the 1.1 SQL it also stores priced_model ($24). */
#define UA_SETTLE_SET \
	"UPDATE analytics.chat_events SET status = $4, input_tokens = $5, " \
	"  cached_input_tokens = $6, cache_write_tokens = $7, output_tokens = $8, " \
	"  reasoning_tokens = $9, cost = $10, cost_input = $11, cost_cached_input = $12, " \
	"  cost_cache_write = $13, cost_output = $14, cache_savings = $15, cost_source = $16, " \
	"  response_time_ms = $17, time_to_first_token_ms = $18, cache_hit = $19, " \
	"  error_code = $20, error_message = $21, provider = COALESCE(provider, $22), " \
	"  settled_at = pg_catalog.now(), recorded_xid = $23"
#define UA_SETTLE_WHERE " WHERE user_id = $1 AND occurred_at = $2 AND id = $3"
#define UA_SETTLE_TYPES TEXTOID, TIMESTAMPTZOID, INT8OID, TEXTOID, INT4OID, INT4OID, \
	INT4OID, INT4OID, INT4OID, NUMERICOID, NUMERICOID, NUMERICOID, NUMERICOID, NUMERICOID, \
	NUMERICOID, TEXTOID, INT4OID, INT4OID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, INT8OID

static UaPlan settle = {
	.sql = UA_SETTLE_SET UA_SETTLE_WHERE,
	.nargs = 23, .argtypes = {UA_SETTLE_TYPES}
};

static UaPlan settle_renamed = {
	.sql = UA_SETTLE_SET ", priced_model = $24" UA_SETTLE_WHERE,
	.nargs = 24, .argtypes = {UA_SETTLE_TYPES, TEXTOID}
};

/* With complete_request's 1.1 arguments: what the call gives, kept otherwise. */
static UaPlan settle_full = {
	.sql = UA_SETTLE_SET ", priced_model = COALESCE($24, priced_model), "
	"  model_version = COALESCE($25, model_version), "
	"  ai_response_length = COALESCE($26, ai_response_length)" UA_SETTLE_WHERE,
	.nargs = 26, .argtypes = {UA_SETTLE_TYPES, TEXTOID, TEXTOID, INT4OID}
};

static Datum
zero(void)
{
	return DirectFunctionCall1(int8_numeric, Int64GetDatum(0));
}

static Datum
arg_or_null(FunctionCallInfo fcinfo, int argno, char *null)
{
	*null = UA_ARG_NULL(fcinfo, argno) ? 'n' : ' ';
	return UA_ARG_NULL(fcinfo, argno) ? (Datum) 0 : PG_GETARG_DATUM(argno);
}

static HeapTuple
result_tuple(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	TupleDesc	desc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	return heap_form_tuple(BlessTupleDesc(desc), values, nulls);
}

Datum
ua_start_request(PG_FUNCTION_ARGS)
{
	static const UaTextArg texts[] =
	{
		{S_USER_ID, "user_id", UA_MAX_ID_BYTES, true},
		{S_MODEL, "model", UA_MAX_NAME_BYTES, true},
		{S_REQUEST_ID, "request_id", UA_MAX_ID_BYTES, false},
		{S_PROVIDER, "provider", UA_MAX_NAME_BYTES, false},
		{S_ORG_ID, "org_id", UA_MAX_ID_BYTES, false},
		{S_CONVERSATION_ID, "conversation_id", UA_MAX_ID_BYTES, false},
		{S_MESSAGE_ID, "message_id", UA_MAX_ID_BYTES, false},
		{S_DOCUMENT_ID, "document_id", UA_MAX_ID_BYTES, false},
		{S_SESSION_ID, "session_id", UA_MAX_ID_BYTES, false},
		{S_REQUEST_TYPE, "request_type", UA_MAX_NAME_BYTES, false},
		{S_CATEGORY, "category", UA_MAX_NAME_BYTES, false},
		{S_QUERY_INTENT, "query_intent", UA_MAX_NAME_BYTES, false},
		{S_MODEL_VERSION, "model_version", UA_MAX_NAME_BYTES, false},
		{S_COMPLEXITY, "complexity", UA_MAX_NAME_BYTES, false},
		{S_USER_AGENT, "user_agent", UA_MAX_AGENT_BYTES, false},
	};
	MemoryContext cxt = CurrentMemoryContext;
	Datum		user_id;
	int64		tokens;
	Datum		est_cost;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Datum		event_id = (Datum) 0;
	bool		have_id = false;
	UaQuota		q;
	UaLimitState *c;
	UaModelRules rules;
	bool		admitted;
	Datum		usage_date;
	Datum		out[6];
	bool		out_null[6] = {false, false, false, true, true, true};
	int64		query_length;
	bool		in_org;
	bool		remote_user;
	Datum		org_id = (Datum) 0;
	UaOrg		org;
	UaMember	member;

	ua_check_text_args(fcinfo, texts, lengthof(texts));
	tokens = ua_check_count(fcinfo, S_EST_TOKENS, "estimated_tokens", UA_MAX_TOKENS * 4LL, 0);
	query_length = ua_check_count(fcinfo, S_QUERY_LENGTH, "user_query_length", UA_MAX_TEXT_CHARS, -1);
	{
		bool		est_null;

		est_cost = ua_arg_cost(fcinfo, S_EST_COST, &est_null);
		if (est_null)
			est_cost = zero();
	}
	ua_check_cost(est_cost);
	ua_check_metadata(fcinfo, S_METADATA);
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("start_request must run at the READ COMMITTED isolation level"),
				 errdetail("Admission reads the reservations committed while it waited for the user's lock."),
				 errhint("Call it in its own READ COMMITTED transaction.")));
	user_id = PG_GETARG_DATUM(S_USER_ID);

	SPI_connect();

	/* A retry of the same request returns the first answer. */
	if (!PG_ARGISNULL(S_REQUEST_ID))
	{
		if (!ua_claim_request_key(user_id, PG_GETARG_DATUM(S_REQUEST_ID), now, &event_id))
		{
			char	   *status;
			char	   *limit;
			MemoryContext old;

			if (ua_citus())
			{
				Datum		a[2] = {event_id, user_id};

				ua_run(&event_state_of_user, a, NULL, false, 1);
			}
			else
				ua_run(&event_state, &event_id, NULL, false, 1);
			status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			limit = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
			old = MemoryContextSwitchTo(cxt);
			out[0] = event_id;
			out[1] = BoolGetDatum(strcmp(status, "rejected") != 0);
			out[2] = CStringGetTextDatum(status);
			if (strcmp(status, "rejected") == 0 && limit != NULL)
			{
				out[3] = CStringGetTextDatum(limit);
				out_null[3] = false;
			}
			MemoryContextSwitchTo(old);
			SPI_finish();
			PG_RETURN_DATUM(HeapTupleGetDatum(result_tuple(fcinfo, out, out_null)));
		}
		have_id = true;
	}

	/* The model as the price book knows it (an ambiguous name fails here). */
	ua_rules_resolve(PG_GETARG_DATUM(S_MODEL), PG_ARGISNULL(S_PROVIDER) ? (Datum) 0 : PG_GETARG_DATUM(S_PROVIDER),
					 now, GetActiveSnapshot(), &rules);

	/*
	 * One admission of this user (or, with org_id, of this organization) at
	 * a time, until commit.  A request in an organization counts against
	 * the organization's plan, pooled over its members, and the member's
	 * caps; a user who is not a member, or a suspended organization, is an
	 * error (ua_org_admit_check).
	 */
	in_org = !PG_ARGISNULL(S_ORG_ID) && ua_orgs_enabled();
	if (in_org)
	{
		org_id = PG_GETARG_DATUM(S_ORG_ID);
		ua_org_admit_check(org_id, user_id, GetActiveSnapshot(), &org, &member);
	}

	/*
	 * On a distributed install the user's admission lock is an advisory
	 * lock of the node that holds the user's shard, where Citus runs a
	 * delegated call; a call elsewhere (inside a transaction block) takes
	 * it there by routed statements of this transaction, through which the
	 * admission's reads and writes of the user's rows then go too.  An
	 * organization's lock is taken on the node of its pooled counters
	 * (lock_org_distributed).
	 */
	remote_user = ua_citus() && !ua_citus_user_is_local(user_id);
	if (in_org)
	{
		if (ua_citus())
			lock_org_distributed(org_id, user_id, remote_user);
		else
			lock_subject(org_id, true, false);
		ua_org_quota_evaluate(org_id, user_id, &org, &member, tokens, est_cost, true, cxt, &q);
	}
	else
	{
		lock_subject(user_id, false, remote_user);
		ua_quota_evaluate(user_id, tokens, est_cost, true, cxt, &q);
	}
	usage_date = q.today;

	/*
	 * The model's rules: switches and the plan's allow-list, then, for a
	 * request the rest admits, the rate limits, under their locks (to
	 * commit) and counted with a snapshot taken after them.
	 */
	ua_rules_gates(&rules, &q, cxt);
	if (q.allowed && rules.nscopes > 0)
	{
		lock_scopes(&rules);
		ua_rules_rates(&rules, now, ua_begin_read(true), &q, cxt);
		ua_end_read(true);
	}

	/* The event: pending with its reservation, or rejected with the limit. */
	{
		UaEventRow	row;
		UaLimitState *reported = ua_quota_reported(&q);
		const char *limit = reported ? reported->name : NULL;

		ua_event_row_init(&row);
		if (have_id)
			ua_event_row_set(&row, EV_ID, event_id);
		ua_event_row_set(&row, EV_OCCURRED_AT, TimestampTzGetDatum(now));
		ua_event_row_set(&row, EV_USAGE_DATE, usage_date);
		ua_event_row_set(&row, EV_USER_ID, user_id);
		ua_event_row_args(&row, fcinfo, event_args, lengthof(event_args));
		ua_event_row_optional_args(&row, fcinfo, optional_event_args, lengthof(optional_event_args));
		if (query_length >= 0)
			ua_event_row_set(&row, EV_USER_QUERY_LENGTH, Int32GetDatum((int32) query_length));
		ua_event_row_set(&row, EV_STATUS, CStringGetTextDatum(q.allowed ? "pending" : "rejected"));
		ua_event_row_set(&row, EV_COST, zero());
		ua_event_row_set(&row, EV_COST_SOURCE, CStringGetTextDatum("computed"));
		if (!q.allowed)
		{
			ua_event_row_set(&row, EV_ERROR_CODE, CStringGetTextDatum(limit));
			ua_event_row_set(&row, EV_ERROR_MESSAGE,
							 CStringGetTextDatum(psprintf("quota exceeded: %s", limit)));
		}
		ua_event_row_set(&row, EV_RECORDED_XID,
						 Int64GetDatum((int64) U64FromFullTransactionId(GetTopFullTransactionId())));
		if (q.allowed)
		{
			ua_event_row_set(&row, EV_RESERVED_TOKENS, Int32GetDatum((int32) tokens));
			ua_event_row_set(&row, EV_RESERVED_COST, est_cost);
		}
		event_id = Int64GetDatum(ua_event_insert(&row));
	}

	/* The reservation (or the rejection) in the counters, last. */
	{
		UaCounterDelta d = {0};

		if (q.allowed)
		{
			d.pending_requests = 1;
			d.pending_tokens = tokens;
			d.pending_cost = est_cost;
		}
		else
			d.rejected = 1;
		if (in_org)
			ua_counters_add_org(org_id, user_id, usage_date, &d);
		else
			ua_counters_add(user_id, usage_date, &d);
		if (q.allowed)
			ua_rules_count(&rules, now);
	}

	/* The answer: the decision, and the figures after the reservation. */
	admitted = q.allowed;
	if (admitted && in_org)
	{
		ua_org_quota_evaluate(org_id, user_id, &org, &member, 0, zero(), true, cxt, &q);
		if (ua_notify_enabled)
			ua_notify_org_thresholds(org_id, &q);
		ua_rules_gates(&rules, &q, cxt);
	}
	else if (admitted)
	{
		ua_quota_evaluate(user_id, 0, zero(), true, cxt, &q);
		if (ua_notify_enabled)
			ua_notify_thresholds(user_id, &q);
		/* A soft plan admitted a model it does not list: say so. */
		ua_rules_gates(&rules, &q, cxt);
	}
	SPI_finish();

	out[0] = event_id;
	out[1] = BoolGetDatum(admitted);
	out[2] = CStringGetTextDatum(admitted ? "pending" : "rejected");
	c = ua_quota_reported(&q);
	if (c != NULL && c->limit == (Datum) 0)
	{
		/* A rule without figures: a switch, the plan's allow-list. */
		out[3] = CStringGetTextDatum(c->name);
		out_null[3] = false;
	}
	else if (c != NULL)
	{
		Datum		remaining;

		remaining = DirectFunctionCall2(numeric_sub, c->limit, c->used);
		if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, remaining, zero())) < 0)
			remaining = zero();
		out[3] = CStringGetTextDatum(c->name);
		out[4] = remaining;
		out[5] = c->resets_at;
		out_null[3] = out_null[4] = false;
		out_null[5] = !c->periodic;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(result_tuple(fcinfo, out, out_null)));
}

static const int complete_ledger_args[UA_LEDGER_NARGS] = {C_INPUT, C_CACHED, C_WRITE, C_OUTPUT, C_REASONING, C_COST};

Datum
ua_complete_request(PG_FUNCTION_ARGS)
{
	UaLedgerArgs ledger;
	bool		failed = false;
	Datum		event_id;
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;
	Datum		user_id,
				occurred_at,
				usage_date,
				model,
				provider,
				reserved_cost,
				cost;
	bool		provider_null;
	Datum		org_id;
	bool		org_null;
	int64		response_ms;
	int64		ttft_ms;
	int64		response_length;
	int64		reserved_tokens;
	char	   *status;
	Datum		parts[5];
	Datum		priced_model = (Datum) 0;	/* the price-book model, if renamed */
	bool		priced = false;
	bool		cache_hit;
	Datum		out[3];
	bool		out_null[3] = {false, false, false};
	int			i;
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext old;

	ua_check_text(fcinfo, C_STATUS, "status", UA_MAX_NAME_BYTES, false);
	ua_check_text(fcinfo, C_ERROR_CODE, "error_code", UA_MAX_NAME_BYTES, false);
	ua_check_text(fcinfo, C_ERROR_MESSAGE, "error_message", UA_MAX_MESSAGE_BYTES, false);
	ua_check_text(fcinfo, C_USER_ID, "user_id", UA_MAX_ID_BYTES, false);
	ua_check_text(fcinfo, C_REQUEST_ID, "request_id", UA_MAX_ID_BYTES, false);
	ua_check_ledger(fcinfo, complete_ledger_args, &ledger);
	response_ms = ua_arg_duration(fcinfo, C_RESPONSE_MS, "response_time_ms", UA_MAX_DURATION_MS, -1);
	ttft_ms = ua_arg_duration(fcinfo, C_TTFT_MS, "time_to_first_token_ms", UA_MAX_DURATION_MS, -1);
	ua_check_text(fcinfo, C_MODEL_VERSION, "model_version", UA_MAX_NAME_BYTES, false);
	response_length = ua_check_count(fcinfo, C_RESPONSE_LENGTH, "ai_response_length", UA_MAX_TEXT_CHARS, -1);
	if (!PG_ARGISNULL(C_STATUS))
	{
		char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(C_STATUS));

		if (strcmp(s, "completed") != 0 && strcmp(s, "failed") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("status must be \"completed\" or \"failed\", not \"%s\"", s)));
		failed = strcmp(s, "failed") == 0;
	}
	cache_hit = PG_ARGISNULL(C_CACHE_HIT) ? ledger.cached > 0 : PG_GETARG_BOOL(C_CACHE_HIT);

	SPI_connect();

	/* Which event: by id, or by the user's request_id. */
	if (!PG_ARGISNULL(C_EVENT_ID))
		event_id = PG_GETARG_DATUM(C_EVENT_ID);
	else if (!PG_ARGISNULL(C_USER_ID) && !PG_ARGISNULL(C_REQUEST_ID))
	{
		if (!ua_find_request_key(PG_GETARG_DATUM(C_USER_ID), PG_GETARG_DATUM(C_REQUEST_ID), &event_id))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("no request \"%s\" of user \"%s\"",
							text_to_cstring(PG_GETARG_TEXT_PP(C_REQUEST_ID)),
							text_to_cstring(PG_GETARG_TEXT_PP(C_USER_ID)))));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("complete_request needs event_id, or user_id and request_id")));

	if (ua_citus() && !PG_ARGISNULL(C_USER_ID))
	{
		Datum		a[2] = {event_id, PG_GETARG_DATUM(C_USER_ID)};

		ua_run(&lock_event_of_user, a, NULL, false, -1);
	}
	else if (ua_citus())
	{
		Datum		a[2] = {event_id, (Datum) 0};
		bool		user_null;

		ua_run(&user_of_event, &event_id, NULL, false, -1);
		if (SPI_processed == 1)
		{
			a[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &user_null);
			ua_run(&lock_event_of_user, a, NULL, false, -1);
		}
	}
	else
		ua_run(&lock_event, &event_id, NULL, false, -1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("request " INT64_FORMAT " does not exist", DatumGetInt64(event_id))));
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	user_id = SPI_getbinval(row, desc, 1, &isnull);
	if (!PG_ARGISNULL(C_USER_ID) &&
		strcmp(TextDatumGetCString(user_id), text_to_cstring(PG_GETARG_TEXT_PP(C_USER_ID))) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("request " INT64_FORMAT " does not exist", DatumGetInt64(event_id)),
				 errhint("It is not a request of that user.")));
	occurred_at = SPI_getbinval(row, desc, 2, &isnull);
	usage_date = SPI_getbinval(row, desc, 3, &isnull);
	status = SPI_getvalue(row, desc, 4);
	model = SPI_getbinval(row, desc, 5, &isnull);
	provider = SPI_getbinval(row, desc, 6, &provider_null);
	reserved_tokens = DatumGetInt64(SPI_getbinval(row, desc, 7, &isnull));
	reserved_cost = SPI_getbinval(row, desc, 8, &isnull);
	org_id = SPI_getbinval(row, desc, 10, &org_null);
	if (!ua_orgs_enabled())
		org_null = true;

	/* Settled already: the same answer again, nothing changes. */
	if (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0)
	{
		old = MemoryContextSwitchTo(cxt);
		out[0] = event_id;
		out[1] = CStringGetTextDatum(status);
		out[2] = datumCopy(SPI_getbinval(row, desc, 9, &isnull), false, -1);
		MemoryContextSwitchTo(old);
		SPI_finish();
		PG_RETURN_DATUM(HeapTupleGetDatum(result_tuple(fcinfo, out, out_null)));
	}
	if (strcmp(status, "rejected") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("request " INT64_FORMAT " was rejected and cannot be completed",
						DatumGetInt64(event_id))));

	/* The cost at the price in force when the request started. */
	if (ledger.cost_null)
	{
		UaPrice		prices[2];
		int			found = ua_price_request(model, provider_null ? (Datum) 0 : provider,
											 DatumGetTimestampTz(occurred_at), ledger.input, ledger.cached,
											 ledger.write, ledger.output, ua_begin_read(false), prices);

		if (found != 1)
			ereport(ERROR,
					(errcode(found == 0 ? ERRCODE_UNDEFINED_OBJECT : ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg(found == 0 ? "unknown model \"%s\"" :
							"model \"%s\" is priced under more than one provider",
							TextDatumGetCString(model)),
					 errhint("Add its prices to analytics.model_prices, or pass cost.")));
		parts[0] = prices[0].cost_input;
		parts[1] = prices[0].cost_cached_input;
		parts[2] = prices[0].cost_cache_write;
		parts[3] = prices[0].cost_output;
		parts[4] = prices[0].cache_savings;
		cost = zero();
		for (i = 0; i < 4; i++)
			cost = DirectFunctionCall2(numeric_add, cost, parts[i]);
		if (provider_null)
		{
			provider = prices[0].provider;
			provider_null = false;
		}
		if (prices[0].renamed)
			priced_model = prices[0].model;
		priced = true;
	}
	else
		cost = ledger.cost;

	/* Settle the event: the log is append-only to everyone else. */
	{
		Datum		v[26];
		char		n[27];

		memset(n, ' ', sizeof(n));
		n[26] = '\0';
		v[0] = user_id;
		v[1] = occurred_at;
		v[2] = event_id;
		v[3] = CStringGetTextDatum(failed ? "failed" : "completed");
		v[4] = Int32GetDatum((int32) ledger.input);
		v[5] = Int32GetDatum((int32) ledger.cached);
		v[6] = Int32GetDatum((int32) ledger.write);
		v[7] = Int32GetDatum((int32) ledger.output);
		v[8] = Int32GetDatum((int32) ledger.reasoning);
		v[9] = cost;
		for (i = 0; i < 5; i++)
		{
			v[10 + i] = priced ? parts[i] : (Datum) 0;
			n[10 + i] = priced ? ' ' : 'n';
		}
		v[15] = CStringGetTextDatum(priced ? "computed" : "provided");
		v[16] = Int32GetDatum(response_ms < 0 ? 0 : (int32) response_ms);
		n[16] = response_ms < 0 ? 'n' : ' ';
		v[17] = Int32GetDatum(ttft_ms < 0 ? 0 : (int32) ttft_ms);
		n[17] = ttft_ms < 0 ? 'n' : ' ';
		v[18] = BoolGetDatum(cache_hit);
		v[19] = arg_or_null(fcinfo, C_ERROR_CODE, &n[19]);
		v[20] = arg_or_null(fcinfo, C_ERROR_MESSAGE, &n[20]);
		v[21] = provider;
		n[21] = provider_null ? 'n' : ' ';
		v[22] = Int64GetDatum((int64) U64FromFullTransactionId(GetTopFullTransactionId()));
		v[23] = priced_model;
		n[23] = priced_model == (Datum) 0 ? 'n' : ' ';
		v[24] = arg_or_null(fcinfo, C_MODEL_VERSION, &n[24]);
		v[25] = Int32GetDatum((int32) response_length);
		n[25] = response_length < 0 ? 'n' : ' ';

		if (PG_NARGS() > C_RESPONSE_LENGTH)
			ua_run_internal_write(&settle_full, v, n, 1);
		else
		{
			/* The 1.0 SQL: only a renamed price needs the 1.1 column. */
			n[24] = '\0';
			ua_run_internal_write(priced_model != (Datum) 0 ? &settle_renamed : &settle, v, n, 1);
		}
	}

	/* Actual usage in, the reservation out (unless it expired already). */
	{
		UaCounterDelta d = {0};
		bool		was_pending = strcmp(status, "pending") == 0;

		d.requests = 1;
		d.failed = failed ? 1 : 0;
		d.input_tokens = ledger.input;
		d.cached_input_tokens = ledger.cached;
		d.cache_write_tokens = ledger.write;
		d.output_tokens = ledger.output;
		d.reasoning_tokens = ledger.reasoning;
		d.cache_hits = cache_hit ? 1 : 0;
		d.cost = cost;
		d.cache_savings = priced ? parts[4] : (Datum) 0;
		d.response_time_sum = response_ms < 0 ? 0 : response_ms;
		d.response_time_count = response_ms < 0 ? 0 : 1;
		if (was_pending)
		{
			d.pending_requests = -1;
			d.pending_tokens = -reserved_tokens;
			d.pending_cost = DirectFunctionCall1(numeric_uminus, reserved_cost);
		}
		if (org_null)
			ua_counters_add(user_id, usage_date, &d);
		else
			ua_counters_add_org(org_id, user_id, usage_date, &d);
	}
	if (org_null)
		ua_notify_after_usage(user_id);
	else
		ua_notify_org_after_usage(org_id);
	old = MemoryContextSwitchTo(cxt);
	out[2] = datumCopy(cost, false, -1);
	MemoryContextSwitchTo(old);
	SPI_finish();

	out[0] = event_id;
	out[1] = CStringGetTextDatum(failed ? "failed" : "completed");
	PG_RETURN_DATUM(HeapTupleGetDatum(result_tuple(fcinfo, out, out_null)));
}

/* analytics.backend_slot(): the counter slot of this backend (counters.c). */
Datum
ua_backend_slot(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT16(UA_BACKEND_SLOT);
}
