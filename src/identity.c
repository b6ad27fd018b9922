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
 *-------------------------------------------------------------------------
 */
#include "usage_analytics.h"

#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(ua_current_user_id);

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
