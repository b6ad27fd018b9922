/*-------------------------------------------------------------------------
 *
 * scan.h
 *	  Reading the extension's own tables by index scans, without a
 *	  statement (scan.c): the snapshot to read with, and a scan with keys
 *	  on heap columns that returns deformed rows, columns by name.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_SCAN_H
#define UA_SCAN_H

#include "access/genam.h"
#include "access/stratnum.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

/*
 * A snapshot for reading: fresh = true pushes a new one that sees this
 * transaction's own changes (as a non-read-only SPI statement would); pop
 * it with ua_end_read().  fresh = false reads with the active snapshot.
 */
extern Snapshot ua_begin_read(bool fresh);
extern void ua_end_read(bool fresh);

/* An index scan of one of our tables, with keys on heap columns. */
typedef struct UaScan
{
	Relation	heap;
	Relation	index;
	SysScanDesc scan;
	ScanKeyData keys[5];
	int			nkeys;
	struct UaColumnCache *columns;	/* NULL: none free, look up every time */
	Datum	   *values;			/* the current row, deformed */
	bool	   *nulls;
	/* On a distributed install: the rows a statement returned, copied. */
	bool		spi;
	MemoryContext cxt;
	TupleDesc	desc;
	HeapTuple  *rows;
	uint64		nrows;
	uint64		next;
	bool		begun;			/* between ua_scan_begin and ua_scan_end */
} UaScan;

/* Set up the relcache callback of the column cache; from _PG_init. */
extern void ua_scan_init(void);

/* Open analytics.table and its index (AccessShareLock), no keys yet. */
extern void ua_scan_open(UaScan *s, const char *table, const char *index);

/* A key on heap column `column`, compared by `proc` in the index's collation. */
extern void ua_scan_key(UaScan *s, const char *column, StrategyNumber strategy,
						RegProcedure proc, Datum value);
extern void ua_scan_begin(UaScan *s, Snapshot snap);

/* The next row of the scan, deformed; false at the end. */
extern bool ua_scan_next(UaScan *s);

/*
 * Column `name` (a string literal: the cache compares addresses) of the
 * current row, valid until the next; isnull set.  _copy: it outlives the row.
 */
extern Datum ua_scan_column(UaScan *s, const char *name, bool *isnull);
extern Datum ua_scan_column_copy(UaScan *s, const char *name, bool *isnull);

/*
 * End the scan but keep the relations open: new keys and ua_scan_begin
 * scan again (a caller reading many subjects opens the tables once).
 */
extern void ua_scan_end(UaScan *s);

extern void ua_scan_close(UaScan *s);

#endif							/* UA_SCAN_H */
