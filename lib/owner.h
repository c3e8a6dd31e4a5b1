/*
 * owner.h - who may write a site's files: the check every tool makes
 * before it writes into a storage directory or a SQLite database.
 *
 * A site belongs to the user that owns its storage root and its database
 * file (the service user, "memedroid"): everything the tools create there
 * must stay readable and writable by that user.  A tool run as root on a
 * site that belongs to another user would leave root-owned files the
 * service cannot read, so it refuses before it writes anything:
 *
 *   md-ingest: storage '/var/lib/memedroid/storage' belongs to 'memedroid':
 *   run as that user (sudo -u memedroid md-ingest ...)
 *
 * Any other user may work on a site it does not own when the modes let it
 * (a group-writable set-up, storage.umask 007); else the tool stops at
 * the same point with the path, the errno text, and the owner, group and
 * mode that refused it.
 *
 * A path that does not exist yet is judged by its nearest existing
 * parent, the directory it will be created in: root making a new database
 * in the service user's directory is refused as well.  A path behind a
 * directory this process may not search is judged by that directory.
 */
#ifndef MD_OWNER_H
#define MD_OWNER_H

/*
 * May this process write path (what names it in messages: "storage",
 * "database")?  0 when it owns path, or is not root and may write it
 * (a directory: write and search; a file: read and write).  Else -1 after
 * logging why, errno EPERM (root on another user's site) or the access
 * check's (EACCES, EROFS...).  A path that cannot be looked at is let
 * through: the write that follows says why it fails.
 */
int owner_check(const char *what, const char *path);

#endif
