/*
 * sandbox.h - confine a child program's view of the file system with
 * Landlock, where the kernel offers it.
 *
 * A confined program may read and execute below the system's program and
 * library directories (/usr, /lib, /lib64, /bin, /sbin), read a few files
 * of /etc (ld.so.cache, localtime, fonts...), /dev/null, /dev/urandom, its
 * own /proc/self and the CPU topology under /sys/devices/system; and then
 * only what the caller names: files or directories to read, directories to
 * read and write (make files and directories in them, but no symbolic
 * link, FIFO, socket or device node).  Everything else (the database, other media, the
 * configuration, other processes' /proc entries) is out of reach.  With
 * Landlock ABI 4 and later it may neither bind nor connect TCP sockets;
 * with ABI 6 and later it may not signal processes outside its domain nor
 * reach abstract unix sockets.
 *
 * Call order, around fork():
 *   fd = sandbox_ruleset(prog, read, write)     in the parent
 *   fork()
 *   sandbox_enter(fd)                           in the child, before execve
 *   close(fd)                                   in the parent
 *
 * The ruleset is built in the parent so that the child does no allocation;
 * sandbox_enter() only makes system calls and is safe after fork().
 */
#ifndef MD_SANDBOX_H
#define MD_SANDBOX_H

/*
 * The Landlock ABI version of the running kernel, or 0 when it has none
 * (not built in, or disabled at boot).  The first call that finds none logs
 * one info line saying job commands run unconfined.
 */
int sandbox_abi(void);

/*
 * A close-on-exec Landlock ruleset descriptor allowing the system paths
 * above, prog (the resolved program file: read and execute), every path of
 * the NULL-terminated read list (files or directories, read only; either
 * list may be NULL) and every directory of write (read and write).  Paths
 * that do not exist are skipped.  Returns the descriptor, or -1 with errno
 * set (ENOSYS or EOPNOTSUPP: the kernel has no Landlock).
 */
int sandbox_ruleset(const char *prog, const char *const *read, const char *const *write);

/*
 * In the child: no new privileges, the /proc/self rule, then restrict the
 * calling process to the ruleset.  Returns 0, or -1 with errno set.
 */
int sandbox_enter(int ruleset_fd);

#endif
