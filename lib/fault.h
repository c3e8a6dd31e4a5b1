/*
 * fault.h - make the Nth write, rename, fsync, mkdir or open fail on purpose.
 *
 * The file primitives (file.c) and the filesystem storage backend do their
 * I/O through the fault_*() calls below.  In a plain build they are the
 * system calls themselves.  A build with -DMD_FAULTS (make FAULTS=1, and
 * make SANITIZE=1, the test build of make check) can be told to fail one
 * of them, as SQLite's test VFS does, so that tests can show what a full
 * disk or a dying one leaves behind:
 *
 *   MD_FAULT=OP:N[:ERRNO][,OP:N[:ERRNO]...]
 *
 * makes the Nth call of OP in this process fail with ERRNO (EIO when not
 * given; EIO, ENOSPC, EDQUOT, EROFS, EACCES and EMFILE are known by name).
 * OP is one of
 *
 *   write    a write to a regular file (pipes and sockets do not count)
 *   rename   a rename of a file or directory into place
 *   fsync    an fsync of a file or directory
 *   mkdir    a directory created
 *   open     a file created (O_CREAT)
 *
 * Counts are per process and start at 1; a forked child goes on from its
 * parent's count.  A malformed MD_FAULT draws one warning and arms nothing.
 * Without MD_FAULTS the variable is ignored and fault_hit() costs nothing.
 */
#ifndef MD_FAULT_H
#define MD_FAULT_H

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

enum fault_op { FAULT_WRITE, FAULT_RENAME, FAULT_FSYNC, FAULT_MKDIR, FAULT_OPEN, FAULT_NOPS };

#ifdef MD_FAULTS
/* Count one call of op; 1 (errno set) when this is the one to fail.  For
 * FAULT_WRITE, fd >= 0 must be a regular file to count. */
int fault_hit(enum fault_op op, int fd);
#else
static inline int fault_hit(enum fault_op op, int fd)
{
	(void)op;
	(void)fd;
	return 0;
}
#endif

static inline ssize_t fault_write(int fd, const void *buf, size_t len)
{
	return fault_hit(FAULT_WRITE, fd) ? -1 : write(fd, buf, len);
}

static inline int fault_rename(const char *from, const char *to)
{
	return fault_hit(FAULT_RENAME, -1) ? -1 : rename(from, to);
}

static inline int fault_fsync(int fd)
{
	return fault_hit(FAULT_FSYNC, -1) ? -1 : fsync(fd);
}

static inline int fault_mkdir(const char *path, mode_t mode)
{
	return fault_hit(FAULT_MKDIR, -1) ? -1 : mkdir(path, mode);
}

/* open(path, flags | O_CREAT, mode) */
static inline int fault_create(const char *path, int flags, mode_t mode)
{
	return fault_hit(FAULT_OPEN, -1) ? -1 : open(path, flags | O_CREAT, mode);
}

#endif
