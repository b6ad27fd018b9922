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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
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

/* The end user's id, or NULL; palloc'd in the current context. */
char *
ua_identity(void)
{
	const char *raw;

	if (ua_user_id_setting && ua_user_id_setting[0] != '\0')
		return pstrdup(ua_user_id_setting);
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
	PG_RETURN_VOID();
}
