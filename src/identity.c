/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  Who is the end user?  analytics.current_user_id() answers from
 *	  usage_analytics.user_id (superuser-only setting) or, when
 *	  usage_analytics.trust_jwt_claims is on, from the PostgREST claims in
 *	  request.jwt.claims (claim usage_analytics.jwt_claim, default "sub"),
 *	  falling back to the older request.jwt.claim.sub.  No identity: NULL,
 *	  which RLS matches to no row.
 *
 *	  analytics.act_as(user_id, end_user_role) is the identity recipe for
 *	  drivers and connection pools: it sets usage_analytics.user_id and the
 *	  role for the current transaction only, from values (bind parameters).
 *
 *	  On a Citus cluster the policies run on the workers, in connections
 *	  Citus opens as the current role, where usage_analytics.user_id is not
 *	  set (and an end-user role may not set it).  There act_as also sets
 *	  usage_analytics.identity_token (SET LOCAL, which Citus sends to the
 *	  workers with citus.propagate_set_commands = 'local'): the user id,
 *	  an expiry (usage_analytics.identity_token_ttl after act_as) and
 *	  HMAC-SHA256(cluster key, role, user id, expiry).  The key is in
 *	  analytics.identity_keys on every node (analytics.distribute() writes
 *	  it), readable by the extension's owner only; a token whose signature
 *	  does not verify for the current role, or whose expiry has passed, is
 *	  ignored.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "citus.h"
#include "guc.h"
#include "identity.h"
#include "spi_plans.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(ua_current_user_id);
PG_FUNCTION_INFO_V1(ua_act_as);

/* Run as the owner: role_kinds reads role_bindings. */
static UaPlan end_user_role = {
	.sql = "SELECT analytics.is_end_user_role($1)",
	.nargs = 1, .argtypes = {NAMEOID}
};

/* The claim named by usage_analytics.jwt_claim, if a non-empty string. */
static char *
claim_from_json(const char *raw)
{
	Jsonb	   *jb;
	JsonbValue	key;
	JsonbValue *val;

	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(raw)));
	if (!JB_ROOT_IS_OBJECT(jb))
		return NULL;
	key.type = jbvString;
	key.val.string.val = ua_jwt_claim;
	key.val.string.len = strlen(ua_jwt_claim);
	val = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &key);
	if (val == NULL || val->type != jbvString || val->val.string.len == 0)
		return NULL;
	return pnstrdup(val->val.string.val, val->val.string.len);
}

/* The cluster's identity key, read once per backend (TopMemoryContext). */
static uint8 *cluster_key = NULL;
static size_t cluster_key_len = 0;

/* The last token that verified, for which role, its user id and expiry. */
static char *verified_token = NULL;
static Oid	verified_role = InvalidOid;
static char *verified_user = NULL;
static pg_time_t verified_expires = 0;

#define UA_MAC_HEX_LEN (2 * PG_SHA256_DIGEST_LENGTH)

/* Read analytics.identity_keys as the owner of the schema; false: no key. */
static bool
load_cluster_key(void)
{
	Oid			nsp;
	Oid			owner;
	Oid			saved_user;
	int			saved_context;
	HeapTuple	tup;

	if (cluster_key != NULL)
		return true;
	nsp = get_namespace_oid("analytics", true);
	if (!OidIsValid(nsp))
		return false;
	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	if (!HeapTupleIsValid(tup))
		return false;
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE);
	SPI_connect();
	if (SPI_execute("SELECT k.key FROM analytics.identity_keys k", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			bytea	   *b = DatumGetByteaPP(d);
			size_t		len = VARSIZE_ANY_EXHDR(b);

			if (len >= 16)
			{
				cluster_key = MemoryContextAlloc(TopMemoryContext, len);
				memcpy(cluster_key, VARDATA_ANY(b), len);
				cluster_key_len = len;
			}
		}
	}
	SPI_finish();
	SetUserIdAndSecContext(saved_user, saved_context);
	return cluster_key != NULL;
}

/*
 * Hex HMAC-SHA256(key, role NUL user_id NUL expires), or NULL when there is
 * no key.
 */
static char *
identity_mac(const char *role, const char *user_id, size_t user_len, const char *expires,
			 size_t expires_len)
{
	pg_hmac_ctx *ctx;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	static const uint8 nul = 0;
	char	   *hex;

	if (!load_cluster_key())
		return NULL;
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL ||
		pg_hmac_init(ctx, cluster_key, cluster_key_len) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) role, strlen(role) + 1) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) user_id, user_len) < 0 ||
		pg_hmac_update(ctx, &nul, 1) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) expires, expires_len) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
		elog(ERROR, "usage_analytics: could not compute the identity signature");
	pg_hmac_free(ctx);
	hex = palloc(UA_MAC_HEX_LEN + 1);
	hex_encode((const char *) mac, sizeof(mac), hex);
	hex[UA_MAC_HEX_LEN] = '\0';
	return hex;
}

/* Now, in seconds since 1970 (a token's expiry is compared with it). */
static pg_time_t
now_seconds(void)
{
	return timestamptz_to_time_t(GetCurrentTimestamp());
}

/*
 * The user id of a token ("user_id/expires/mac", expires in seconds since
 * 1970) that verifies for the current role and has not expired, else NULL.
 * The user id may hold '/': the token is parsed from its end.
 */
static char *
token_identity(const char *token)
{
	size_t		len = strlen(token);
	size_t		user_len;
	const char *expires;
	size_t		expires_len;
	pg_time_t	expires_at = 0;
	Oid			role = GetUserId();
	char	   *role_name;
	char	   *mac;
	int			diff = 0;

	if (verified_token != NULL && verified_role == role && strcmp(verified_token, token) == 0)
		return now_seconds() < verified_expires ? pstrdup(verified_user) : NULL;
	if (len <= UA_MAC_HEX_LEN + 1 || token[len - UA_MAC_HEX_LEN - 1] != '/')
		return NULL;
	/* The expiry: the digits between the last two slashes. */
	expires_len = 0;
	expires = token + len - UA_MAC_HEX_LEN - 1;
	while (expires > token && isdigit((unsigned char) expires[-1]) && expires_len < 18)
	{
		expires--;
		expires_len++;
	}
	if (expires_len == 0 || expires == token || expires[-1] != '/')
		return NULL;
	for (size_t i = 0; i < expires_len; i++)
		expires_at = expires_at * 10 + (expires[i] - '0');
	user_len = expires - token - 1;
	role_name = GetUserNameFromId(role, true);
	if (role_name == NULL)
		return NULL;
	mac = identity_mac(role_name, token, user_len, expires, expires_len);
	if (mac == NULL)
		return NULL;
	for (int i = 0; i < UA_MAC_HEX_LEN; i++)
		diff |= mac[i] ^ token[len - UA_MAC_HEX_LEN + i];
	if (diff != 0 || now_seconds() >= expires_at)
		return NULL;

	if (verified_token)
		pfree(verified_token);
	if (verified_user)
		pfree(verified_user);
	verified_token = MemoryContextStrdup(TopMemoryContext, token);
	verified_user = MemoryContextAlloc(TopMemoryContext, user_len + 1);
	memcpy(verified_user, token, user_len);
	verified_user[user_len] = '\0';
	verified_role = role;
	verified_expires = expires_at;
	return pstrdup(verified_user);
}

/* The end user's id, or NULL; palloc'd in the current context. */
char *
ua_identity(void)
{
	const char *raw;

	if (ua_user_id_setting && ua_user_id_setting[0] != '\0')
		return pstrdup(ua_user_id_setting);
	if (ua_identity_token && ua_identity_token[0] != '\0')
	{
		char	   *id = token_identity(ua_identity_token);

		if (id != NULL)
			return id;
	}
	if (!ua_trust_jwt_claims)
		return NULL;

	raw = GetConfigOption("request.jwt.claims", true, false);
	if (raw && raw[0] != '\0')
		return claim_from_json(raw);
	raw = GetConfigOption("request.jwt.claim.sub", true, false);
	if (raw && raw[0] != '\0')
		return pstrdup(raw);
	return NULL;
}

Datum
ua_current_user_id(PG_FUNCTION_ARGS)
{
	char	   *id = ua_identity();

	if (id == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(id));
}

/*
 * analytics.act_as(user_id text, end_user_role name): for the rest of the
 * current transaction, act for user_id as end_user_role (SET LOCAL of
 * usage_analytics.user_id and of role).  Both end with the transaction,
 * savepoint rollbacks included, so a pooled connection never carries one
 * client's identity into the next transaction.  Only app backends may
 * call it (EXECUTE); the role must be bound by grant_end_user and hold no
 * all-rows access, and the session user must be a member of it
 * (grant_act_as), as for SET ROLE.  Once switched, the end-user role
 * cannot call it again nor set the identity itself.
 */
Datum
ua_act_as(PG_FUNCTION_ARGS)
{
	char	   *user_id;
	char	   *role;
	UaSavedUser saved;
	bool		ok;
	bool		isnull;
	Datum		arg;

	ua_check_text(fcinfo, 0, "user_id", UA_MAX_ID_BYTES, true);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("end_user_role must not be null")));
	if (!IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("act_as must be called inside a transaction block"),
				 errdetail("The identity and role it sets last until the end of the transaction."),
				 errhint("Run BEGIN first, and the end user's statements before COMMIT.")));
	user_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	role = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	(void) get_role_oid(role, false);

	arg = PG_GETARG_DATUM(1);
	SPI_connect();
	ua_become_function_owner(fcinfo, &saved);
	ua_run(&end_user_role, &arg, NULL, true, 1);
	ok = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	ua_restore_user(&saved);
	SPI_finish();
	if (isnull || !ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" is not an end-user role", role),
				 errdetail("act_as switches only to roles bound by analytics.grant_end_user() that hold no app backend or admin access.")));

	/* The identity (our own check replaces SET's), then the role (checked
	 * by PostgreSQL: the session user must be a member). */
	(void) set_config_option("usage_analytics.user_id", user_id, PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	(void) set_config_option("role", role, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);

	/*
	 * On a Citus cluster, the signed identity for the workers: a SET LOCAL
	 * statement, which Citus's utility hook records and sends at the start
	 * of every remote transaction of this one.
	 */
	if (ua_citus())
	{
		char	   *expires = psprintf(INT64_FORMAT, (int64) (now_seconds() + ua_identity_token_ttl));
		char	   *mac = identity_mac(role, user_id, strlen(user_id), expires, strlen(expires));
		StringInfoData cmd;

		if (mac == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the cluster has no identity key"),
					 errhint("Run analytics.distribute() on the coordinator.")));
		(void) set_config_option("citus.propagate_set_commands", "local", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
		initStringInfo(&cmd);
		appendStringInfo(&cmd, "SET LOCAL usage_analytics.identity_token TO %s",
						 quote_literal_cstr(psprintf("%s/%s/%s", user_id, expires, mac)));
		SPI_connect();
		if (SPI_execute(cmd.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "usage_analytics: could not set the identity token");
		SPI_finish();
	}
	PG_RETURN_VOID();
}
