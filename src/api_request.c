/*-------------------------------------------------------------------------
 *
 * api_request.c
 *	  analytics.record_api_request(): one API request of an organization into
 *	  analytics.api_requests.  Every argument is checked before anything is
 *	  written; the organization (and the widget) must exist; a repeat of
 *	  (org_id, request_id) returns the first request's id and records
 *	  nothing (analytics.api_request_keys, claimed as request_keys.c claims
 *	  an event's key: a concurrent repeat waits for the first); the row goes
 *	  in through the write path's direct insert (event_insert.c).
 *
 *	  The organization and the widget are read, not locked: a busy
 *	  organization's requests share no row.  SQL declaration: SECURITY
 *	  DEFINER with a pinned search_path; SPI runs with the owner's rights.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "event_insert.h"
#include "guc.h"
#include "spi_plans.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(ua_record_api_request);

/* The arguments of analytics.record_api_request, in order. */
enum
{
	A_ORG_ID, A_ENDPOINT, A_METHOD, A_STATUS_CODE, A_RESPONSE_TIME_MS, A_CACHED,
	A_WIDGET_ID, A_BILLABLE_UNITS, A_API_KEY_ID, A_ORIGIN, A_USER_AGENT, A_IP_ADDRESS,
	A_COUNTRY_CODE, A_METADATA, A_REQUEST_ID, A_OCCURRED_AT, A_USER_ID,
	A_NARGS
};

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"
};

/*
 * ISO 3166-1 alpha-2: the 249 assigned codes, and XK (Kosovo, as GeoIP
 * databases report it).
 */
static const char country_codes[] =
	"ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ"
	"CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFO"
	"FRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJE"
	"JMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMO"
	"MPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPW"
	"PYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTM"
	"TNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZWXK";

static UaPlan find_org = {
	.sql = "SELECT 1 FROM analytics.organizations o WHERE o.org_id = $1",
	.nargs = 1, .argtypes = {TEXTOID}
};

static UaPlan find_widget = {
	.sql = "SELECT 1 FROM analytics.widgets w WHERE w.org_id = $1 AND w.widget_id = $2",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

static UaPlan claim_key = {
	.sql = "INSERT INTO analytics.api_request_keys AS k (org_id, request_id, api_request_id, occurred_at) "
	"VALUES ($1, $2, pg_catalog.nextval('analytics.api_requests_id_seq'), $3) "
	"ON CONFLICT (org_id, request_id) DO NOTHING RETURNING k.api_request_id",
	.nargs = 3, .argtypes = {TEXTOID, TEXTOID, TIMESTAMPTZOID}
};

/* Run with read_only = false: a new snapshot sees the key ON CONFLICT waited for. */
static UaPlan find_key = {
	.sql = "SELECT k.api_request_id FROM analytics.api_request_keys k "
	"WHERE k.org_id = $1 AND k.request_id = $2",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

/* The argument as a C string, or NULL. */
static char *
arg_cstring(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static void
check_not_empty(const char *value, const char *name)
{
	if (value != NULL && value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name)));
}

static void
check_length(const char *value, const char *name, size_t max)
{
	if (value != NULL && strlen(value) > max)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is longer than %zu bytes", name, max)));
}

/* Upper case of an ASCII string, in place. */
static char *
upper_ascii(char *s)
{
	char	   *p;

	for (p = s; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	return s;
}

Datum
ua_record_api_request(PG_FUNCTION_ARGS)
{
	char	   *org_id = arg_cstring(fcinfo, A_ORG_ID);
	char	   *endpoint = arg_cstring(fcinfo, A_ENDPOINT);
	char	   *method = arg_cstring(fcinfo, A_METHOD);
	char	   *widget_id = arg_cstring(fcinfo, A_WIDGET_ID);
	char	   *origin = arg_cstring(fcinfo, A_ORIGIN);
	char	   *user_agent = arg_cstring(fcinfo, A_USER_AGENT);
	char	   *country = arg_cstring(fcinfo, A_COUNTRY_CODE);
	char	   *request_id = arg_cstring(fcinfo, A_REQUEST_ID);
	char	   *user_id = arg_cstring(fcinfo, A_USER_ID);
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	TimestampTz occurred_at;
	UaApiRow	row;
	Datum		id = (Datum) 0;
	bool		have_id = false;
	bool		payload = true;
	int32		status_code;
	int64		units;
	size_t		i;

	if (org_id == NULL || endpoint == NULL || method == NULL || PG_ARGISNULL(A_STATUS_CODE) ||
		PG_ARGISNULL(A_CACHED) || PG_ARGISNULL(A_BILLABLE_UNITS))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("org_id, endpoint, method, status_code, cached and billable_units must not be NULL")));
	check_not_empty(org_id, "org_id");
	check_not_empty(endpoint, "endpoint");
	check_length(endpoint, "endpoint", 1024);
	upper_ascii(method);
	for (i = 0; i < lengthof(methods); i++)
		if (strcmp(method, methods[i]) == 0)
			break;
	if (i == lengthof(methods))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method %s is not an HTTP method",
						quote_literal_cstr(text_to_cstring(PG_GETARG_TEXT_PP(A_METHOD))))));
	status_code = PG_GETARG_INT32(A_STATUS_CODE);
	if (status_code < 100 || status_code > 599)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("status_code must be between 100 and 599")));
	if (!PG_ARGISNULL(A_RESPONSE_TIME_MS))
	{
		float8		ms = PG_GETARG_FLOAT8(A_RESPONSE_TIME_MS);

		if (isnan(ms) || ms < 0 || ms > 86400000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("response_time_ms must be between 0 and 86400000 (one day)")));
	}
	units = PG_GETARG_INT64(A_BILLABLE_UNITS);
	if (units < 0 || units > 1000000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("billable_units must be between 0 and 1000000000")));
	check_not_empty(widget_id, "widget_id");
	if (!PG_ARGISNULL(A_API_KEY_ID) && PG_GETARG_INT64(A_API_KEY_ID) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("api_key_id must be positive")));
	check_not_empty(origin, "origin");
	check_length(origin, "origin", 2048);
	check_length(user_agent, "user_agent", 1024);
	if (country != NULL)
	{
		bool		found = false;

		upper_ascii(country);
		if (strlen(country) == 2)
			for (i = 0; country_codes[i] != '\0' && !found; i += 2)
				found = country_codes[i] == country[0] && country_codes[i + 1] == country[1];
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("country_code %s is not an ISO 3166-1 alpha-2 code",
							quote_literal_cstr(text_to_cstring(PG_GETARG_TEXT_PP(A_COUNTRY_CODE))))));
	}
	ua_check_metadata(fcinfo, A_METADATA);
	check_not_empty(request_id, "request_id");
	check_length(request_id, "request_id", 256);
	check_not_empty(user_id, "user_id");
	if (strlen(org_id) > 256 || (user_id && strlen(user_id) > 256) || (widget_id && strlen(widget_id) > 256))
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("an id is longer than 256 bytes")));
	occurred_at = PG_ARGISNULL(A_OCCURRED_AT) ? now : PG_GETARG_TIMESTAMPTZ(A_OCCURRED_AT);
	if (TIMESTAMP_NOT_FINITE(occurred_at) || occurred_at > now + 5 * USECS_PER_MINUTE)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("occurred_at must be finite and at most 5 minutes in the future")));

	SPI_connect();
	{
		Datum		args[3] = {PG_GETARG_DATUM(A_ORG_ID), (Datum) 0, (Datum) 0};

		ua_run(&find_org, args, NULL, true, -1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("organization %s does not exist", quote_literal_cstr(org_id))));
		if (widget_id != NULL)
		{
			args[1] = PG_GETARG_DATUM(A_WIDGET_ID);
			ua_run(&find_widget, args, NULL, true, -1);
			if (SPI_processed == 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("widget %s of organization %s does not exist",
								quote_literal_cstr(widget_id), quote_literal_cstr(org_id))));
		}

		/* Idempotency: claim the key, or return the request that holds it. */
		if (request_id != NULL)
		{
			bool		isnull;

			args[1] = PG_GETARG_DATUM(A_REQUEST_ID);
			args[2] = TimestampTzGetDatum(occurred_at);
			ua_run(&claim_key, args, NULL, false, -1);
			if (SPI_processed == 0)
			{
				ua_run(&find_key, args, NULL, false, -1);
				if (SPI_processed == 0)
					elog(ERROR, "usage_analytics: idempotency key vanished");
				id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
				SPI_finish();
				PG_RETURN_DATUM(id);
			}
			id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			have_id = true;
		}
	}

	/* A request already past payload retention never stores its payload. */
	if (ua_payload_retention_days > 0 &&
		occurred_at < now - (TimestampTz) ua_payload_retention_days * USECS_PER_DAY)
		payload = false;

	ua_api_row_init(&row);
	if (have_id)
		ua_api_row_set(&row, API_ID, id, false);
	ua_api_row_set(&row, API_ORG_ID, PG_GETARG_DATUM(A_ORG_ID), false);
	ua_api_row_set(&row, API_OCCURRED_AT, TimestampTzGetDatum(occurred_at), false);
	ua_api_row_set(&row, API_ENDPOINT, PG_GETARG_DATUM(A_ENDPOINT), false);
	ua_api_row_set(&row, API_METHOD, CStringGetTextDatum(method), false);
	ua_api_row_set(&row, API_STATUS_CODE, Int16GetDatum((int16) status_code), false);
	ua_api_row_set(&row, API_RESPONSE_TIME_MS,
				   PG_ARGISNULL(A_RESPONSE_TIME_MS) ? (Datum) 0 :
				   Int32GetDatum((int32) rint(PG_GETARG_FLOAT8(A_RESPONSE_TIME_MS))),
				   PG_ARGISNULL(A_RESPONSE_TIME_MS));
	ua_api_row_set(&row, API_CACHED, PG_GETARG_DATUM(A_CACHED), false);
	ua_api_row_set(&row, API_WIDGET_ID, PG_GETARG_DATUM(A_WIDGET_ID), widget_id == NULL);
	ua_api_row_set(&row, API_BILLABLE_UNITS, Int64GetDatum(units), false);
	ua_api_row_set(&row, API_API_KEY_ID, PG_GETARG_DATUM(A_API_KEY_ID), PG_ARGISNULL(A_API_KEY_ID));
	ua_api_row_set(&row, API_USER_ID, PG_GETARG_DATUM(A_USER_ID), user_id == NULL);
	ua_api_row_set(&row, API_REQUEST_ID, PG_GETARG_DATUM(A_REQUEST_ID), request_id == NULL);
	ua_api_row_set(&row, API_ORIGIN, PG_GETARG_DATUM(A_ORIGIN), origin == NULL);
	ua_api_row_set(&row, API_COUNTRY_CODE, country ? CStringGetTextDatum(country) : (Datum) 0, country == NULL);
	ua_api_row_set(&row, API_IP_ADDRESS, PG_GETARG_DATUM(A_IP_ADDRESS), !payload || PG_ARGISNULL(A_IP_ADDRESS));
	ua_api_row_set(&row, API_USER_AGENT, PG_GETARG_DATUM(A_USER_AGENT), !payload || user_agent == NULL);
	ua_api_row_set(&row, API_METADATA, PG_GETARG_DATUM(A_METADATA), !payload || PG_ARGISNULL(A_METADATA));
	/* The fold's watermark: every request carries its top transaction id. */
	ua_api_row_set(&row, API_RECORDED_XID,
				   Int64GetDatum((int64) U64FromFullTransactionId(GetTopFullTransactionId())), false);

	id = Int64GetDatum(ua_api_insert(&row));
	SPI_finish();
	PG_RETURN_DATUM(id);
}
