/*-------------------------------------------------------------------------
 *
 * text_set.c
 *	  analytics.text_set_union(a text[], b text[]): the union of two sets of
 *	  strings kept as arrays sorted bytewise (COLLATE "C") without
 *	  duplicates, by one merge.  The fold keeps the distinct conversations,
 *	  documents and users of each scope and day this way
 *	  (analytics.rollup_distinct).
 *
 *	  NULL arrays and NULL elements count as empty.  Arrays that are not
 *	  sorted give a result that is not either, never a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "usage_analytics.h"

#include "catalog/pg_type.h"
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
