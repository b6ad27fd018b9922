/*-------------------------------------------------------------------------
 *
 * api_keys.c
 *	  API keys of organizations (sql/src/api_keys.sql): the key generator,
 *	  analytics.authenticate_api_key() and the gateway's one call per
 *	  request, analytics.authorize_api_request(), which authenticates and
 *	  charges the key's rate limits.
 *
 *	  A key is "ua_live_" or "ua_test_" and 40 base62 characters drawn from
 *	  pg_strong_random() (rejection sampling: no modulo bias).  Its first
 *	  16 characters are the stored, unique prefix; the whole key's SHA-256
 *	  (pg_cryptohash) is the stored hash.  Authentication finds the row by
 *	  prefix and compares the hashes in constant time; a malformed key, an
 *	  unknown prefix and a wrong hash are the same error (28000), whichever
 *	  organization owns the prefix.  Then, in this order: revoked (28U01),
 *	  expired (28U02), organization suspended (28U03), origin not allowed
 *	  (42U01), IP outside the allow-list (42U02), scope missing (42501).
 *
 *	  last_used_at: written only when older than a minute, by an UPDATE
 *	  that skips the row if another transaction holds it (FOR UPDATE SKIP
 *	  LOCKED), and only under READ COMMITTED: a request never waits for it,
 *	  and one key gets at most about one write a minute.
 *
 *	  Rate limits, exact: per key, fixed UTC minutes and hours (those of the
 *	  transaction's start, now(), as every time here).  A charge
 *	  takes the key's admission lock (an advisory lock, key
 *	  hashtextextended('usage_analytics.api_key:' || key_id, 0)) only while
 *	  it counts and adds, and releases it before returning, not at commit:
 *	  chargers of one key never wait for each other's commit.  The count
 *	  reads the key's slots of api_key_counters with a dirty snapshot, so it
 *	  sees the charges of transactions still running; a slot row being
 *	  updated shows its old and its new version, and the count takes, per
 *	  slot, the version with the most requests (a slot only grows in its
 *	  hour, and only its backend updates it).  A charge whose transaction
 *	  aborts disappears with it.  So the admitted charges of a window,
 *	  committed or running, never exceed its limit.  Nothing is waited for
 *	  while the lock is held (the own slot's row is never locked by another
 *	  transaction), so no deadlock can form through it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inet.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "compat.h"
#include "scan.h"
#include "spi_plans.h"

PG_FUNCTION_INFO_V1(ua_api_key_generate);
PG_FUNCTION_INFO_V1(ua_authenticate_api_key);
PG_FUNCTION_INFO_V1(ua_authorize_api_request);

#define UA_ERRCODE_API_KEY_REVOKED		MAKE_SQLSTATE('2','8','U','0','1')
#define UA_ERRCODE_API_KEY_EXPIRED		MAKE_SQLSTATE('2','8','U','0','2')
#define UA_ERRCODE_ORG_SUSPENDED		MAKE_SQLSTATE('2','8','U','0','3')
#define UA_ERRCODE_ORIGIN_NOT_ALLOWED	MAKE_SQLSTATE('4','2','U','0','1')
#define UA_ERRCODE_IP_NOT_ALLOWED		MAKE_SQLSTATE('4','2','U','0','2')

#define UA_KEY_HEAD_LEN		8		/* "ua_live_" */
#define UA_KEY_RANDOM_LEN	40
#define UA_KEY_LEN			(UA_KEY_HEAD_LEN + UA_KEY_RANDOM_LEN)
#define UA_KEY_PREFIX_LEN	16
#define UA_DIGEST_LEN		32

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void
sha256(const char *data, size_t len, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, UA_DIGEST_LEN) < 0)
		elog(ERROR, "usage_analytics: could not compute SHA-256: %s",
			 ctx ? pg_cryptohash_error(ctx) : "out of memory");
	pg_cryptohash_free(ctx);
}

/* Equal digests?  Time independent of where they differ. */
static bool
digest_equal(const uint8 *a, const uint8 *b)
{
	volatile uint8 d = 0;
	int			i;

	for (i = 0; i < UA_DIGEST_LEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* Random base62 characters into out[0..n-1]. */
static void
random_base62(char *out, int n)
{
	uint8		buf[64];
	int			have = 0;
	int			used = 0;

	while (have < n)
	{
		uint8		b;

		if (used == 0 || used == (int) sizeof(buf))
		{
			if (!pg_strong_random(buf, sizeof(buf)))
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("could not generate random bytes for an api key")));
			used = 0;
		}
		b = buf[used++];
		if (b >= 248)			/* 4 * 62: keep the draw uniform */
			continue;
		out[have++] = base62[b % 62];
	}
}

/* analytics.api_key_generate(environment) -> (api_key, key_prefix, key_hash) */
Datum
ua_api_key_generate(PG_FUNCTION_ARGS)
{
	char	   *env = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		key[UA_KEY_LEN + 1];
	uint8		digest[UA_DIGEST_LEN];
	bytea	   *hash = palloc(VARHDRSZ + UA_DIGEST_LEN);
	TupleDesc	desc;
	Datum		v[3];
	bool		n[3] = {false, false, false};

	if (strcmp(env, "live") != 0 && strcmp(env, "test") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("environment must be live or test")));
	snprintf(key, sizeof(key), "ua_%s_", env);
	random_base62(key + UA_KEY_HEAD_LEN, UA_KEY_RANDOM_LEN);
	key[UA_KEY_LEN] = '\0';
	sha256(key, UA_KEY_LEN, digest);
	SET_VARSIZE(hash, VARHDRSZ + UA_DIGEST_LEN);
	memcpy(VARDATA(hash), digest, UA_DIGEST_LEN);

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "usage_analytics: return type must be a row type");
	v[0] = CStringGetTextDatum(key);
	v[1] = PointerGetDatum(cstring_to_text_with_len(key, UA_KEY_PREFIX_LEN));
	v[2] = PointerGetDatum(hash);
	explicit_bzero(key, sizeof(key));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, n)));
}

/* The row of an authenticated key. */
typedef struct UaKey
{
	Datum		org_id;
	int64		key_id;
	Datum		environment;
	Datum		scopes;
	bool		has_limit[2];	/* per minute, per hour */
	int64		limit[2];
	bool		last_used_null;
	TimestampTz last_used_at;
} UaKey;

static bool
well_formed(const char *k, int len)
{
	int			i;

	if (len != UA_KEY_LEN ||
		(memcmp(k, "ua_live_", UA_KEY_HEAD_LEN) != 0 && memcmp(k, "ua_test_", UA_KEY_HEAD_LEN) != 0))
		return false;
	for (i = UA_KEY_HEAD_LEN; i < UA_KEY_LEN; i++)
		if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z')))
			return false;
	return true;
}

static void
unknown_key(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("invalid api key")));
}

/* Is text t (case-insensitively) in the text[] list, or is '*'? */
static bool
origin_listed(ArrayType *list, const char *origin)
{
	Datum	   *items;
	bool	   *nulls;
	int			n;
	int			i;

	deconstruct_array(list, TEXTOID, -1, false, TYPALIGN_INT, &items, &nulls, &n);
	if (n == 0)
		return true;
	for (i = 0; i < n; i++)
	{
		char	   *s;

		if (nulls[i])
			continue;
		s = TextDatumGetCString(items[i]);
		if (strcmp(s, "*") == 0 || (origin != NULL && pg_strcasecmp(s, origin) == 0))
			return true;
	}
	return false;
}

static bool
ip_listed(ArrayType *list, Datum ip, bool ip_null)
{
	Datum	   *items;
	bool	   *nulls;
	int			n;
	int			i;

	deconstruct_array(list, CIDROID, -1, false, TYPALIGN_INT, &items, &nulls, &n);
	if (n == 0)
		return true;
	if (ip_null)
		return false;
	for (i = 0; i < n; i++)
		if (!nulls[i] && DatumGetBool(DirectFunctionCall2(network_subeq, ip, items[i])))
			return true;
	return false;
}

static bool
scope_listed(Datum scopes, const char *scope)
{
	Datum	   *items;
	bool	   *nulls;
	int			n;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(scopes), TEXTOID, -1, false, TYPALIGN_INT, &items, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		char	   *s;

		if (nulls[i])
			continue;
		s = TextDatumGetCString(items[i]);
		if (strcmp(s, "*") == 0 || strcmp(s, scope) == 0)
			return true;
	}
	return false;
}

/* Is the organization suspended? */
static bool
org_suspended(Datum org_id, Snapshot snap)
{
	UaScan		s;
	bool		isnull;
	bool		suspended = false;

	ua_scan_open(&s, "organizations", "organizations_pkey");
	ua_scan_key(&s, "org_id", BTEqualStrategyNumber, F_TEXTEQ, org_id);
	ua_scan_begin(&s, snap);
	if (ua_scan_next(&s))
	{
		text	   *st = DatumGetTextPP(ua_scan_column(&s, "status", &isnull));

		suspended = !(VARSIZE_ANY_EXHDR(st) == 6 && memcmp(VARDATA_ANY(st), "active", 6) == 0);
	}
	ua_scan_close(&s);
	return suspended;
}

static UaPlan touch_key = {
	.sql = "WITH l AS (SELECT k.org_id, k.key_id FROM analytics.api_keys k "
	"  WHERE k.org_id = $1 AND k.key_id = $2 "
	"    AND (k.last_used_at IS NULL OR k.last_used_at < $3 - interval '1 minute') "
	"  FOR UPDATE SKIP LOCKED) "
	"UPDATE analytics.api_keys k SET last_used_at = $3 FROM l "
	"WHERE k.org_id = l.org_id AND k.key_id = l.key_id",
	.nargs = 3, .argtypes = {TEXTOID, INT8OID, TIMESTAMPTZOID}
};

/* Connect SPI on first use (what is palloc'd before stays the caller's). */
static void
spi_on(bool *connected)
{
	if (!*connected)
		SPI_connect();
	*connected = true;
}

/*
 * Authenticate: the key's row, or an error saying why not.  Arguments 0-3
 * of fcinfo: api_key, origin, ip, scope.  Reads before it connects SPI (to
 * write last_used_at), so the row's values outlive SPI_finish.
 */
static void
authenticate(FunctionCallInfo fcinfo, TimestampTz now, UaKey *k, bool *spi)
{
	static const uint8 no_digest[UA_DIGEST_LEN];
	text	   *key;
	char	   *kp;
	int			klen;
	uint8		digest[UA_DIGEST_LEN];
	bool		found = false;
	bool		match;
	Snapshot	snap = GetActiveSnapshot();
	UaScan		s;
	bool		isnull;
	Datum		d;
	bool		revoked = false;
	bool		expired = false;
	Datum		origins = (Datum) 0;
	Datum		ips = (Datum) 0;
	uint8		stored[UA_DIGEST_LEN];

	if (PG_ARGISNULL(0))
		unknown_key();
	key = PG_GETARG_TEXT_PP(0);
	kp = VARDATA_ANY(key);
	klen = VARSIZE_ANY_EXHDR(key);
	if (!well_formed(kp, klen))
		unknown_key();
	sha256(kp, klen, digest);

	memset(k, 0, sizeof(UaKey));
	memcpy(stored, no_digest, UA_DIGEST_LEN);
	ua_scan_open(&s, "api_keys", "api_keys_key_prefix_key");
	ua_scan_key(&s, "key_prefix", BTEqualStrategyNumber, F_TEXTEQ,
				PointerGetDatum(cstring_to_text_with_len(kp, UA_KEY_PREFIX_LEN)));
	ua_scan_begin(&s, snap);
	if (ua_scan_next(&s))
	{
		bytea	   *h = DatumGetByteaPP(ua_scan_column(&s, "key_hash", &isnull));

		found = true;
		if (VARSIZE_ANY_EXHDR(h) == UA_DIGEST_LEN)
			memcpy(stored, VARDATA_ANY(h), UA_DIGEST_LEN);
		k->org_id = ua_scan_column_copy(&s, "org_id", &isnull);
		k->key_id = DatumGetInt64(ua_scan_column(&s, "key_id", &isnull));
		k->environment = ua_scan_column_copy(&s, "environment", &isnull);
		k->scopes = ua_scan_column_copy(&s, "scopes", &isnull);
		d = ua_scan_column(&s, "revoked_at", &isnull);
		revoked = !isnull && DatumGetTimestampTz(d) <= now;
		d = ua_scan_column(&s, "expires_at", &isnull);
		expired = !isnull && DatumGetTimestampTz(d) <= now;
		origins = ua_scan_column_copy(&s, "allowed_origins", &isnull);
		ips = ua_scan_column_copy(&s, "ip_allowlist", &isnull);
		d = ua_scan_column(&s, "rate_limit_per_minute", &isnull);
		k->has_limit[0] = !isnull;
		k->limit[0] = isnull ? 0 : DatumGetInt32(d);
		d = ua_scan_column(&s, "rate_limit_per_hour", &isnull);
		k->has_limit[1] = !isnull;
		k->limit[1] = isnull ? 0 : DatumGetInt32(d);
		d = ua_scan_column(&s, "last_used_at", &k->last_used_null);
		k->last_used_at = k->last_used_null ? 0 : DatumGetTimestampTz(d);
	}
	ua_scan_close(&s);

	/* Always one comparison: an unknown prefix costs what a wrong key does. */
	match = digest_equal(digest, stored);
	if (!found || !match)
		unknown_key();

	if (revoked)
		ereport(ERROR,
				(errcode(UA_ERRCODE_API_KEY_REVOKED),
				 errmsg("api key has been revoked")));
	if (expired)
		ereport(ERROR,
				(errcode(UA_ERRCODE_API_KEY_EXPIRED),
				 errmsg("api key has expired")));
	if (org_suspended(k->org_id, snap))
		ereport(ERROR,
				(errcode(UA_ERRCODE_ORG_SUSPENDED),
				 errmsg("the organization of this api key is suspended")));
	if (origins != (Datum) 0 &&
		!origin_listed(DatumGetArrayTypeP(origins), PG_ARGISNULL(1) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(1))))
		ereport(ERROR,
				(errcode(UA_ERRCODE_ORIGIN_NOT_ALLOWED),
				 errmsg("origin not allowed for this api key")));
	if (ips != (Datum) 0 &&
		!ip_listed(DatumGetArrayTypeP(ips), PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2)))
		ereport(ERROR,
				(errcode(UA_ERRCODE_IP_NOT_ALLOWED),
				 errmsg("ip address not allowed for this api key")));
	if (!PG_ARGISNULL(3) && !scope_listed(k->scopes, TextDatumGetCString(PG_GETARG_DATUM(3))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("api key lacks scope \"%s\"", TextDatumGetCString(PG_GETARG_DATUM(3)))));

	/* last_used_at, to the minute, without waiting. */
	if (XactIsoLevel == XACT_READ_COMMITTED &&
		(k->last_used_null || k->last_used_at < now - USECS_PER_MINUTE))
	{
		Datum		v[3];

		v[0] = k->org_id;
		v[1] = Int64GetDatum(k->key_id);
		v[2] = TimestampTzGetDatum(now);
		spi_on(spi);
		ua_run(&touch_key, v, NULL, false, -1);
	}
}

Datum
ua_authenticate_api_key(PG_FUNCTION_ARGS)
{
	UaKey		k;
	TupleDesc	desc;
	Datum		v[4];
	bool		n[4] = {false, false, false, false};
	HeapTuple	tup;
	bool		spi = false;

	authenticate(fcinfo, GetCurrentTransactionStartTimestamp(), &k, &spi);
	if (spi)
		SPI_finish();

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "usage_analytics: return type must be a row type");
	v[0] = Int64GetDatum(k.key_id);
	v[1] = k.org_id;
	v[2] = k.environment;
	v[3] = k.scopes;
	tup = heap_form_tuple(BlessTupleDesc(desc), v, n);
	PG_RETURN_DATUM(HeapTupleGetDatum(tup));
}

/* ------------------------------------------------------------------------
 * Rate limits
 * ------------------------------------------------------------------------ */

/* One slot's newest version, as the dirty count sees it. */
typedef struct UaSlotCount
{
	int16		slot;
	int64		requests;
	TimestampTz minute_start;
	int64		minute_requests;
} UaSlotCount;

/*
 * Requests charged to the key in the hour (used[1]) and in the minute
 * (used[0]), committed or not: every slot's version with the most requests,
 * of the versions a dirty snapshot shows.
 */
static void
count_charges(const UaKey *k, TimestampTz hour, TimestampTz minute, int64 *used)
{
	SnapshotData dirty;
	UaScan		s;
	UaSlotCount *slots = NULL;
	int			nslots = 0;
	int			cap = 0;
	bool		isnull;
	int			i;

	InitDirtySnapshot(dirty);
	ua_scan_open(&s, "api_key_counters", "api_key_counters_pkey");
	ua_scan_key(&s, "org_id", BTEqualStrategyNumber, F_TEXTEQ, k->org_id);
	ua_scan_key(&s, "key_id", BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(k->key_id));
	ua_scan_key(&s, "hour_start", BTEqualStrategyNumber, F_TIMESTAMPTZ_EQ, TimestampTzGetDatum(hour));
	ua_scan_begin(&s, &dirty);
	while (ua_scan_next(&s))
	{
		int16		slot = DatumGetInt16(ua_scan_column(&s, "slot", &isnull));
		int64		req = DatumGetInt64(ua_scan_column(&s, "requests", &isnull));

		for (i = 0; i < nslots && slots[i].slot != slot; i++)
			;
		if (i == nslots)
		{
			if (nslots == cap)
			{
				cap = cap == 0 ? 16 : cap * 2;
				slots = slots == NULL ? palloc(cap * sizeof(UaSlotCount))
					: repalloc(slots, cap * sizeof(UaSlotCount));
			}
			slots[nslots].slot = slot;
			slots[nslots].requests = -1;
			nslots++;
		}
		if (req > slots[i].requests)
		{
			slots[i].requests = req;
			slots[i].minute_start = DatumGetTimestampTz(ua_scan_column(&s, "minute_start", &isnull));
			slots[i].minute_requests = DatumGetInt64(ua_scan_column(&s, "minute_requests", &isnull));
		}
	}
	ua_scan_close(&s);

	used[0] = used[1] = 0;
	for (i = 0; i < nslots; i++)
	{
		used[1] += slots[i].requests;
		if (slots[i].minute_start == minute)
			used[0] += slots[i].minute_requests;
	}
}

static UaPlan add_charge = {
	.sql = "INSERT INTO analytics.api_key_counters AS c "
	"  (org_id, key_id, hour_start, slot, requests, minute_start, minute_requests) "
	"VALUES ($1, $2, $3, $4, 1, $5, 1) "
	"ON CONFLICT (org_id, key_id, hour_start, slot) DO UPDATE "
	"SET requests = c.requests + 1, "
	"    minute_requests = CASE WHEN c.minute_start >= excluded.minute_start "
	"                           THEN c.minute_requests + 1 ELSE 1 END, "
	"    minute_start = GREATEST(c.minute_start, excluded.minute_start)",
	.nargs = 5, .argtypes = {TEXTOID, INT8OID, TIMESTAMPTZOID, INT2OID, TIMESTAMPTZOID}
};

/* The usual case, cheaper than the upsert: the slot's row of the hour exists. */
static UaPlan bump_charge = {
	.sql = "UPDATE analytics.api_key_counters c "
	"SET requests = c.requests + 1, "
	"    minute_requests = CASE WHEN c.minute_start >= $5 THEN c.minute_requests + 1 ELSE 1 END, "
	"    minute_start = GREATEST(c.minute_start, $5) "
	"WHERE c.org_id = $1 AND c.key_id = $2 AND c.hour_start = $3 AND c.slot = $4",
	.nargs = 5, .argtypes = {TEXTOID, INT8OID, TIMESTAMPTZOID, INT2OID, TIMESTAMPTZOID}
};

static UaPlan add_refusal = {
	.sql = "INSERT INTO analytics.api_key_rate_limited AS r "
	"  (org_id, key_id, limit_name, period_start, slot, refused) "
	"VALUES ($1, $2, $3, $4, $5, 1) "
	"ON CONFLICT (org_id, key_id, limit_name, period_start, slot) DO UPDATE "
	"SET refused = r.refused + 1",
	.nargs = 5, .argtypes = {TEXTOID, INT8OID, TEXTOID, TIMESTAMPTZOID, INT2OID}
};

static TimestampTz
window_start(TimestampTz at, int64 len)
{
	int64		start = at - at % len;

	if (at % len < 0)
		start -= len;
	return start;
}

Datum
ua_authorize_api_request(PG_FUNCTION_ARGS)
{
	static const char *const limit_names[2] = {"rate_limit_per_minute", "rate_limit_per_hour"};
	static const int64 lengths[2] = {USECS_PER_MINUTE, USECS_PER_HOUR};
	UaKey		k;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	TimestampTz start[2];
	int64		used[2] = {0, 0};
	int			refused_by = -1;
	int			binding = -1;
	int64		remaining = 0;
	TupleDesc	desc;
	Datum		v[9];
	bool		n[9];
	int			w;
	bool		spi = false;

	authenticate(fcinfo, now, &k, &spi);

	start[0] = window_start(now, lengths[0]);
	start[1] = window_start(now, lengths[1]);
	if (k.has_limit[0] || k.has_limit[1])
	{
		char	   *name = psprintf("usage_analytics.api_key:" INT64_FORMAT, k.key_id);
		int64		lock_key = DatumGetInt64(DirectFunctionCall2Coll(hashtextextended, C_COLLATION_OID,
																	 CStringGetTextDatum(name),
																	 Int64GetDatum(0)));
		LOCKTAG		tag;

		/* pg_advisory_xact_lock(lock_key), released once charged. */
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (lock_key >> 32), (uint32) lock_key, 1);
		spi_on(&spi);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);

		count_charges(&k, start[1], start[0], used);
		for (w = 0; w < 2; w++)
			if (k.has_limit[w] && used[w] >= k.limit[w] && refused_by < 0)
				refused_by = w;
		if (refused_by < 0)
		{
			Datum		a[5];

			a[0] = k.org_id;
			a[1] = Int64GetDatum(k.key_id);
			a[2] = TimestampTzGetDatum(start[1]);
			a[3] = Int16GetDatum(UA_BACKEND_SLOT);
			a[4] = TimestampTzGetDatum(start[0]);
			ua_run(&bump_charge, a, NULL, false, -1);
			if (SPI_processed == 0)
				ua_run(&add_charge, a, NULL, false, 1);
		}
		LockRelease(&tag, ExclusiveLock, false);

		if (refused_by >= 0)
		{
			Datum		a[5];

			a[0] = k.org_id;
			a[1] = Int64GetDatum(k.key_id);
			a[2] = CStringGetTextDatum(limit_names[refused_by]);
			a[3] = TimestampTzGetDatum(start[refused_by]);
			a[4] = Int16GetDatum(UA_BACKEND_SLOT);
			ua_run(&add_refusal, a, NULL, false, 1);
			binding = refused_by;
		}
		else
			for (w = 0; w < 2; w++)
				if (k.has_limit[w] && (binding < 0 || k.limit[w] - used[w] - 1 < remaining))
				{
					binding = w;
					remaining = k.limit[w] - used[w] - 1;
				}
	}
	if (spi)
		SPI_finish();

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "usage_analytics: return type must be a row type");
	memset(n, false, sizeof(n));
	v[0] = BoolGetDatum(refused_by < 0);
	v[1] = CStringGetTextDatum(refused_by < 0 ? "allowed" : "rate_limited");
	v[2] = Int64GetDatum(k.key_id);
	v[3] = k.org_id;
	v[4] = k.environment;
	v[5] = k.scopes;
	if (binding < 0)
		n[6] = n[7] = n[8] = true;
	else
	{
		v[6] = CStringGetTextDatum(limit_names[binding]);
		v[7] = Int64GetDatum(refused_by >= 0 ? 0 : remaining);
		v[8] = TimestampTzGetDatum(start[binding] + lengths[binding]);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, n)));
}
