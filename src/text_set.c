/*-------------------------------------------------------------------------
 *
 * text_set.c
 *	  Sets of strings kept as arrays sorted bytewise (COLLATE "C") without
 *	  duplicates: analytics.text_set_union(a, b) merges two.  The fold keeps
 *	  the distinct conversations, documents and users of each scope and day
 *	  this way (analytics.rollup_distinct); fold.c builds a batch's sets.
 *	  text_set_final is the 1.0 SQL fold's aggregate (text_set_agg), kept
 *	  for databases still at 1.0.
 *
 *	  Readers count distinct items over many sets without unnesting them:
 *	  analytics.text_set_count(text[]), an aggregate, is the size of the
 *	  union of a group's arrays (a hash set of the strings it has seen;
 *	  the arrays need not be sorted), and analytics.text_set_size(text[])
 *	  is one set's size, read from the array's header alone (a large,
 *	  toasted set is not fetched whole).
 *
 *	  NULL arrays and NULL elements count as empty.  Arrays that are not
 *	  sorted give a result that is not either, never a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(ua_text_set_union);

/* Bytewise order of two text values, shorter first on a common prefix. */
static int
text_cmp_bytes(Datum a, Datum b)
{
	text	   *x = DatumGetTextPP(a);
	text	   *y = DatumGetTextPP(b);
	int			lx = VARSIZE_ANY_EXHDR(x);
	int			ly = VARSIZE_ANY_EXHDR(y);
	int			c = memcmp(VARDATA_ANY(x), VARDATA_ANY(y), Min(lx, ly));

	return c != 0 ? c : (lx > ly) - (lx < ly);
}

static void
elements(FunctionCallInfo fcinfo, int argno, Datum **values, bool **nulls, int *n)
{
	*n = 0;
	if (PG_ARGISNULL(argno))
		return;
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(argno), TEXTOID, -1, false, TYPALIGN_INT,
					  values, nulls, n);
}

Datum
ua_text_set_union(PG_FUNCTION_ARGS)
{
	Datum	   *av = NULL,
			   *bv = NULL,
			   *out;
	bool	   *an = NULL,
			   *bn = NULL;
	int			na,
				nb,
				i = 0,
				j = 0,
				k = 0;

	elements(fcinfo, 0, &av, &an, &na);
	elements(fcinfo, 1, &bv, &bn, &nb);
	out = palloc(sizeof(Datum) * (na + nb + 1));
	while (i < na || j < nb)
	{
		Datum		next;
		int			c;

		if (i < na && an[i])
		{
			i++;
			continue;
		}
		if (j < nb && bn[j])
		{
			j++;
			continue;
		}
		c = i >= na ? 1 : j >= nb ? -1 : text_cmp_bytes(av[i], bv[j]);
		next = c <= 0 ? av[i] : bv[j];
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
		if (k == 0 || text_cmp_bytes(out[k - 1], next) != 0)
			out[k++] = next;
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, k, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * analytics.text_set_agg(text) of 1.0: the sorted, duplicate-free array of a
 * group's strings.  The transition is array_agg's; this final function
 * sorts a copy bytewise and drops duplicates, so a hash aggregate needs no
 * sort of its whole input.
 */
PG_FUNCTION_INFO_V1(ua_text_set_final);

static int
text_qsort_cmp(const void *a, const void *b)
{
	return text_cmp_bytes(*(const Datum *) a, *(const Datum *) b);
}

Datum
ua_text_set_final(PG_FUNCTION_ARGS)
{
	ArrayBuildState *state;
	Datum	   *items;
	int			n = 0,
				k = 0,
				i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "text_set_final called in non-aggregate context");
	state = (ArrayBuildState *) PG_GETARG_POINTER(0);
	items = palloc(sizeof(Datum) * (state->nelems + 1));
	for (i = 0; i < state->nelems; i++)
		if (!state->dnulls[i])
			items[n++] = state->dvalues[i];
	qsort(items, n, sizeof(Datum), text_qsort_cmp);
	for (i = 0; i < n; i++)
		if (k == 0 || text_cmp_bytes(items[k - 1], items[i]) != 0)
			items[k++] = items[i];
	PG_RETURN_ARRAYTYPE_P(construct_array(items, k, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * analytics.text_set_count(text[]): the number of distinct non-NULL
 * strings in a group's arrays.  The state is a hash set of the strings
 * seen, copied into the aggregate's memory context when first seen.
 */
typedef struct SetKey
{
	const char *str;
	int			len;
} SetKey;

typedef struct SetEntry
{
	SetKey		key;
	uint32		hash;
	char		status;
} SetEntry;

#define SH_PREFIX		strset
#define SH_ELEMENT_TYPE SetEntry
#define SH_KEY_TYPE		SetKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).str, (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).str, (b).str, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct SetCount
{
	MemoryContext cxt;
	strset_hash *seen;			/* its members: the count */
} SetCount;

PG_FUNCTION_INFO_V1(ua_text_set_count_add);

Datum
ua_text_set_count_add(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	SetCount   *state;
	ArrayIterator it;
	Datum		value;
	bool		isnull;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "text_set_count_add called in non-aggregate context");
	if (PG_ARGISNULL(0))
	{
		state = MemoryContextAlloc(aggcxt, sizeof(SetCount));
		state->cxt = aggcxt;
		state->seen = strset_create(aggcxt, 256, NULL);
	}
	else
		state = (SetCount *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(state);

	it = array_create_iterator(PG_GETARG_ARRAYTYPE_P(1), 0, NULL);
	while (array_iterate(it, &value, &isnull))
	{
		text	   *t;
		SetKey		key;
		SetEntry   *e;
		bool		found;

		if (isnull)
			continue;
		t = (text *) DatumGetPointer(value);
		key.str = VARDATA_ANY(t);
		key.len = VARSIZE_ANY_EXHDR(t);
		e = strset_insert(state->seen, key, &found);
		if (!found)
		{
			char	   *copy = MemoryContextAlloc(state->cxt, key.len + 1);

			memcpy(copy, key.str, key.len);
			e->key.str = copy;
		}
	}
	array_free_iterator(it);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(ua_text_set_count_final);

Datum
ua_text_set_count_final(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_INT64(0);
	PG_RETURN_INT64(((SetCount *) PG_GETARG_POINTER(0))->seen->members);
}

/*
 * analytics.text_set_size(text[]): cardinality() without detoasting the
 * whole array: only its header (dimensions and bounds) is fetched and, when
 * compressed, decompressed.
 */
PG_FUNCTION_INFO_V1(ua_text_set_size);

Datum
ua_text_set_size(PG_FUNCTION_ARGS)
{
	ArrayType  *a = (ArrayType *) PG_DETOAST_DATUM_SLICE(PG_GETARG_DATUM(0), 0,
														  sizeof(ArrayType) + 2 * MAXDIM * sizeof(int));

	if (ARR_NDIM(a) <= 0)
		PG_RETURN_INT32(0);
	PG_RETURN_INT32(ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)));
}
