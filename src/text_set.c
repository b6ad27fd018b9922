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
 *	  NULL arrays and NULL elements count as empty.  Arrays that are not
 *	  sorted give a result that is not either, never a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

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
