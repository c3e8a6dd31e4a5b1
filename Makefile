# memedroid - plain Makefile; honours CC CFLAGS LDFLAGS PREFIX DESTDIR.
# make            build every tool
# make check      run the test suite (installs missing packages first)
# make demo       run the main job on sample media with the SQLite default
# make SANITIZE=1 check   the same under AddressSanitizer + UBSan
# make fuzz       each parser's fuzz target (tests/fuzz/fuzz-*.c) for
#                 FUZZ_TIME seconds under libFuzzer + ASan + UBSan

PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
SHAREDIR = $(PREFIX)/share/memedroid
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/site-functions
# where systemd looks for them (under /usr/local too); the units' ExecStart=
# says $(BINDIR), rewritten at install from the /usr/local/bin of scripts/
UNITDIR = $(PREFIX)/lib/systemd/system
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
TMPFILESDIR = $(PREFIX)/lib/tmpfiles.d
UNITS = md-work.service md-finalize.service md-janitor.service md-janitor.timer

CC ?= cc
CFLAGS ?= -O2 -g
# -Wformat=2 ... -Wundef: the extra warnings the tree is clean under
WARN = -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter -Wformat=2 -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition -Wpointer-arith -Wvla -Wundef
CPPFLAGS_ALL = -D_DEFAULT_SOURCE -D_GNU_SOURCE -Ilib -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql) -I/usr/include/libxml2
LIBS = -lcrypto -lcrypt -lyaml -ljansson -lzip -lm -ldl
# libsqlite3, libpq, libcurl and libxml2 are not linked but loaded when first needed
# (lib/dl.h), by the sonames of the ones this build compiles against
soname = $(shell objdump -p "$$($(CC) -print-file-name=lib$(1).so)" 2>/dev/null | sed -n 's/^ *SONAME *//p')
dl_define = $(if $(2),-D$(1)='"$(2)"')
DL_SONAMES := $(call dl_define,SONAME_SQLITE3,$(call soname,sqlite3)) \
	$(call dl_define,SONAME_PQ,$(call soname,pq)) $(call dl_define,SONAME_CURL,$(call soname,curl)) \
	$(call dl_define,SONAME_XML2,$(call soname,xml2))
CPPFLAGS_ALL += $(DL_SONAMES)
# one .d file of header dependencies per object and per binary
DEPFLAGS = -MMD -MP

# Hardening: canaries, position-independent executables, full RELRO, and
# the checked libc calls of _FORTIFY_SOURCE, which need an optimising
# build (glibc warns otherwise, and warnings are errors here); make
# HARDEN= HARDEN_LDFLAGS= builds without.
HARDEN = -fstack-protector-strong -fPIE
HARDEN_LDFLAGS = -pie -Wl,-z,relro,-z,now
ifneq ($(filter -O1 -O2 -O3 -Os -Og -Ofast -Oz,$(CFLAGS)),)
FORTIFY = -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
endif

ifeq ($(SANITIZE),1)
FAULTS = 1
# the sanitizers check more than _FORTIFY_SOURCE does, and better alone
FORTIFY =
CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# FAULTS=1: MD_FAULT=OP:N[:ERRNO] fails the Nth write, rename, fsync... (lib/fault.h)
ifeq ($(FAULTS),1)
CPPFLAGS_ALL += -DMD_FAULTS
endif

COMPILE = $(CC) $(CPPFLAGS_ALL) $(FORTIFY) $(CPPFLAGS) $(WARN) $(HARDEN) $(CFLAGS) $(DEPFLAGS)
LINK = $(LDFLAGS) $(HARDEN_LDFLAGS) $(LIBS)

TOOLS = md-db md-ingest md-enqueue md-work md-finalize md-feed md-job md-status md-user md-janitor md-post
LIB_SRC = lib/strbuf.c lib/log.c lib/conf.c lib/spawn.c lib/hash.c lib/storage.c \
	lib/store.c lib/store_migrate.c lib/store_users.c lib/store_posts.c lib/store_jobs.c lib/store_enqueue.c lib/store_read.c lib/store_sqlite.c lib/store_pg.c lib/probe.c lib/emit.c lib/quote.c lib/cli.c \
	lib/runner.c lib/ffval.c lib/source.c lib/verify.c lib/reason.c lib/walk.c lib/jwt.c lib/sandbox.c lib/ref.c \
	lib/migrations.c lib/auth.c lib/storage_fs.c lib/file.c lib/fault.c \
	lib/store_work.c lib/store_content.c lib/content.c lib/store_check.c lib/store_janitor.c \
	lib/pack.c lib/frames.c lib/web.c \
	lib/blurhash.c lib/placeholder.c lib/rendition.c lib/feed_html.c lib/atom.c \
	lib/hls.c lib/sigv4.c lib/storage_s3.c lib/progress.c lib/dl.c
LIB_SRC += lib/owner.c
LIB_SRC += lib/notify.c
LIB_SRC += lib/clock.c
LIB_OBJ = $(LIB_SRC:.c=.o)
TEST_BIN = tests/unit/test-lib
CONFORM_BIN = tests/unit/conform  # the store drivers' conformance suite
PRESIGN_BIN = tests/unit/presign  # a presigned URL for tests/92-sigv4-server.t
STORAGECP_BIN = tests/unit/storage-cp  # put and get through storage.h, for tests/bench/s3.sh
SOURCECHECK_BIN = tests/unit/source-check  # the ingest's kept source against the worker's probe
SQLITELOOP_BIN = tests/bench/sqlite-loop  # the bare-SQL SQLite burn-down, for tests/bench/sqlite.sh

# fuzz targets: clang's libFuzzer, the library compiled in with the sanitizers
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_WARN = $(WARN) -Wno-string-concatenation -Wno-missing-prototypes
FUZZ_SRC = $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BIN = $(FUZZ_SRC:.c=)
FUZZ_OBJ = $(LIB_SRC:lib/%.c=tests/fuzz/obj/%.o)
FUZZ_TIME = 60

all: $(TOOLS)

# .build-flags records the compilers and every flag; it is rewritten only
# when one of them changes (make SANITIZE=1 after make, another CFLAGS),
# and everything built depends on it, so such a change rebuilds it all.
BUILD_FLAGS = $(COMPILE) | $(LINK) | $(FUZZ_CC) $(FUZZ_WARN) $(FUZZ_CFLAGS)
.build-flags: FORCE
	@printf '%s\n' '$(subst ','\'',$(BUILD_FLAGS))' > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; \
	else mv $@.tmp $@ && echo "build flags changed: everything is rebuilt"; fi

lib/migrations.c: scripts/embed-sql.sh sql/sqlite sql/postgres $(wildcard sql/sqlite/*.sql sql/postgres/*.sql)
	sh scripts/embed-sql.sh sql > $@.tmp && mv $@.tmp $@

lib/%.o: lib/%.c .build-flags
	$(COMPILE) -c -o $@ $<

lib/libmd.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

md-%: tools/md-%.c lib/libmd.a .build-flags
	$(COMPILE) -MF tools/$@.d -o $@ $< lib/libmd.a $(LINK)

$(TEST_BIN): tests/unit/test-lib.c lib/libmd.a .build-flags
	$(COMPILE) -o $@ $< lib/libmd.a $(LINK)

$(CONFORM_BIN): tests/unit/conform.c lib/libmd.a .build-flags
	$(COMPILE) -o $@ $< lib/libmd.a $(LINK)

$(PRESIGN_BIN): tests/unit/presign.c lib/libmd.a .build-flags
	$(COMPILE) -o $@ $< lib/libmd.a $(LINK)

$(STORAGECP_BIN): tests/unit/storage-cp.c lib/libmd.a .build-flags
	$(COMPILE) -o $@ $< lib/libmd.a $(LINK)

$(SOURCECHECK_BIN): tests/unit/source-check.c lib/libmd.a .build-flags
	$(COMPILE) -o $@ $< lib/libmd.a $(LINK)

$(SQLITELOOP_BIN): tests/bench/sqlite-loop.c .build-flags
	$(COMPILE) -o $@ $< $(LDFLAGS) $(HARDEN_LDFLAGS) -lsqlite3

tests/fuzz/obj/%.o: lib/%.c .build-flags
	@mkdir -p tests/fuzz/obj
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(FUZZ_WARN) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

tests/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_OBJ) .build-flags
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(FUZZ_WARN) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_OBJ) $(LIBS)

-include $(wildcard lib/*.d tools/*.d tests/unit/*.d tests/fuzz/*.d tests/fuzz/obj/*.d)

fuzz-build: $(FUZZ_BIN)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_BIN)

deps:
	@sh scripts/deps.sh

check: deps
	@sh tests/run.sh

# the source check alone (make check runs it too, in tests/00-build.t)
lint:
	@sh scripts/check-source.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh

# the crash experiments of issue 10, 30 trials each on both backends, and
# their table (tests/torture/run.sh; about 50 minutes)
torture: deps all
	@bash tests/torture/run.sh

bench: deps all $(STORAGECP_BIN) $(SQLITELOOP_BIN)
	@bash tests/bench/run.sh

# the media tests over every file of ../shared/corpus, not only the small
# ones make check takes (tests/lib.sh: corpus_wanted), on SQLite
media-check: deps all $(SOURCECHECK_BIN)
	@MD_TEST_CORPUS=all prove -j$${MD_TEST_JOBS:-2} tests/60-corpus.t tests/61-source-kept.t \
		tests/70-media-edges.t tests/87-frames-web.t tests/89-hls.t

# SPEC §10 on one machine: workers, PostgreSQL with a replica and S3 on hosts
# made of network namespaces (tests/hosts/check.sh; root, about 5 minutes)
hosts-check: deps all
	@bash tests/hosts/check.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(SHAREDIR)/scripts $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/md.7 $(DESTDIR)$(MANDIR)/man7
	install -m 755 scripts/*.sh $(DESTDIR)$(SHAREDIR)/scripts
	install -m 644 scripts/memedroid.cron $(DESTDIR)$(SHAREDIR)/scripts
	for u in $(UNITS); do \
		sed 's|=/usr/local/bin/|=$(BINDIR)/|' scripts/$$u > $(DESTDIR)$(UNITDIR)/$$u.tmp && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u.tmp && mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 644 scripts/memedroid.sysusers $(DESTDIR)$(SYSUSERSDIR)/memedroid.conf
	install -m 644 scripts/memedroid.tmpfiles $(DESTDIR)$(TMPFILESDIR)/memedroid.conf
	for t in $(TOOLS); do install -m 644 completions/memedroid.bash $(DESTDIR)$(BASHCOMPDIR)/$$t; done
	install -m 644 completions/_memedroid $(DESTDIR)$(ZSHCOMPDIR)/_memedroid

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t $(DESTDIR)$(MANDIR)/man1/$$t.1 $(DESTDIR)$(BASHCOMPDIR)/$$t; done
	rm -f $(DESTDIR)$(MANDIR)/man7/md.7 $(DESTDIR)$(ZSHCOMPDIR)/_memedroid
	for u in $(UNITS); do rm -f $(DESTDIR)$(UNITDIR)/$$u; done
	rm -f $(DESTDIR)$(SYSUSERSDIR)/memedroid.conf $(DESTDIR)$(TMPFILESDIR)/memedroid.conf
	rm -rf $(DESTDIR)$(SHAREDIR)

clean:
	rm -f $(TOOLS) lib/*.o lib/libmd.a lib/migrations.c lib/migrations.c.tmp $(TEST_BIN) $(CONFORM_BIN) $(PRESIGN_BIN) $(STORAGECP_BIN) $(SOURCECHECK_BIN) $(SQLITELOOP_BIN) $(FUZZ_BIN)
	rm -f lib/*.d tools/*.d tests/unit/*.d tests/bench/*.d tests/fuzz/*.d .build-flags .build-flags.tmp
	rm -rf tests/fuzz/obj

.PHONY: all deps check lint demo bench media-check hosts-check torture fuzz fuzz-build install uninstall clean FORCE
.SECONDARY: $(LIB_OBJ) $(FUZZ_OBJ)
