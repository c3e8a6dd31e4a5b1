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

CC ?= cc
CFLAGS ?= -O2 -g
WARN = -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter
CPPFLAGS_ALL = -D_DEFAULT_SOURCE -D_GNU_SOURCE -Ilib -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
LIBS = -lsqlite3 -lpq -lcrypto -lcrypt -lyaml -ljansson -lm

ifeq ($(SANITIZE),1)
FAULTS = 1
CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# FAULTS=1: MD_FAULT=OP:N[:ERRNO] fails the Nth write, rename, fsync... (lib/fault.h)
ifeq ($(FAULTS),1)
CPPFLAGS_ALL += -DMD_FAULTS
endif

TOOLS = md-db md-ingest md-enqueue md-work md-finalize md-feed md-job md-status md-user
LIB_SRC = lib/strbuf.c lib/log.c lib/conf.c lib/spawn.c lib/hash.c lib/storage.c \
	lib/store.c lib/store_migrate.c lib/store_users.c lib/store_posts.c lib/store_jobs.c lib/store_sqlite.c lib/store_pg.c lib/probe.c lib/emit.c lib/quote.c lib/cli.c \
	lib/runner.c lib/ffval.c lib/source.c lib/verify.c lib/reason.c lib/walk.c lib/jwt.c lib/sandbox.c lib/ref.c \
	lib/migrations.c
LIB_SRC += lib/storage_fs.c lib/file.c lib/fault.c
LIB_OBJ = $(LIB_SRC:.c=.o)
LIB_HDR = $(wildcard lib/*.h)
TEST_BIN = tests/unit/test-lib

# fuzz targets: clang's libFuzzer, the library compiled in with the sanitizers
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_SRC = $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BIN = $(FUZZ_SRC:.c=)
FUZZ_OBJ = $(LIB_SRC:lib/%.c=tests/fuzz/obj/%.o)
FUZZ_TIME = 60

all: $(TOOLS)

lib/migrations.c: scripts/embed-sql.sh $(wildcard sql/sqlite/*.sql sql/postgres/*.sql)
	sh scripts/embed-sql.sh sql > $@.tmp && mv $@.tmp $@

lib/%.o: lib/%.c $(LIB_HDR)
	$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

lib/libmd.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

md-%: tools/md-%.c lib/libmd.a $(LIB_HDR)
	$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< lib/libmd.a $(LDFLAGS) $(LIBS)

$(TEST_BIN): tests/unit/test-lib.c lib/libmd.a $(LIB_HDR)
	$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< lib/libmd.a $(LDFLAGS) $(LIBS)

tests/fuzz/obj/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p tests/fuzz/obj
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(WARN) -Wno-string-concatenation $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

tests/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_OBJ) $(LIB_HDR)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(WARN) -Wno-string-concatenation $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_OBJ) $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_BIN)

deps:
	@sh scripts/deps.sh

check: deps
	@sh tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh

bench: deps all
	@bash tests/bench/run.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(SHAREDIR)/scripts $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/md.7 $(DESTDIR)$(MANDIR)/man7
	install -m 755 scripts/*.sh $(DESTDIR)$(SHAREDIR)/scripts
	install -m 644 scripts/*.service scripts/memedroid.cron $(DESTDIR)$(SHAREDIR)/scripts
	for t in $(TOOLS); do install -m 644 completions/memedroid.bash $(DESTDIR)$(BASHCOMPDIR)/$$t; done
	install -m 644 completions/_memedroid $(DESTDIR)$(ZSHCOMPDIR)/_memedroid

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t $(DESTDIR)$(MANDIR)/man1/$$t.1 $(DESTDIR)$(BASHCOMPDIR)/$$t; done
	rm -f $(DESTDIR)$(MANDIR)/man7/md.7 $(DESTDIR)$(ZSHCOMPDIR)/_memedroid
	rm -rf $(DESTDIR)$(SHAREDIR)

clean:
	rm -f $(TOOLS) lib/*.o lib/libmd.a lib/migrations.c lib/migrations.c.tmp $(TEST_BIN) $(FUZZ_BIN)
	rm -rf tests/fuzz/obj

.PHONY: all deps check demo bench fuzz fuzz-build install uninstall clean
.SECONDARY: $(LIB_OBJ) $(FUZZ_OBJ)
