#include "sandbox.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The system headers may be older than the kernel: the rights and fields
 * of later ABI versions are spelled out here, and only those the running
 * kernel knows are asked for.
 */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define FS_EXECUTE      (1ULL << 0)
#define FS_WRITE_FILE   (1ULL << 1)
#define FS_READ_FILE    (1ULL << 2)
#define FS_READ_DIR     (1ULL << 3)
#define FS_REMOVE_DIR   (1ULL << 4)
#define FS_REMOVE_FILE  (1ULL << 5)
#define FS_MAKE_CHAR    (1ULL << 6)
#define FS_MAKE_DIR     (1ULL << 7)
#define FS_MAKE_REG     (1ULL << 8)
#define FS_MAKE_SOCK    (1ULL << 9)
#define FS_MAKE_FIFO    (1ULL << 10)
#define FS_MAKE_BLOCK   (1ULL << 11)
#define FS_MAKE_SYM     (1ULL << 12)
#define FS_REFER        (1ULL << 13)   /* ABI 2 */
#define FS_TRUNCATE     (1ULL << 14)   /* ABI 3 */
#define FS_IOCTL_DEV    (1ULL << 15)   /* ABI 5 */
#define NET_BIND_TCP    (1ULL << 0)    /* ABI 4 */
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL    (1ULL << 1)

#define FS_ABI1 ((1ULL << 13) - 1)
#define FILE_RIGHTS (FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV)
#define READ_RIGHTS (FS_EXECUTE | FS_READ_FILE | FS_READ_DIR)

struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* Read only; a missing one is skipped. */
static const char *const system_read[] = {
	"/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/localtime", "/usr/share/zoneinfo", "/etc/fonts",
	"/etc/alternatives", "/etc/ssl/openssl.cnf", "/etc/gai.conf",
	"/dev/urandom", "/dev/random", "/dev/zero",
	"/sys/devices/system/cpu", "/sys/devices/system/node",
	"/proc/filesystems", "/proc/meminfo", "/proc/cpuinfo",
	NULL
};

static uint64_t handled_fs(int abi)
{
	uint64_t fs = FS_ABI1;

	if (abi >= 2)
		fs |= FS_REFER;
	if (abi >= 3)
		fs |= FS_TRUNCATE;
	if (abi >= 5)
		fs |= FS_IOCTL_DEV;
	return fs;
}

int sandbox_abi(void)
{
	static int abi = -1;

	if (abi < 0) {
		long v = syscall(SYS_landlock_create_ruleset, NULL, 0,
				 LANDLOCK_CREATE_RULESET_VERSION);
		abi = v > 0 ? (int)v : 0;
		if (!abi)
			info("no Landlock in this kernel (%s): job commands are not confined "
			     "to their files", strerror(errno));
		else
			debug("Landlock ABI %d: job commands are confined to their files", abi);
	}
	return abi;
}

/* Allow access (masked to what the ruleset handles) below path. */
static int allow(int rfd, const char *path, uint64_t access, uint64_t handled)
{
	struct path_beneath pb;
	struct stat sb;
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -1;
	if (fstat(fd, &sb)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	pb.parent_fd = fd;
	pb.allowed_access = access & handled;
	if (!S_ISDIR(sb.st_mode))
		pb.allowed_access &= FILE_RIGHTS;
	int r = pb.allowed_access ?
		(int)syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) : 0;
	int e = errno;
	close(fd);
	errno = e;
	return r ? -1 : 0;
}

int sandbox_ruleset(const char *prog, const char *const *read, const char *const *write)
{
	int abi = sandbox_abi();
	struct ruleset_attr attr = { 0 };
	size_t size = sizeof(uint64_t);
	int rfd, e;

	if (!abi) {
		errno = EOPNOTSUPP;
		return -1;
	}
	attr.handled_access_fs = handled_fs(abi);
	if (abi >= 4) {
		attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
		size = 2 * sizeof(uint64_t);
	}
	if (abi >= 6) {
		attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rfd < 0)
		return -1;
	if (fcntl(rfd, F_SETFD, FD_CLOEXEC))
		goto fail;
	for (int i = 0; system_read[i]; i++)
		if (allow(rfd, system_read[i], READ_RIGHTS, attr.handled_access_fs))
			goto fail;
	if (allow(rfd, "/dev/null", FS_READ_FILE | FS_WRITE_FILE, attr.handled_access_fs))
		goto fail;
	if (prog && allow(rfd, prog, FS_EXECUTE | FS_READ_FILE, attr.handled_access_fs))
		goto fail;
	for (int i = 0; read && read[i]; i++)
		if (allow(rfd, read[i], FS_READ_FILE | FS_READ_DIR, attr.handled_access_fs))
			goto fail;
	/*
	 * No symbolic link, FIFO, socket or device node: a confined program
	 * could leave a link to a file outside its reach for an unconfined
	 * reader (the frames packer, a web server serving the rendition).
	 */
	for (int i = 0; write && write[i]; i++)
		if (allow(rfd, write[i], attr.handled_access_fs & ~(FS_MAKE_CHAR | FS_MAKE_BLOCK |
								      FS_MAKE_SYM | FS_MAKE_FIFO |
								      FS_MAKE_SOCK),
			  attr.handled_access_fs))
			goto fail;
	return rfd;
fail:
	e = errno;
	close(rfd);
	errno = e;
	return -1;
}

int sandbox_enter(int rfd)
{
	struct path_beneath pb = { FS_READ_FILE | FS_READ_DIR, -1 };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	/* opened here, /proc/self is this child's own directory */
	pb.parent_fd = open("/proc/self", O_PATH | O_CLOEXEC);
	if (pb.parent_fd >= 0) {
		long r = syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
		close(pb.parent_fd);
		if (r)
			return -1;
	}
	return syscall(SYS_landlock_restrict_self, rfd, 0) ? -1 : 0;
}
