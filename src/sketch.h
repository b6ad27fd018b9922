/*-------------------------------------------------------------------------
 *
 * sketch.h
 *	  analytics.latency_sketch: a mergeable quantile sketch with relative
 *	  error at most 1 % (DDSketch-style logarithmic buckets).
 *
 *	  On-disk format (varlena, version 1):
 *	    int32  vl_len_
 *	    uint8  version          UA_SKETCH_VERSION
 *	    uint8  flags            0 (reserved)
 *	    uint16 nbins            <= UA_SKETCH_MAX_BINS
 *	    int64  count            all values, zeros included
 *	    int64  zero_count       values below UA_SKETCH_MIN_VALUE
 *	    float8 sum, min, max    exact (min = max = 0 when count = 0)
 *	    int64  counts[nbins]    > 0 each
 *	    int32  index[nbins]     strictly increasing bucket indexes
 *
 *	  A value x >= UA_SKETCH_MIN_VALUE falls in bucket ceil(log_gamma(x)),
 *	  gamma = (1 + a) / (1 - a), a = 0.01; the bucket's representative
 *	  2 gamma^i / (gamma + 1) is within a of every value in it.  Beyond
 *	  UA_SKETCH_MAX_BINS buckets the lowest ones are merged, so the size is
 *	  bounded (the upper quantiles keep their guarantee).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_SKETCH_H
#define UA_SKETCH_H

#define UA_SKETCH_VERSION		1
#define UA_SKETCH_ALPHA			0.0095	/* 1 % with a margin for rounding */
#define UA_SKETCH_MAX_BINS		2048
#define UA_SKETCH_MIN_VALUE		1e-9
#define UA_SKETCH_MAX_VALUE		1e300

typedef struct UaSketchHeader
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		nbins;
	int64		count;
	int64		zero_count;
	float8		sum;
	float8		min;
	float8		max;
	/* int64 counts[nbins]; int32 index[nbins]; follow */
} UaSketchHeader;

#define UA_SKETCH_SIZE(nbins) \
	(sizeof(UaSketchHeader) + (Size) (nbins) * (sizeof(int64) + sizeof(int32)))
#define UA_SKETCH_COUNTS(s) ((int64 *) ((char *) (s) + sizeof(UaSketchHeader)))
#define UA_SKETCH_INDEX(s) \
	((int32 *) ((char *) (s) + sizeof(UaSketchHeader) + (s)->nbins * sizeof(int64)))

/* The working state (sketch.c), for C code that builds sketches. */
typedef struct UaSketchState UaSketchState;

extern UaSketchState *ua_sketch_state_new(void);
extern void ua_sketch_states_add(UaSketchState **sts, int n, float8 x);
extern void ua_sketch_state_merge(UaSketchState *dst, const UaSketchState *src);
extern Datum ua_sketch_state_datum(const UaSketchState *st);

#endif							/* UA_SKETCH_H */
