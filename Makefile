# usage_analytics — PGXS build.
#
#   make && make install          build and install into the server found by pg_config
#   make installcheck             run the whole suite on a temporary instance (not as root)
#   make test / make demo         the README's two commands (install packages, run as root)

EXTENSION   = usage_analytics
MODULE_big  = usage_analytics
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" usage_analytics.control)

OBJS = \
	src/usage_analytics.o \
	src/guc.o \
	src/spi_plans.o \
	src/identity.o \
	src/validate.o \
	src/record.o \
	src/record_batch.o \
	src/import_rows.o \
	src/request_keys.o \
	src/quota.o \
	src/append_only.o \
	src/sketch.o \
	src/feedback.o \
	src/counters.o \
	src/notify.o \
	src/admission.o \
	src/text_set.o \
	src/fold.o \
	src/fold_aggregate.o \
	src/fold_write.o \
	src/fold_direct.o \
	src/event_insert.o \
	src/api_request.o \
	src/scan.o \
	src/subject.o \
	src/authz.o \
	src/uninstall.o \
	src/xact_keys.o \
	src/rules.o \
	src/api_keys.o \
	src/citus.o

# SQL: released scripts are frozen in sql/; the scripts of the version in
# development are assembled from sql/src/ (install.sql for a fresh install,
# upgrades/FROM--TO.sql for each update), every "\ir" expanded.
DATA         = $(wildcard sql/usage_analytics--*.sql)
SQL_SOURCES  = $(shell find sql/src -name '*.sql')
SQL_UPGRADES = $(patsubst sql/src/upgrades/%.sql,build/usage_analytics--%.sql,$(wildcard sql/src/upgrades/*.sql))
DATA_built   = build/usage_analytics--$(EXTVERSION).sql $(SQL_UPGRADES)

PG_CONFIG ?= pg_config

# pg_regress: pgTAP files, one per concern, on a temporary instance.  The
# files of REGRESS_18 test what only PostgreSQL 18 has and run only there.
PG_MAJOR    := $(shell $(PG_CONFIG) --version 2>/dev/null | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
REGRESS_18  = event_insert_pg18
TESTS       = $(sort $(wildcard test/sql/*.sql))
REGRESS     = $(filter-out $(REGRESS_18),$(patsubst test/sql/%.sql,%,$(TESTS)))
ifeq ($(shell test "$(PG_MAJOR)" -ge 18 2>/dev/null && echo yes),yes)
REGRESS    += $(REGRESS_18)
endif
REGRESS_OPTS = --inputdir=test --outputdir=test \
	--temp-instance=test/tmp_instance --temp-config=test/postgresql.conf \
	--load-extension=pgtap

# Isolation specs (concurrency promises).
ISOLATION      = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --outputdir=test/isolation \
	--temp-instance=test/tmp_isolation --temp-config=test/postgresql.conf

# Perl TAP tests (pg_cron, restarts, crashes).
TAP_TESTS   = 1
PROVE_TESTS = test/t/*.pl

PG_CPPFLAGS = -I$(srcdir)/src
# -Wextra, less unused-parameter (PostgreSQL's own headers trip it, as in its own build).
PG_CFLAGS   = -Wextra -Wno-unused-parameter
# Rebuild an object when a header it includes changes (PGXS tracks only .c).
PG_CFLAGS  += -MMD -MP
SHLIB_LINK  =
EXTRA_CLEAN = build $(OBJS:.o=.d) test/results test/isolation test/regression.* test/tmp_instance test/tmp_isolation tmp_check

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

-include $(OBJS:.o=.d)

build/usage_analytics--$(EXTVERSION).sql: $(SQL_SOURCES) tools/assemble-sql.pl
	@mkdir -p build
	perl tools/assemble-sql.pl sql/src/install.sql > $@.tmp && mv $@.tmp $@

build/usage_analytics--%.sql: sql/src/upgrades/%.sql $(SQL_SOURCES) tools/assemble-sql.pl
	@mkdir -p build
	perl tools/assemble-sql.pl --previous sql/usage_analytics--$(firstword $(subst --, ,$*)).sql $< > $@.tmp && mv $@.tmp $@

.PHONY: test demo
test:
	tools/run-tests.sh

demo:
	tools/demo.sh
