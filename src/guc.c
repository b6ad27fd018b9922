/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  The settings of usage_analytics, all declared here.  Each one is
 *	  documented in the README's settings table.
 *
 *	  usage_analytics.user_id is PGC_SUSET: only superusers and roles
 *	  granted SET ON PARAMETER (the app backend) can set it, so an end-user
 *	  role cannot claim another user's identity.  The prefix is reserved,
 *	  which also discards placeholders set before the library was loaded.
 *
 *	  SQL code reads the settings through analytics.setting(name), a C
 *	  function: calling it loads the library, which defines the settings.
 *	  current_setting() would fail as the first call of a session (pg_cron
 *	  runs every job in a new one) with "unrecognized configuration
 *	  parameter".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "guc.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(ua_setting);

char	   *ua_user_id_setting = NULL;
char	   *ua_identity_token = NULL;
int			ua_identity_token_ttl = 600;
bool		ua_trust_jwt_claims = false;
char	   *ua_jwt_claim = NULL;
char	   *ua_default_plan = NULL;
int			ua_max_metadata_bytes = 16384;
bool		ua_internal_write = false;
bool		ua_notify_enabled = true;
int			ua_reservation_ttl = 600;
int			ua_retention_months = 13;
int			ua_payload_retention_days = 0;
int			ua_max_batch_events = 10000;

static bool
check_user_id(char **newval, void **extra, GucSource source)
{
	if (*newval && strlen(*newval) > UA_MAX_ID_BYTES)
	{
		GUC_check_errdetail("A user id is at most %d bytes long.", UA_MAX_ID_BYTES);
		return false;
	}
	return true;
}

void
ua_define_gucs(void)
{
	DefineCustomStringVariable("usage_analytics.user_id",
							   "The end user this session acts for.",
							   "Read by analytics.current_user_id(); RLS shows this user's rows only. "
							   "Superuser-only: grant SET ON PARAMETER to the app's backend role.",
							   &ua_user_id_setting,
							   "",
							   PGC_SUSET,
							   0,
							   check_user_id, NULL, NULL);

	DefineCustomStringVariable("usage_analytics.identity_token",
							   "The end user a Citus worker's query acts for, signed by act_as.",
							   "Set by analytics.act_as on a distributed install (SET LOCAL, which Citus "
							   "sends to the workers); analytics.current_user_id() takes it only when its "
							   "signature (the cluster's key, the current role, the user id, the expiry) "
							   "verifies and its expiry has not passed.",
							   &ua_identity_token,
							   "",
							   PGC_USERSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("usage_analytics.identity_token_ttl",
							"How long the signed identity act_as sends to Citus workers stays valid.",
							"Past it the workers ignore the token (the end user sees no distributed rows); "
							"the nodes' clocks must agree to well within it.",
							&ua_identity_token_ttl,
							600,
							1, 24 * 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("usage_analytics.trust_jwt_claims",
							 "Take the end user from request.jwt.claims (PostgREST, Supabase).",
							 "Only safe when end users reach the database through PostgREST alone: "
							 "any role can set request.jwt.claims.",
							 &ua_trust_jwt_claims,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("usage_analytics.jwt_claim",
							   "The claim of request.jwt.claims that holds the user id.",
							   NULL,
							   &ua_jwt_claim,
							   "sub",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("usage_analytics.default_plan",
							   "The plan of users without a subscription.",
							   NULL,
							   &ua_default_plan,
							   "free",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("usage_analytics.max_metadata_bytes",
							"Largest metadata document accepted by the write path.",
							NULL,
							&ua_max_metadata_bytes,
							16384,
							0, 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("usage_analytics.notify_thresholds",
							 "Record and NOTIFY usage thresholds reached, in the writing transaction.",
							 "Costs one quota evaluation per recorded event; off skips it.",
							 &ua_notify_enabled,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("usage_analytics.reservation_ttl",
							"Time after which an unsettled start_request reservation expires.",
							"analytics.expire_reservations() releases older reservations.",
							&ua_reservation_ttl,
							600,
							1, 7 * 24 * 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("usage_analytics.retention_months",
							"Months of raw events kept before the current one.",
							"analytics.apply_retention() drops older monthly partitions; rollups stay.",
							&ua_retention_months,
							13,
							1, 1200,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("usage_analytics.payload_retention_days",
							"Days an event keeps its free text: metadata, error_message, feedback_text.",
							"analytics.apply_retention() clears them in older events; 0 keeps them as long as the event.",
							&ua_payload_retention_days,
							0,
							0, 36500,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("usage_analytics.max_batch_events",
							"Most events one record_chat_events call accepts.",
							"A larger batch is refused (54000) before anything is written.",
							&ua_max_batch_events,
							10000,
							1, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	/*
	 * Set only by the extension's own functions (a SET clause in their
	 * definition): lets them update rows of the append-only log.
	 */
	DefineCustomBoolVariable("usage_analytics.internal_write",
							 "Internal: the extension's functions are updating the raw log.",
							 NULL,
							 &ua_internal_write,
							 false,
							 PGC_SUSET,
							 GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	UA_RESERVE_GUC_PREFIX("usage_analytics");
}

/*
 * analytics.setting(name): the value of usage_analytics.<name>, as SHOW
 * prints it.  Being C, the call itself defines the settings.
 */
Datum
ua_setting(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *full = psprintf("usage_analytics.%s", name);
	const char *value;

	if (strchr(name, '.') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("setting name \"%s\" must not be qualified", name),
				 errhint("Pass the name without the usage_analytics. prefix.")));
	value = GetConfigOptionByName(full, NULL, true);
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("unrecognized setting \"%s\"", full)));
	PG_RETURN_TEXT_P(cstring_to_text(value));
}
