/*-------------------------------------------------------------------------
 *
 * fold_aggregate.c
 *	  The fold's aggregation: a cursor reads the batch of analytics.fold_range
 *	  (fold.c), handing each row to fold_event() (a DestReceiver: no
 *	  copies), which adds it to every rollup's aggregate in memory.
 *
 *	  Strings are interned once, so a group's key is a pointer and a day
 *	  (simplehash); a user's day holds its models, categories and distinct
 *	  sets, a UTC day the system's; a month's sketches are merged from its
 *	  days' at the end (ua_fold_finish).  The users with an event of the
 *	  last day are gathered for the threshold sweep.  fold_write.c writes
 *	  what is gathered; the types are in fold_int.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "tcop/pquery.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "fold_int.h"

/* Rows read from the batch cursor between checks of the memory used. */
#define FOLD_FETCH		2000

/* The batch: columns of the query below, in order. */
enum
{
	C_USER, C_USAGE_DATE, C_UTC_DATE, C_OCCURRED_AT, C_PROVIDER, C_MODEL, C_FAILED,
	C_DOCUMENT, C_CONVERSATION, C_CATEGORY, C_INPUT, C_CACHED, C_WRITE, C_OUTPUT,
	C_REASONING, C_COST, C_SAVINGS, C_CACHE_HIT, C_LATENCY, C_TTFT, C_RATING,
	C_IN_LOCAL, C_IN_UTC, C_QUERY_LENGTH, C_RESPONSE_LENGTH, C_SECTIONS, C_INTENT, C_REQUEST_TYPE,
	C_SESSION, C_ORG, C_COUNT
};

static const char *const batch_sql =
"SELECT e.user_id, e.usage_date, (e.occurred_at AT TIME ZONE 'UTC')::pg_catalog.date, "
"       e.occurred_at, COALESCE(e.provider, ''), e.model, e.status OPERATOR(pg_catalog.=) 'failed', "
"       e.document_id, e.conversation_id, e.category, e.input_tokens, e.cached_input_tokens, "
"       e.cache_write_tokens, e.output_tokens, e.reasoning_tokens, e.cost, e.cache_savings, "
"       e.cache_hit, e.response_time_ms, e.time_to_first_token_ms, e.feedback_rating, "
"       ($3::pg_catalog.date IS NULL OR e.usage_date OPERATOR(pg_catalog.>=) $3) "
"         AND ($4::pg_catalog.date IS NULL OR e.usage_date OPERATOR(pg_catalog.<=) $4), "
"       ($3::pg_catalog.date IS NULL OR (e.occurred_at AT TIME ZONE 'UTC')::pg_catalog.date OPERATOR(pg_catalog.>=) $3) "
"         AND ($4::pg_catalog.date IS NULL OR (e.occurred_at AT TIME ZONE 'UTC')::pg_catalog.date OPERATOR(pg_catalog.<=) $4), "
"       e.user_query_length, e.ai_response_length, e.sections_referenced, e.query_intent, e.request_type, "
"       e.session_id, e.org_id "
"  FROM %s e "
" WHERE e.recorded_xid OPERATOR(pg_catalog.>=) $1 AND e.recorded_xid OPERATOR(pg_catalog.<) $2 "
"   AND e.status OPERATOR(pg_catalog.=) ANY ('{completed,failed}'::pg_catalog.text[]) "
"   AND ($3::pg_catalog.date IS NULL OR e.usage_date OPERATOR(pg_catalog.>=) $3 "
"        OR (e.occurred_at AT TIME ZONE 'UTC')::pg_catalog.date OPERATOR(pg_catalog.>=) $3) "
"   AND ($4::pg_catalog.date IS NULL OR e.usage_date OPERATOR(pg_catalog.<=) $4 "
"        OR (e.occurred_at AT TIME ZONE 'UTC')::pg_catalog.date OPERATOR(pg_catalog.<=) $4)";

/* ---------------------------------------------------------------------- */
/* Interned strings (Interned: fold_int.h)                                 */

typedef struct Str
{
	const char *p;
	uint32		len;
} Str;

typedef struct InternEntry
{
	Str			key;			/* points into obj->text once stored */
	Interned   *obj;
	uint32		hash;
	char		status;
} InternEntry;

#define SH_PREFIX		intern
#define SH_ELEMENT_TYPE InternEntry
#define SH_KEY_TYPE		Str
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).p, (int) (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).p, (b).p, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static uint32
sweep_hash(const void *key, Size keysize)
{
	const text *t = *(text *const *) key;

	return hash_bytes((const unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

static int
sweep_match(const void *a, const void *b, Size keysize)
{
	const text *x = *(text *const *) a;
	const text *y = *(text *const *) b;

	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0 ? 0 : 1;
}

static void
sweep_add(Fold *f, Interned *user, TimestampTz at)
{
	if (user->sweep == NULL)
	{
		text	   *key = (text *) user->text;
		bool		found;
		SweepUser  *e = hash_search(f->sweep, &key, HASH_ENTER, &found);

		if (!found)
		{
			/* The key must outlive the interned string. */
			e->user = MemoryContextAlloc(f->sweep_cxt, VARSIZE(key));
			memcpy(e->user, key, VARSIZE(key));
			e->at = at;
		}
		user->sweep = e;
	}
	if (at > user->sweep->at)
		user->sweep->at = at;
}

static Interned *
intern(Fold *f, Datum d)
{
	text	   *t = (text *) pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
	Str			k = {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};
	bool		found;
	InternEntry *e = intern_insert(f->strings, k, &found);

	if (!found)
	{
		Interned   *obj = MemoryContextAllocZero(f->cxt, offsetof(Interned, text) + VARHDRSZ + k.len);

		SET_VARSIZE(obj->text, VARHDRSZ + k.len);
		memcpy(VARDATA(obj->text), k.p, k.len);
		obj->rank = (int64) (uintptr_t) obj;
		e->obj = obj;
		e->key.p = VARDATA(obj->text);
	}
	return e->obj;
}

/* intern() for columns with few values: the last one is checked first. */
static Interned *
intern_recent(Fold *f, int which, Datum d)
{
	text	   *t = (text *) pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
	Interned   *last = f->recent[which];

	if (last == NULL || VARSIZE(last->text) - VARHDRSZ != VARSIZE_ANY_EXHDR(t) ||
		memcmp(VARDATA(last->text), VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) != 0)
		f->recent[which] = last = intern(f, PointerGetDatum(t));
	return last;
}

/* The aggregate of a group, zeroed when new. */
static void *
group(Fold *f, groups_hash *h, const Interned *id, int64 day, Size size, bool *is_new)
{
	GroupKey	k;
	bool		found;
	GroupEntry *e;

	k.id = id;
	k.day = day;
	e = groups_insert(h, k, &found);
	if (!found)
		e->agg = MemoryContextAllocZero(f->cxt, size);
	if (is_new)
		*is_new = !found;
	return e->agg;
}

static UaSketchState *
new_sketch(Fold *f)
{
	MemoryContext old = MemoryContextSwitchTo(f->cxt);
	UaSketchState *st = ua_sketch_state_new();

	MemoryContextSwitchTo(old);
	return st;
}

/* sum += v for numeric sums kept in the fold context (work in the row's). */
static void
add_numeric(Fold *f, Datum *sum, Datum v)
{
	/* Unpacked in the caller's context (fold_event unpacks each event's once). */
	Datum		addend = PointerGetDatum(PG_DETOAST_DATUM(v));
	MemoryContext old = MemoryContextSwitchTo(f->cxt);

	/* numeric_add frees its temporaries: the result is the only leftover. */
	if (*sum == (Datum) 0)
		*sum = datumCopy(addend, false, -1);
	else
	{
		Datum		result = DirectFunctionCall2(numeric_add, *sum, addend);

		pfree(DatumGetPointer(*sum));
		*sum = result;
	}
	MemoryContextSwitchTo(old);
}

static int
rank_cmp(const void *x, const void *y)
{
	int64		a = (*(Interned *const *) x)->rank;
	int64		b = (*(Interned *const *) y)->rank;

	return (a > b) - (a < b);
}

/* Sort (by address while reading, by rank at the end) and drop duplicates. */
void
ua_fold_set_compact(SetAgg *set)
{
	int			i,
				k = 0;

	qsort(set->items, set->n, sizeof(Interned *), rank_cmp);
	for (i = 0; i < set->n; i++)
		if (k == 0 || set->items[k - 1] != set->items[i])
			set->items[k++] = set->items[i];
	set->n = k;
}

static void
set_add(Fold *f, SetAgg *set, int kind, Interned *item)
{
	if (item == NULL || item->last[kind] == set)
		return;
	item->last[kind] = set;
	if (set->n == set->cap)
	{
		if (set->n >= 64 && set->skip > 0)
			set->skip--;
		else if (set->n >= 64)
		{
			ua_fold_set_compact(set);
			set->skip = set->n > set->cap - set->cap / 4 ? 2 : 0;
		}
		if (set->cap == 0 || set->n > set->cap / 2)
		{
			set->cap = set->cap == 0 ? 4 : set->cap * 2;
			set->items = set->items == NULL
				? MemoryContextAlloc(f->cxt, set->cap * sizeof(Interned *))
				: repalloc(set->items, set->cap * sizeof(Interned *));
		}
	}
	set->items[set->n++] = item;
}

static int
conversation_cmp(const void *x, const void *y)
{
	int64		a = ((const ConversationItem *) x)->conversation->rank;
	int64		b = ((const ConversationItem *) y)->conversation->rank;

	return (a > b) - (a < b);
}

/* Sort by conversation (by address while reading, by rank at the end), combine. */
void
ua_fold_conversations_compact(Fold *f, ConversationAgg *c)
{
	int			i,
				k = 0;

	qsort(c->items, c->n, sizeof(ConversationItem), conversation_cmp);
	for (i = 0; i < c->n; i++)
	{
		ConversationItem *from = &c->items[i];

		if (k > 0 && c->items[k - 1].conversation == from->conversation)
		{
			ConversationItem *to = &c->items[k - 1];

			to->requests += from->requests;
			to->tokens_total += from->tokens_total;
			add_numeric(f, &to->cost, from->cost);
			pfree(DatumGetPointer(from->cost));
			to->first_at = Min(to->first_at, from->first_at);
			to->last_at = Max(to->last_at, from->last_at);
		}
		else
			c->items[k++] = *from;
	}
	c->n = k;
}

/*
 * An event of a conversation of a user-day: added to the last item when it
 * is the same conversation's, else appended; compacted as sets are.
 */
static void
conversation_add(Fold *f, ConversationAgg *c, const Interned *conversation, int64 tokens_total,
				 Datum cost, TimestampTz at)
{
	ConversationItem *item;

	if (c->n > 0 && c->items[c->n - 1].conversation == conversation)
	{
		item = &c->items[c->n - 1];
		item->requests++;
		item->tokens_total += tokens_total;
		add_numeric(f, &item->cost, cost);
		item->first_at = Min(item->first_at, at);
		item->last_at = Max(item->last_at, at);
		return;
	}
	if (c->n == c->cap)
	{
		if (c->n >= 64 && c->skip > 0)
			c->skip--;
		else if (c->n >= 64)
		{
			ua_fold_conversations_compact(f, c);
			c->skip = c->n > c->cap - c->cap / 4 ? 2 : 0;
		}
		if (c->cap == 0 || c->n > c->cap / 2)
		{
			c->cap = c->cap == 0 ? 4 : c->cap * 2;
			c->items = c->items == NULL
				? MemoryContextAlloc(f->cxt, c->cap * sizeof(ConversationItem))
				: repalloc(c->items, c->cap * sizeof(ConversationItem));
		}
	}
	item = &c->items[c->n++];
	item->conversation = conversation;
	item->requests = 1;
	item->tokens_total = tokens_total;
	item->cost = (Datum) 0;
	add_numeric(f, &item->cost, cost);
	item->first_at = at;
	item->last_at = at;
}

/*
 * Rank every interned string in bytewise order (text_set_union's order).
 * While reading, ranks are the strings' addresses: any order dedupes.
 */
static int
text_cmp(const void *x, const void *y)
{
	const Interned *a = *(Interned *const *) x;
	const Interned *b = *(Interned *const *) y;
	int			la = VARSIZE(a->text) - VARHDRSZ;
	int			lb = VARSIZE(b->text) - VARHDRSZ;
	int			c = memcmp(VARDATA(a->text), VARDATA(b->text), Min(la, lb));

	return c != 0 ? c : (la > lb) - (la < lb);
}

static void
rank_strings(Fold *f)
{
	Interned  **all = palloc(sizeof(Interned *) * Max(f->strings->members, 1));
	intern_iterator it;
	InternEntry *e;
	uint32		n = 0,
				i;

	intern_start_iterate(f->strings, &it);
	while ((e = intern_iterate(f->strings, &it)) != NULL)
		all[n++] = e->obj;
	qsort(all, n, sizeof(Interned *), text_cmp);
	for (i = 0; i < n; i++)
		all[i]->rank = i;
	pfree(all);
}

/* First day of the month of a date. */
static int32
month_of(int32 day)
{
	int			y,
				m,
				d;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	return date2j(y, m, 1) - POSTGRES_EPOCH_JDATE;
}

/* The entry (a, b) of a day's list, zeroed and counted when new. */
static void *
list_entry(Fold *f, ListEntry **head, const Interned *a, const Interned *b, Size size, int *count)
{
	ListEntry  *e;

	for (e = *head; e != NULL; e = e->next)
		if (e->a == a && e->b == b)
			return e;
	e = MemoryContextAllocZero(f->cxt, size);
	e->a = a;
	e->b = b;
	e->next = *head;
	*head = e;
	(*count)++;
	return e;
}

static UserDayAgg *
user_day(Fold *f, Interned *user, int32 day)
{
	bool		is_new;
	UserDayAgg *a = group(f, f->user_days, user, day, sizeof(UserDayAgg), &is_new);

	if (is_new)
		a->month = group(f, f->user_months, user, month_of(day), sizeof(MonthAgg), NULL);
	return a;
}

static SystemDayAgg *
system_day(Fold *f, int32 day)
{
	if (f->last_system_day == NULL || f->last_utc_day != day)
	{
		f->last_system_day = group(f, f->system_days, NULL, day, sizeof(SystemDayAgg), NULL);
		f->last_utc_day = day;
	}
	return f->last_system_day;
}

static void
add_usage(Fold *f, UsageAgg *u, Datum *v, bool *n, bool failed, int64 tokens_total, int64 rating)
{
	u->requests++;
	u->failed += failed;
	u->tokens_total += tokens_total;
	u->cache_hits += DatumGetBool(v[C_CACHE_HIT]);
	add_numeric(f, &u->cost, v[C_COST]);
	u->feedback_sum += rating;
	u->feedback_count += !n[C_RATING];
	if (!n[C_LATENCY] && u->latency == NULL)
		u->latency = new_sketch(f);
}

#define INT(col)	((int64) DatumGetInt32(v[col]))

static void
add_lengths(LengthAgg *l, Datum *v, bool *n)
{
	if (!n[C_QUERY_LENGTH])
	{
		l->query_sum += INT(C_QUERY_LENGTH);
		l->query_count++;
	}
	if (!n[C_RESPONSE_LENGTH])
	{
		l->response_sum += INT(C_RESPONSE_LENGTH);
		l->response_count++;
	}
}

/* The event's query_intent and request_type, counted in a day's list. */
static void
add_labels(Fold *f, ListEntry **head, int *count, Datum *v, bool *n)
{
	if (!n[C_INTENT])
		((CategoryAgg *) list_entry(f, head, f->kind_intent, intern_recent(f, 3, v[C_INTENT]),
									sizeof(CategoryAgg), count))->requests++;
	if (!n[C_REQUEST_TYPE])
		((CategoryAgg *) list_entry(f, head, f->kind_type, intern_recent(f, 4, v[C_REQUEST_TYPE]),
									sizeof(CategoryAgg), count))->requests++;
}

/* The aggregate of a pair group, zeroed when new. */
static void *
pair(Fold *f, pairs_hash *h, const Interned *a, const Interned *b, int64 day, Size size, bool *is_new)
{
	PairKey		k;
	bool		found;
	PairEntry  *e;

	k.a = a;
	k.b = b;
	k.day = day;
	e = pairs_insert(h, k, &found);
	if (!found)
		e->agg = MemoryContextAllocZero(f->cxt, size);
	*is_new = !found;
	return e->agg;
}

static int
pointer_cmp(const void *x, const void *y)
{
	uintptr_t	a = (uintptr_t) *(Interned *const *) x;
	uintptr_t	b = (uintptr_t) *(Interned *const *) y;

	return (a > b) - (a < b);
}

/*
 * A document's sections of a UTC day: each section an event references
 * counts once for that event (NULL elements are skipped).
 */
static void
add_sections(Fold *f, const Interned *document, int32 day, Datum sections)
{
	ArrayType  *arr = DatumGetArrayTypeP(sections);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems,
				i,
				k = 0;
	Interned  **items;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	items = palloc(sizeof(Interned *) * Max(nelems, 1));
	for (i = 0; i < nelems; i++)
		if (!nulls[i])
			items[k++] = intern(f, elems[i]);
	if (k > 1)
		qsort(items, k, sizeof(Interned *), pointer_cmp);
	for (i = 0; i < k; i++)
	{
		bool		is_new;

		if (i > 0 && items[i] == items[i - 1])
			continue;
		(*(int64 *) pair(f, f->sections, document, items[i], day, sizeof(int64), &is_new))++;
	}
}

/* Add one event of the batch to every rollup it belongs to. */
static void
fold_event(Fold *f, Datum *v, bool *n)
{
	Interned   *user = intern(f, v[C_USER]);
	Interned   *provider = intern_recent(f, 0, v[C_PROVIDER]);
	Interned   *model = intern_recent(f, 1, v[C_MODEL]);
	Interned   *document = n[C_DOCUMENT] ? NULL : intern(f, v[C_DOCUMENT]);
	Interned   *conversation = n[C_CONVERSATION] ? NULL : intern(f, v[C_CONVERSATION]);
	bool		failed = DatumGetBool(v[C_FAILED]);
	int64		rating = n[C_RATING] ? 0 : DatumGetInt16(v[C_RATING]);
	int64		tokens_total = INT(C_INPUT) + INT(C_CACHED) + INT(C_WRITE) + INT(C_OUTPUT);
	UaSketchState *latency[4] = {NULL, NULL, NULL, NULL};

	/* The amounts unpacked once: each is added to several rollups. */
	v[C_COST] = PointerGetDatum(PG_DETOAST_DATUM(v[C_COST]));
	if (!n[C_SAVINGS])
		v[C_SAVINGS] = PointerGetDatum(PG_DETOAST_DATUM(v[C_SAVINGS]));

	if (f->sweep != NULL && DatumGetTimestampTz(v[C_OCCURRED_AT]) >= f->sweep_from)
		sweep_add(f, user, DatumGetTimestampTz(v[C_OCCURRED_AT]));

	if (DatumGetBool(v[C_IN_LOCAL]))
	{
		UserDayAgg *day = user_day(f, user, DatumGetDateADT(v[C_USAGE_DATE]));
		ModelAgg   *m = list_entry(f, &day->models, provider, model, sizeof(ModelAgg), &f->n_models);
		TimestampTz at = DatumGetTimestampTz(v[C_OCCURRED_AT]);

		/* The month's sketches are the union of its days', made at the end. */
		if (!n[C_LATENCY] && day->latency.latency == NULL)
			day->latency.latency = new_sketch(f);
		latency[0] = day->latency.latency;
		if (!n[C_TTFT])
		{
			if (day->latency.ttft == NULL)
				day->latency.ttft = new_sketch(f);
			ua_sketch_states_add(&day->latency.ttft, 1, (float8) DatumGetInt32(v[C_TTFT]));
		}
		day->latency.feedback_sum += rating;
		day->latency.feedback_count += !n[C_RATING];
		day->month->latency.feedback_sum += rating;
		day->month->latency.feedback_count += !n[C_RATING];
		add_lengths(&day->latency.lengths, v, n);
		add_lengths(&day->month->latency.lengths, v, n);
		day->month->cache_hits += DatumGetBool(v[C_CACHE_HIT]);
		if (!n[C_SAVINGS])
			add_numeric(f, &day->month->savings, v[C_SAVINGS]);

		m->requests++;
		m->failed += failed;
		m->input += INT(C_INPUT);
		m->cached += INT(C_CACHED);
		m->write += INT(C_WRITE);
		m->output += INT(C_OUTPUT);
		m->reasoning += INT(C_REASONING);
		add_numeric(f, &m->cost, v[C_COST]);
		if (!n[C_LATENCY])
		{
			m->latency_sum += INT(C_LATENCY);
			m->latency_count++;
		}
		if (m->requests == 1 || at > m->last_used)
			m->last_used = at;

		if (!n[C_CATEGORY])
			((CategoryAgg *) list_entry(f, &day->categories, intern_recent(f, 2, v[C_CATEGORY]), NULL,
										sizeof(CategoryAgg), &f->n_categories))->requests++;
		add_labels(f, &day->labels, &f->n_labels, v, n);
		set_add(f, &day->documents, K_USER_DOCUMENT, document);
		set_add(f, &day->month->conversations, K_MONTH_CONVERSATION, conversation);
		set_add(f, &day->month->documents, K_MONTH_DOCUMENT, document);
		if (!n[C_SESSION])
			set_add(f, &day->sessions, K_USER_SESSION, intern(f, v[C_SESSION]));
		if (conversation != NULL)
			conversation_add(f, &day->conversation_figures, conversation, tokens_total, v[C_COST], at);

		/* An organization's event: its day is the organization's local day. */
		if (!n[C_ORG])
		{
			LatencyAgg *o = group(f, f->org_days, intern(f, v[C_ORG]), DatumGetDateADT(v[C_USAGE_DATE]),
								  sizeof(LatencyAgg), NULL);

			if (!n[C_LATENCY] && o->latency == NULL)
				o->latency = new_sketch(f);
			latency[3] = o->latency;
			if (!n[C_TTFT])
			{
				if (o->ttft == NULL)
					o->ttft = new_sketch(f);
				ua_sketch_states_add(&o->ttft, 1, (float8) DatumGetInt32(v[C_TTFT]));
			}
			o->feedback_sum += rating;
			o->feedback_count += !n[C_RATING];
			add_lengths(&o->lengths, v, n);
		}
	}

	if (DatumGetBool(v[C_IN_UTC]))
	{
		int32		utc_day = DatumGetDateADT(v[C_UTC_DATE]);
		SystemDayAgg *sd = system_day(f, utc_day);
		SystemModelAgg *s = list_entry(f, &sd->models, provider, model, sizeof(SystemModelAgg),
									   &f->n_system_models);

		add_usage(f, &s->usage, v, n, failed, tokens_total, rating);
		s->usage.cached_input += INT(C_CACHED);
		if (!n[C_SAVINGS])
			add_numeric(f, &s->usage.savings, v[C_SAVINGS]);
		add_lengths(&s->usage.lengths, v, n);
		latency[1] = s->usage.latency;
		add_labels(f, &sd->labels, &f->n_system_labels, v, n);
		if (document != NULL)
		{
			DocumentAgg *d = group(f, f->documents, document, utc_day, sizeof(DocumentAgg), NULL);
			TimestampTz at = DatumGetTimestampTz(v[C_OCCURRED_AT]);

			add_usage(f, &d->usage, v, n, failed, tokens_total, rating);
			if (d->usage.requests == 1 || at > d->usage.last_used)
				d->usage.last_used = at;
			latency[2] = d->usage.latency;
			if (!n[C_SECTIONS])
				add_sections(f, document, utc_day, v[C_SECTIONS]);
			set_add(f, &d->users, K_DOCUMENT_USER, user);
			set_add(f, &d->conversations, K_DOCUMENT_CONVERSATION, conversation);
		}
		set_add(f, &sd->users, K_SYSTEM_USER, user);
		set_add(f, &sd->conversations, K_SYSTEM_CONVERSATION, conversation);
		set_add(f, &sd->documents, K_SYSTEM_DOCUMENT, document);
	}

	if (!n[C_LATENCY])
		ua_sketch_states_add(latency, 4, (float8) DatumGetInt32(v[C_LATENCY]));
}

/* The cursor's rows go straight from the executor to fold_event (no copies). */
typedef struct FoldReceiver
{
	DestReceiver pub;
	Fold	   *fold;
} FoldReceiver;

static bool
fold_receive(TupleTableSlot *slot, DestReceiver *self)
{
	Fold	   *f = ((FoldReceiver *) self)->fold;
	MemoryContext old = MemoryContextSwitchTo(f->row_cxt);

	slot_getallattrs(slot);
	fold_event(f, slot->tts_values, slot->tts_isnull);
	MemoryContextSwitchTo(old);
	MemoryContextReset(f->row_cxt);
	return true;
}

static void
fold_receiver_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	if (typeinfo->natts != C_COUNT)
		elog(ERROR, "usage_analytics: fold batch has %d columns, expected %d",
			 typeinfo->natts, C_COUNT);
}

static void
fold_receiver_noop(DestReceiver *self)
{
}

/*
 * A month's sketches and usage figures: the union and sums of its days' in
 * this batch (a day's from its models).
 */
static void
merge_months(Fold *f)
{
	groups_iterator it;
	GroupEntry *e;

	groups_start_iterate(f->user_days, &it);
	while ((e = groups_iterate(f->user_days, &it)) != NULL)
	{
		UserDayAgg *day = e->agg;
		MonthAgg   *month = day->month;
		UaSketchState *from[2] = {day->latency.latency, day->latency.ttft};
		UaSketchState **to[2] = {&month->latency.latency, &month->latency.ttft};
		ListEntry  *l;
		int			i;

		month->day_bits |= 1 << (e->key.day - month_of(e->key.day));
		for (l = day->models; l != NULL; l = l->next)
		{
			ModelAgg   *m = (ModelAgg *) l;

			if (month->requests == 0 || m->last_used > month->last_used)
				month->last_used = m->last_used;
			month->requests += m->requests;
			month->failed += m->failed;
			month->tokens_total += m->input + m->cached + m->write + m->output;
			month->cached_input += m->cached;
			if (m->cost != (Datum) 0)
				add_numeric(f, &month->cost, m->cost);
		}

		for (i = 0; i < 2; i++)
		{
			if (from[i] == NULL)
				continue;
			if (*to[i] == NULL)
				*to[i] = new_sketch(f);
			ua_sketch_state_merge(*to[i], from[i]);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* The entry points of fold.c                                              */

/* Empty aggregates in a fresh context. */
void
ua_fold_start(Fold *f, MemoryContext parent)
{
	f->cxt = AllocSetContextCreate(parent, "usage_analytics fold", ALLOCSET_DEFAULT_SIZES);
	f->row_cxt = AllocSetContextCreate(f->cxt, "usage_analytics fold row", ALLOCSET_SMALL_SIZES);
	memset(f->recent, 0, sizeof(f->recent));
	f->strings = intern_create(f->cxt, 1024, NULL);
	f->user_days = groups_create(f->cxt, 1024, NULL);
	f->user_months = groups_create(f->cxt, 256, NULL);
	f->org_days = groups_create(f->cxt, 64, NULL);
	f->documents = groups_create(f->cxt, 256, NULL);
	f->system_days = groups_create(f->cxt, 64, NULL);
	f->sections = pairs_create(f->cxt, 256, NULL);
	f->last_system_day = NULL;
	f->last_utc_day = 0;
	f->n_models = f->n_categories = f->n_system_models = 0;
	f->n_labels = f->n_system_labels = 0;
	{
		MemoryContext old = MemoryContextSwitchTo(f->row_cxt);

		f->kind_intent = intern(f, CStringGetTextDatum("query_intent"));
		f->kind_type = intern(f, CStringGetTextDatum("request_type"));
		MemoryContextSwitchTo(old);
		MemoryContextReset(f->row_cxt);
	}
}

void
ua_fold_sweep_create(Fold *f, MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(text *);
	ctl.entrysize = sizeof(SweepUser);
	ctl.hash = sweep_hash;
	ctl.match = sweep_match;
	ctl.hcxt = cxt;
	f->sweep = hash_create("usage_analytics threshold sweep", 256, &ctl,
						   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

Portal
ua_fold_open_batch(Datum *args, const char *nulls, const char *events_table)
{
	Oid			argtypes[4] = {INT8OID, INT8OID, DATEOID, DATEOID};
	SPIPlanPtr	plan;

	plan = SPI_prepare(psprintf(batch_sql, events_table != NULL ? events_table : "analytics.chat_events"),
					   4, argtypes);
	if (plan == NULL)
		elog(ERROR, "usage_analytics: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	return SPI_cursor_open(NULL, plan, args, nulls, true);
}

uint64
ua_fold_fetch(Fold *f, Portal cursor)
{
	FoldReceiver receiver;

	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = fold_receive;
	receiver.pub.rStartup = fold_receiver_startup;
	receiver.pub.rShutdown = fold_receiver_noop;
	receiver.pub.rDestroy = fold_receiver_noop;
	receiver.pub.mydest = DestNone;
	receiver.fold = f;
	return PortalRunFetch(cursor, FETCH_FORWARD, FOLD_FETCH, &receiver.pub);
}

void
ua_fold_finish(Fold *f)
{
	rank_strings(f);
	merge_months(f);
}
