/*-------------------------------------------------------------------------
 *
 * batch_int.h
 *	  Private to the batch path: record_batch.c (record_chat_events, the
 *	  element checks, the chunk's recording and the counter sums) and
 *	  import_rows.c (a history load from a cursor), which converts rows
 *	  into the same elements and records them with the same code.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_BATCH_INT_H
#define UA_BATCH_INT_H

#include "fmgr.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "record.h"

typedef enum KeyKind
{
	K_TEXT, K_INT8, K_FLOAT8, K_AMOUNT, K_BOOL, K_TIMESTAMPTZ, K_TEXTARRAY, K_JSONB, K_INET
} KeyKind;

/* A key of an element: a record_chat_event argument name and its kind. */
typedef struct UaBatchKey
{
	const char *name;
	KeyKind		kind;
} UaBatchKey;

/* The keys of an element: record_chat_event's argument names, in order. */
extern const UaBatchKey batch_keys[UA_RECORD_NARGS];

/* One element: its arguments as record_chat_event would get them. */
typedef struct BatchEvent
{
	FunctionCallInfo fc;
	UaRecordArgs a;
	int			index;			/* 1-based, in the batch */
	int			first;			/* -1, or the chunk position of the same key's first element */
	bool		skip;			/* recorded before: return id */
	int64		id;
} BatchEvent;

/*
 * The sums of the events recorded since the last flush (sums_flush): the
 * counter rows and the subjects whose thresholds may have moved.  A batch
 * flushes after each chunk; a history load when many rows are waiting and
 * at its end.  The hashes and every value they hold live in cxt.
 */
typedef struct BatchSums
{
	MemoryContext cxt;
	HTAB	   *ucount;			/* usage_counters rows */
	HTAB	   *ocount;			/* org_usage_counters rows */
	HTAB	   *notify;
} BatchSums;

/* The call record_chat_event's checks see (make_flinfo builds it). */
extern FmgrInfo *batch_flinfo;
extern FmgrInfo *make_flinfo(void);

/* What an error is about, for the message (with_element). */
extern int	err_index;
extern const char *err_key;
extern bool err_whole;

extern void run_naming_errors(void (*fn) (void *), void *arg, char *(*prefix) (void));
extern void with_element(int index, void (*fn) (void *), void *arg);
extern void bad_key(const char *expected);
extern int	key_number(const char *name, int len);
extern void convert_value(FunctionCallInfo fc, int k, JsonbValue *v);

extern void record_chunk(BatchEvent *ev, int n, bool orgs, MemoryContext cxt, BatchSums *bs,
						 bool by_interval);
extern void sums_init(BatchSums *bs);
extern void sums_reset(BatchSums *bs);
extern void sums_flush(BatchSums *bs, MemoryContext cxt);

#endif							/* UA_BATCH_INT_H */
