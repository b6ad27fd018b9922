/*-------------------------------------------------------------------------
 *
 * sketch.c
 *	  analytics.latency_sketch: I/O, aggregates, merge and quantiles.  The
 *	  format is described in sketch.h.
 *
 *	  Aggregate state discipline: the working state (UaSketchState, sparse
 *	  sorted bins) lives in the aggregate context; combine copies the other
 *	  side's bins into its own state; serialize writes the on-disk format
 *	  and deserialize validates it like any input.  Every input (text,
 *	  binary, bytea, serialized state) is fully validated: corrupt or
 *	  truncated data is an ERROR (22P02 text, 22P03 binary), never a crash.
 *
 *	  Overflow: a count past bigint or a sum past double precision, in any
 *	  union, merge, aggregate step or input, is an ERROR (22003), never a
 *	  wrap; every addition to a state goes through state_add_totals() and
 *	  state_add_bin(), which check.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "sketch.h"

PG_FUNCTION_INFO_V1(ua_sketch_in);
PG_FUNCTION_INFO_V1(ua_sketch_out);
PG_FUNCTION_INFO_V1(ua_sketch_recv);
PG_FUNCTION_INFO_V1(ua_sketch_send);
PG_FUNCTION_INFO_V1(ua_sketch_from_bytea);
PG_FUNCTION_INFO_V1(ua_sketch_to_bytea);
PG_FUNCTION_INFO_V1(ua_sketch_add_trans);
PG_FUNCTION_INFO_V1(ua_sketch_merge_trans);
PG_FUNCTION_INFO_V1(ua_sketch_combine_states);
PG_FUNCTION_INFO_V1(ua_sketch_serialize);
PG_FUNCTION_INFO_V1(ua_sketch_deserialize);
PG_FUNCTION_INFO_V1(ua_sketch_final);
PG_FUNCTION_INFO_V1(ua_sketch_union);
PG_FUNCTION_INFO_V1(ua_sketch_quantile);
PG_FUNCTION_INFO_V1(ua_sketch_quantiles);
PG_FUNCTION_INFO_V1(ua_sketch_count);
PG_FUNCTION_INFO_V1(ua_sketch_sum);
PG_FUNCTION_INFO_V1(ua_sketch_min);
PG_FUNCTION_INFO_V1(ua_sketch_max);

/* Bucket indexes of values in [UA_SKETCH_MIN_VALUE, UA_SKETCH_MAX_VALUE]. */
#define UA_SKETCH_MAX_INDEX 40000

struct UaSketchState
{
	int64		count;
	int64		zero_count;
	float8		sum;
	float8		min;
	float8		max;
	int			nbins;
	int			capacity;
	int32	   *index;
	int64	   *counts;
};

static double
log_gamma(void)
{
	static double lg = 0;

	if (lg == 0)
		lg = log((1 + UA_SKETCH_ALPHA) / (1 - UA_SKETCH_ALPHA));
	return lg;
}

static int32
bucket_of(float8 x)
{
	return (int32) ceil(log(x) / log_gamma());
}

/* The representative of bucket i: within alpha of every value in it. */
static float8
bucket_value(int32 i)
{
	double		gamma = exp(log_gamma());

	return 2.0 * exp(i * log_gamma()) / (gamma + 1.0);
}

/* a + b for counts: 22003 past bigint, never a wrap. */
static int64
add_count(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("latency_sketch count out of range"),
				 errdetail("The result would count more than " INT64_FORMAT " values.", PG_INT64_MAX)));
	return r;
}

static UaSketchState *
state_new(void)
{
	UaSketchState *st = palloc0(sizeof(UaSketchState));

	st->capacity = 16;
	st->index = palloc(st->capacity * sizeof(int32));
	st->counts = palloc(st->capacity * sizeof(int64));
	return st;
}

/* Add cnt to bucket idx, keeping bins sorted and at most UA_SKETCH_MAX_BINS. */
static void
state_add_bin(UaSketchState *st, int32 idx, int64 cnt)
{
	int			lo = 0,
				hi = st->nbins;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (st->index[mid] < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < st->nbins && st->index[lo] == idx)
	{
		st->counts[lo] = add_count(st->counts[lo], cnt);
		return;
	}
	if (st->nbins == st->capacity)
	{
		st->capacity *= 2;
		st->index = repalloc(st->index, st->capacity * sizeof(int32));
		st->counts = repalloc(st->counts, st->capacity * sizeof(int64));
	}
	memmove(&st->index[lo + 1], &st->index[lo], (st->nbins - lo) * sizeof(int32));
	memmove(&st->counts[lo + 1], &st->counts[lo], (st->nbins - lo) * sizeof(int64));
	st->index[lo] = idx;
	st->counts[lo] = cnt;
	st->nbins++;

	/* Bounded size: fold the lowest bucket into the next one. */
	if (st->nbins > UA_SKETCH_MAX_BINS)
	{
		st->counts[1] = add_count(st->counts[1], st->counts[0]);
		memmove(&st->index[0], &st->index[1], (st->nbins - 1) * sizeof(int32));
		memmove(&st->counts[0], &st->counts[1], (st->nbins - 1) * sizeof(int64));
		st->nbins--;
	}
}

/* Count, sum, min and max of count values (a value, or a sketch's). */
static void
state_add_totals(UaSketchState *st, int64 count, int64 zeros, float8 sum, float8 min, float8 max)
{
	int64		new_count = add_count(st->count, count);
	float8		new_sum = st->sum + sum;

	if (count == 0)
		return;
	if (isinf(new_sum))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("latency_sketch sum out of range"),
				 errdetail("The sum of the values would exceed the range of double precision.")));
	if (st->count == 0 || min < st->min)
		st->min = min;
	if (st->count == 0 || max > st->max)
		st->max = max;
	st->count = new_count;
	st->zero_count += zeros;	/* <= count */
	st->sum = new_sum;
}

static void
check_value(float8 x)
{
	if (isnan(x) || x < 0 || x > UA_SKETCH_MAX_VALUE)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("latency_sketch values must be between 0 and %g", UA_SKETCH_MAX_VALUE),
				 errdetail("The value given was %g.", x)));
}

static void
state_add_value(UaSketchState *st, float8 x)
{
	check_value(x);
	state_add_totals(st, 1, x < UA_SKETCH_MIN_VALUE, x, x, x);
	if (x >= UA_SKETCH_MIN_VALUE)
		state_add_bin(st, bucket_of(x), 1);
}

static void
state_merge_sketch(UaSketchState *st, const UaSketchHeader *s)
{
	const int64 *counts = UA_SKETCH_COUNTS(s);
	const int32 *index = UA_SKETCH_INDEX(s);
	int			i;

	state_add_totals(st, s->count, s->zero_count, s->sum, s->min, s->max);
	for (i = 0; i < s->nbins; i++)
		state_add_bin(st, index[i], counts[i]);
}

static UaSketchHeader *
state_to_sketch(const UaSketchState *st)
{
	Size		size = UA_SKETCH_SIZE(st->nbins);
	UaSketchHeader *s = palloc0(size);

	SET_VARSIZE(s, size);
	s->version = UA_SKETCH_VERSION;
	s->flags = 0;
	s->nbins = st->nbins;
	s->count = st->count;
	s->zero_count = st->zero_count;
	s->sum = st->sum;
	s->min = st->min;
	s->max = st->max;
	memcpy(UA_SKETCH_COUNTS(s), st->counts, st->nbins * sizeof(int64));
	memcpy(UA_SKETCH_INDEX(s), st->index, st->nbins * sizeof(int32));
	return s;
}

/*
 * Check a sketch's consistency: every invariant the rest of the code relies
 * on.  errcode is 22P02 for text input, 22P03 for binary input.
 */
static void
sketch_validate(const UaSketchHeader *s, Size size, int errcode_)
{
	const int64 *counts;
	const int32 *index;
	int64		total;
	int			i;

#define BAD(...) ereport(ERROR, (errcode(errcode_), \
		errmsg("invalid latency_sketch"), errdetail(__VA_ARGS__)))

	if (size < sizeof(UaSketchHeader))
		BAD("The value is truncated: %zu bytes.", size);
	if (s->version != UA_SKETCH_VERSION)
		BAD("Unknown format version %d.", s->version);
	if (s->flags != 0)
		BAD("Unknown flags %d.", s->flags);
	if (s->nbins > UA_SKETCH_MAX_BINS)
		BAD("%d buckets; at most %d are allowed.", s->nbins, UA_SKETCH_MAX_BINS);
	if (size != UA_SKETCH_SIZE(s->nbins))
		BAD("Size %zu does not match %d buckets.", size, s->nbins);
	if (s->count < 0 || s->zero_count < 0 || s->zero_count > s->count)
		BAD("Counts are inconsistent.");
	if (!isfinite(s->sum) || !isfinite(s->min) || !isfinite(s->max) ||
		s->min < 0 || s->min > s->max || s->max > UA_SKETCH_MAX_VALUE)
		BAD("sum, min and max must be finite with 0 <= min <= max.");
	if (s->count == 0 && (s->nbins != 0 || s->sum != 0 || s->min != 0 || s->max != 0))
		BAD("An empty sketch has no buckets and zero sum, min and max.");
	counts = UA_SKETCH_COUNTS(s);
	index = UA_SKETCH_INDEX(s);
	total = s->zero_count;
	for (i = 0; i < s->nbins; i++)
	{
		if (counts[i] <= 0 || counts[i] > s->count - total)
			BAD("Bucket %d has a bad count.", i);
		if (index[i] < -UA_SKETCH_MAX_INDEX || index[i] > UA_SKETCH_MAX_INDEX ||
			(i > 0 && index[i] <= index[i - 1]))
			BAD("Bucket indexes must increase strictly within +-%d.", UA_SKETCH_MAX_INDEX);
		total += counts[i];
	}
	if (total != s->count)
		BAD("Bucket counts add up to " INT64_FORMAT ", not " INT64_FORMAT ".", total, s->count);
#undef BAD
}

static UaSketchState *
sketch_to_state(const UaSketchHeader *s)
{
	UaSketchState *st = state_new();

	state_merge_sketch(st, s);
	return st;
}

/* The working state, for C callers that build sketches (the fold). */
UaSketchState *
ua_sketch_state_new(void)
{
	return state_new();
}

/* Add x to each of n states (NULLs skipped): the bucket is found once. */
void
ua_sketch_states_add(UaSketchState **sts, int n, float8 x)
{
	bool		binned;
	int32		idx;
	int			i;

	check_value(x);
	binned = x >= UA_SKETCH_MIN_VALUE;
	idx = binned ? bucket_of(x) : 0;
	for (i = 0; i < n; i++)
	{
		if (sts[i] == NULL)
			continue;
		state_add_totals(sts[i], 1, !binned, x, x, x);
		if (binned)
			state_add_bin(sts[i], idx, 1);
	}
}

/* dst += src */
void
ua_sketch_state_merge(UaSketchState *dst, const UaSketchState *src)
{
	int			i;

	state_add_totals(dst, src->count, src->zero_count, src->sum, src->min, src->max);
	for (i = 0; i < src->nbins; i++)
		state_add_bin(dst, src->index[i], src->counts[i]);
}

/* The state as a latency_sketch datum, palloc'd in the current context. */
Datum
ua_sketch_state_datum(const UaSketchState *st)
{
	return PointerGetDatum(state_to_sketch(st));
}

/* ---------------------------------------------------------------------- */
/* Text I/O: v1;n=<count>;z=<zeros>;sum=<f>;min=<f>;max=<f>;b=<i>:<c>,...  */

static void
expect(const char **p, const char *token, const char *input)
{
	size_t		len = strlen(token);

	if (strncmp(*p, token, len) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type latency_sketch: \"%s\"", input),
				 errdetail("Expected \"%s\" at character %d.", token, (int) (*p - input) + 1)));
	*p += len;
}

static int64
parse_int(const char **p, const char *input)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(*p, &end, 10);
	if (end != *p && errno == ERANGE)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value \"%.*s\" is out of range for type bigint in latency_sketch input",
						(int) (end - *p), *p),
				 errdetail("At character %d.", (int) (*p - input) + 1)));
	if (end == *p || errno != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type latency_sketch: \"%s\"", input),
				 errdetail("Expected an integer at character %d.", (int) (*p - input) + 1)));
	*p = end;
	return (int64) v;
}

static float8
parse_float(const char **p, const char *input)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(*p, &end);
	/* Like float8in: overflow and underflow to zero are out of range. */
	if (end != *p && errno == ERANGE && (v == 0.0 || isinf(v)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value \"%.*s\" is out of range for type double precision in latency_sketch input",
						(int) (end - *p), *p),
				 errdetail("At character %d.", (int) (*p - input) + 1)));
	if (end != *p && errno == ERANGE)
		errno = 0;				/* a denormal: accepted, as float8in does */
	if (end == *p || errno != 0 || !isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type latency_sketch: \"%s\"", input),
				 errdetail("Expected a finite number at character %d.", (int) (*p - input) + 1)));
	*p = end;
	return v;
}

Datum
ua_sketch_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	UaSketchHeader hdr;
	int32	   *index = palloc(sizeof(int32) * (UA_SKETCH_MAX_BINS + 1));
	int64	   *counts = palloc(sizeof(int64) * (UA_SKETCH_MAX_BINS + 1));
	int			nbins = 0;
	UaSketchHeader *s;
	int64		version;

	memset(&hdr, 0, sizeof(hdr));
	expect(&p, "v", input);
	version = parse_int(&p, input);
	hdr.version = UA_SKETCH_VERSION;
	if (version != UA_SKETCH_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type latency_sketch: \"%s\"", input),
				 errdetail("Unknown format version.")));
	expect(&p, ";n=", input);
	hdr.count = parse_int(&p, input);
	expect(&p, ";z=", input);
	hdr.zero_count = parse_int(&p, input);
	expect(&p, ";sum=", input);
	hdr.sum = parse_float(&p, input);
	expect(&p, ";min=", input);
	hdr.min = parse_float(&p, input);
	expect(&p, ";max=", input);
	hdr.max = parse_float(&p, input);
	expect(&p, ";b=", input);
	while (*p != '\0')
	{
		int64		idx;

		if (nbins > UA_SKETCH_MAX_BINS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid latency_sketch"),
					 errdetail("More than %d buckets.", UA_SKETCH_MAX_BINS)));
		if (nbins > 0)
			expect(&p, ",", input);
		idx = parse_int(&p, input);
		if (idx < -UA_SKETCH_MAX_INDEX || idx > UA_SKETCH_MAX_INDEX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid latency_sketch"),
					 errdetail("Bucket index out of range.")));
		index[nbins] = (int32) idx;
		expect(&p, ":", input);
		counts[nbins] = parse_int(&p, input);
		nbins++;
	}
	if (nbins > UA_SKETCH_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid latency_sketch"),
				 errdetail("More than %d buckets.", UA_SKETCH_MAX_BINS)));

	s = palloc0(UA_SKETCH_SIZE(nbins));
	memcpy(s, &hdr, sizeof(hdr));
	SET_VARSIZE(s, UA_SKETCH_SIZE(nbins));
	s->nbins = nbins;
	memcpy(UA_SKETCH_COUNTS(s), counts, nbins * sizeof(int64));
	memcpy(UA_SKETCH_INDEX(s), index, nbins * sizeof(int32));
	sketch_validate(s, VARSIZE(s), ERRCODE_INVALID_TEXT_REPRESENTATION);
	PG_RETURN_POINTER(s);
}

Datum
ua_sketch_out(PG_FUNCTION_ARGS)
{
	UaSketchHeader *s = (UaSketchHeader *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	const int64 *counts = UA_SKETCH_COUNTS(s);
	const int32 *index = UA_SKETCH_INDEX(s);
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "v%d;n=" INT64_FORMAT ";z=" INT64_FORMAT ";sum=%.17g;min=%.17g;max=%.17g;b=",
					 s->version, s->count, s->zero_count, s->sum, s->min, s->max);
	for (i = 0; i < s->nbins; i++)
		appendStringInfo(&buf, "%s%d:" INT64_FORMAT, i ? "," : "", index[i], counts[i]);
	PG_RETURN_CSTRING(buf.data);
}

/* ---------------------------------------------------------------------- */
/* Binary I/O (network byte order), also exposed as bytea.                 */

static void
need_bytes(StringInfo msg, int n)
{
	if (msg->len - msg->cursor < n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid latency_sketch"),
				 errdetail("The binary value is truncated.")));
}

static UaSketchHeader *
sketch_from_binary(StringInfo msg)
{
	UaSketchHeader hdr;
	UaSketchHeader *s;
	int64	   *counts;
	int32	   *index;
	int			i;

	memset(&hdr, 0, sizeof(hdr));
	need_bytes(msg, 4);
	hdr.version = pq_getmsgbyte(msg);
	hdr.flags = pq_getmsgbyte(msg);
	hdr.nbins = pq_getmsgint(msg, 2);
	if (hdr.version != UA_SKETCH_VERSION || hdr.flags != 0 || hdr.nbins > UA_SKETCH_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid latency_sketch"),
				 errdetail("Unknown version or flags, or too many buckets.")));
	need_bytes(msg, 5 * 8 + hdr.nbins * 12);
	hdr.count = pq_getmsgint64(msg);
	hdr.zero_count = pq_getmsgint64(msg);
	hdr.sum = pq_getmsgfloat8(msg);
	hdr.min = pq_getmsgfloat8(msg);
	hdr.max = pq_getmsgfloat8(msg);

	s = palloc0(UA_SKETCH_SIZE(hdr.nbins));
	memcpy(s, &hdr, sizeof(hdr));
	SET_VARSIZE(s, UA_SKETCH_SIZE(hdr.nbins));
	counts = UA_SKETCH_COUNTS(s);
	index = UA_SKETCH_INDEX(s);
	for (i = 0; i < hdr.nbins; i++)
	{
		index[i] = (int32) pq_getmsgint(msg, 4);
		counts[i] = pq_getmsgint64(msg);
	}
	if (msg->cursor != msg->len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid latency_sketch"),
				 errdetail("%d trailing bytes.", msg->len - msg->cursor)));
	sketch_validate(s, VARSIZE(s), ERRCODE_INVALID_BINARY_REPRESENTATION);
	return s;
}

static bytea *
sketch_to_binary(const UaSketchHeader *s)
{
	const int64 *counts = UA_SKETCH_COUNTS(s);
	const int32 *index = UA_SKETCH_INDEX(s);
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, s->version);
	pq_sendbyte(&buf, s->flags);
	pq_sendint16(&buf, s->nbins);
	pq_sendint64(&buf, s->count);
	pq_sendint64(&buf, s->zero_count);
	pq_sendfloat8(&buf, s->sum);
	pq_sendfloat8(&buf, s->min);
	pq_sendfloat8(&buf, s->max);
	for (i = 0; i < s->nbins; i++)
	{
		pq_sendint32(&buf, index[i]);
		pq_sendint64(&buf, counts[i]);
	}
	return pq_endtypsend(&buf);
}

Datum
ua_sketch_recv(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(sketch_from_binary((StringInfo) PG_GETARG_POINTER(0)));
}

Datum
ua_sketch_send(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(sketch_to_binary((UaSketchHeader *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0))));
}

Datum
ua_sketch_from_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData msg;

	msg.data = VARDATA_ANY(b);
	msg.len = VARSIZE_ANY_EXHDR(b);
	msg.maxlen = msg.len;
	msg.cursor = 0;
	PG_RETURN_POINTER(sketch_from_binary(&msg));
}

Datum
ua_sketch_to_bytea(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(sketch_to_binary((UaSketchHeader *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0))));
}

/* ---------------------------------------------------------------------- */
/* Aggregates                                                              */

static MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext cxt;

	if (!AggCheckCallContext(fcinfo, &cxt))
		elog(ERROR, "%s called in non-aggregate context", fn);
	return cxt;
}

/* Both transitions: NULL input skipped, state created on the first value. */
static Datum
sketch_transition(FunctionCallInfo fcinfo, const char *fn, void (*add) (UaSketchState *, Datum))
{
	MemoryContext cxt = agg_context(fcinfo, fn);
	UaSketchState *st = PG_ARGISNULL(0) ? NULL : (UaSketchState *) PG_GETARG_POINTER(0);
	MemoryContext old;

	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	old = MemoryContextSwitchTo(cxt);
	if (st == NULL)
		st = state_new();
	add(st, PG_GETARG_DATUM(1));
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

static void
add_float8(UaSketchState *st, Datum value)
{
	state_add_value(st, DatumGetFloat8(value));
}

static void
add_sketch(UaSketchState *st, Datum value)
{
	state_merge_sketch(st, (UaSketchHeader *) PG_DETOAST_DATUM(value));
}

/* latency_sketch_agg(double precision) transition */
Datum
ua_sketch_add_trans(PG_FUNCTION_ARGS)
{
	return sketch_transition(fcinfo, "latency_sketch_agg", add_float8);
}

/* latency_sketch_merge(latency_sketch) transition */
Datum
ua_sketch_merge_trans(PG_FUNCTION_ARGS)
{
	return sketch_transition(fcinfo, "latency_sketch_merge", add_sketch);
}

/* combine: copy the other state's bins into a state of our own context */
Datum
ua_sketch_combine_states(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "latency_sketch combine");
	UaSketchState *a = PG_ARGISNULL(0) ? NULL : (UaSketchState *) PG_GETARG_POINTER(0);
	UaSketchState *b = PG_ARGISNULL(1) ? NULL : (UaSketchState *) PG_GETARG_POINTER(1);
	MemoryContext old;
	UaSketchHeader *bs;

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	old = MemoryContextSwitchTo(cxt);
	if (a == NULL)
		a = state_new();
	bs = state_to_sketch(b);
	state_merge_sketch(a, bs);
	pfree(bs);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(a);
}

Datum
ua_sketch_serialize(PG_FUNCTION_ARGS)
{
	UaSketchState *st = (UaSketchState *) PG_GETARG_POINTER(0);

	agg_context(fcinfo, "latency_sketch serialize");
	PG_RETURN_BYTEA_P(sketch_to_binary(state_to_sketch(st)));
}

Datum
ua_sketch_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "latency_sketch deserialize");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData msg;
	MemoryContext old = MemoryContextSwitchTo(cxt);
	UaSketchState *st;

	msg.data = VARDATA_ANY(b);
	msg.len = VARSIZE_ANY_EXHDR(b);
	msg.maxlen = msg.len;
	msg.cursor = 0;
	st = sketch_to_state(sketch_from_binary(&msg));
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

Datum
ua_sketch_final(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_POINTER(state_to_sketch((UaSketchState *) PG_GETARG_POINTER(0)));
}

/* latency_sketch_union(a, b): the sketch of both inputs; NULL is empty. */
Datum
ua_sketch_union(PG_FUNCTION_ARGS)
{
	UaSketchState *st;

	if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(PG_GETARG_DATUM(1));
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	st = sketch_to_state((UaSketchHeader *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0)));
	state_merge_sketch(st, (UaSketchHeader *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1)));
	PG_RETURN_POINTER(state_to_sketch(st));
}

/* ---------------------------------------------------------------------- */
/* Quantiles and accessors                                                 */

/* The estimate of the value of 0-based rank r. */
static float8
value_at_rank(const UaSketchHeader *s, int64 r)
{
	const int64 *counts = UA_SKETCH_COUNTS(s);
	const int32 *index = UA_SKETCH_INDEX(s);
	int64		cum = s->zero_count;
	int			i;

	if (r <= 0)
		return s->min;
	if (r >= s->count - 1)
		return s->max;
	if (r < s->zero_count)
		return 0;
	for (i = 0; i < s->nbins; i++)
	{
		cum += counts[i];
		if (r < cum)
			return Min(Max(bucket_value(index[i]), s->min), s->max);
	}
	return s->max;
}

static void
check_q(float8 q)
{
	if (isnan(q) || q < 0 || q > 1)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("quantile %g is not between 0 and 1", q)));
}

/* Like percentile_cont: linear interpolation between neighbouring ranks. */
static float8
quantile(const UaSketchHeader *s, float8 q)
{
	float8		rank = q * (s->count - 1);
	int64		lo = (int64) floor(rank);
	int64		hi = (int64) ceil(rank);
	float8		vlo = value_at_rank(s, lo);

	if (hi == lo)
		return vlo;
	return vlo + (rank - lo) * (value_at_rank(s, hi) - vlo);
}

Datum
ua_sketch_quantile(PG_FUNCTION_ARGS)
{
	UaSketchHeader *s = (UaSketchHeader *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	float8		q = PG_GETARG_FLOAT8(1);

	check_q(q);
	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(quantile(s, q));
}

Datum
ua_sketch_quantiles(PG_FUNCTION_ARGS)
{
	UaSketchHeader *s = (UaSketchHeader *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	ArrayType  *qs = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	Datum	   *out;
	bool	   *out_nulls;
	int			dims[1];
	int			lbs[1] = {1};

	if (ARR_NDIM(qs) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("quantiles must be a one-dimensional array")));
	deconstruct_array(qs, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	out = palloc(sizeof(Datum) * Max(n, 1));
	out_nulls = palloc(sizeof(bool) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		out_nulls[i] = nulls[i] || s->count == 0;
		if (nulls[i])
			continue;
		check_q(DatumGetFloat8(elems[i]));
		out[i] = out_nulls[i] ? (Datum) 0 : Float8GetDatum(quantile(s, DatumGetFloat8(elems[i])));
	}
	dims[0] = n;
	if (n == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(FLOAT8OID));
	PG_RETURN_ARRAYTYPE_P(construct_md_array(out, out_nulls, 1, dims, lbs, FLOAT8OID,
											 sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

#define SKETCH_ARG(n) ((UaSketchHeader *) PG_DETOAST_DATUM_SLICE(PG_GETARG_DATUM(n), 0, sizeof(UaSketchHeader)))

Datum
ua_sketch_count(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(SKETCH_ARG(0)->count);
}

Datum
ua_sketch_sum(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(SKETCH_ARG(0)->sum);
}

Datum
ua_sketch_min(PG_FUNCTION_ARGS)
{
	UaSketchHeader *s = SKETCH_ARG(0);

	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(s->min);
}

Datum
ua_sketch_max(PG_FUNCTION_ARGS)
{
	UaSketchHeader *s = SKETCH_ARG(0);

	if (s->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(s->max);
}
