/* Unit tests for image/unpack.c: a corpus of hostile layer tars, built here with libarchive's
 * writer, each checked for its error (or its in-root result) and for a sentinel directory
 * outside the layer that must stay exactly as it was. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "image/unpack.h"
#include "util/cleanup.h"

enum { NONE, GZIP, ZSTD };

/* One tar entry. type 0 is a regular file; link is a symlink target or, with hard, a hardlink
 * target. */
struct ent {
	const char *name;
	mode_t type;
	mode_t perm;
	const char *data;
	const char *link;
	int hard;
	dev_t rdev;
	const char *xname, *xval;
};

struct fx {
	char base[64];	    /* /tmp/h14-unpack-XXXXXX */
	char dest[128];	    /* base/dest: the layer dir */
	char outside[128];  /* base/outside: the sentinel */
	char before[16384]; /* its listing before the unpack */
	struct stat passwd; /* /etc/passwd before */
	struct error err;
	struct image_unpack_stats st;
};

static int add_entry(struct archive *a, const struct ent *x)
{
	struct archive_entry *e = archive_entry_new();
	size_t len = x->data ? strlen(x->data) : 0;
	int r;

	archive_entry_set_pathname(e, x->name);
	archive_entry_set_mtime(e, 1000000000, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (x->hard) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, x->link);
	} else {
		archive_entry_set_filetype(e, x->type ? x->type : AE_IFREG);
		if (x->type == AE_IFLNK)
			archive_entry_set_symlink(e, x->link);
	}
	archive_entry_set_perm(e, x->perm ? x->perm : 0644);
	archive_entry_set_rdev(e, x->rdev);
	if (x->xname)
		archive_entry_xattr_add_entry(e, x->xname, x->xval, strlen(x->xval));
	if (!x->hard && (!x->type || x->type == AE_IFREG))
		archive_entry_set_size(e, (la_int64_t)len);
	r = archive_write_header(a, e);
	if (r == ARCHIVE_OK && len)
		r = archive_write_data(a, x->data, len) == (la_ssize_t)len ? 0 : -1;
	archive_entry_free(e);
	return r;
}

/* A pax tar of the entries in a memfd, compressed with filter, positioned at 0. */
static int build_tar(const struct ent *ents, size_t n, int filter)
{
	struct archive *a = archive_write_new();
	int fd = memfd_create("layer", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	if (filter == GZIP)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	if (filter == ZSTD)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(add_entry(a, &ents[i]), ARCHIVE_OK);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static char *listing;
static size_t listing_size;

static int list_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	size_t n = strlen(listing);

	snprintf(listing + n, listing_size - n, "%s %o %lld %lld %lu\n", path, st->st_mode,
		 (long long)st->st_size, (long long)st->st_mtime, (unsigned long)st->st_nlink);
	return 0;
}

/* Every path, mode, size, mtime and link count under dir (lstat), in walk order. */
static void list_tree(const char *dir, char *buf, size_t size)
{
	buf[0] = '\0';
	listing = buf;
	listing_size = size;
	assert_int_equal(nftw(dir, list_one, 16, FTW_PHYS), 0);
}

static void put_file(const char *dir, const char *name, const char *data)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char p[PATH_MAX + 8];

	strcpy(f->base, "/tmp/h14-unpack-XXXXXX");
	if (!mkdtemp(f->base))
		return -1;
	snprintf(f->dest, sizeof(f->dest), "%s/dest", f->base);
	snprintf(f->outside, sizeof(f->outside), "%s/outside", f->base);
	snprintf(p, sizeof(p), "%s/sub", f->outside);
	if (mkdir(f->dest, 0755) || mkdir(f->outside, 0755) || mkdir(p, 0755))
		return -1;
	put_file(f->outside, "secret", "outside");
	put_file(f->outside, "sub/victim", "victim");
	list_tree(f->outside, f->before, sizeof(f->before));
	if (stat("/etc/passwd", &f->passwd) < 0)
		return -1;
	*state = f;
	return 0;
}

/* The sentinel and /etc/passwd are exactly as before. */
static void assert_outside_untouched(struct fx *f)
{
	char after[sizeof(f->before)];
	struct stat st;

	list_tree(f->outside, after, sizeof(after));
	assert_string_equal(f->before, after);
	assert_int_equal(stat("/etc/passwd", &st), 0);
	assert_true(st.st_ino == f->passwd.st_ino && st.st_size == f->passwd.st_size &&
		    st.st_mtim.tv_nsec == f->passwd.st_mtim.tv_nsec &&
		    st.st_mtime == f->passwd.st_mtime);
	assert_int_equal(getxattr(f->outside, "trusted.overlay.opaque", NULL, 0), -1);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_outside_untouched(f);
	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int unpack_opts(struct fx *f, const struct ent *ents, size_t n, int filter,
		       const struct image_unpack_opts *o)
{
	cleanup_fd int fd = build_tar(ents, n, filter);

	return image_unpack_layer(fd, f->dest, o, &f->st, &f->err);
}

static int unpack(struct fx *f, const struct ent *ents, size_t n)
{
	return unpack_opts(f, ents, n, NONE, NULL);
}

static void assert_error(struct fx *f, int r, const char *msg)
{
	assert_true(r < 0);
	if (!strstr(f->err.msg, msg))
		fail_msg("error \"%s\" lacks \"%s\"", f->err.msg, msg);
}

static void assert_content(struct fx *f, const char *name, const char *data)
{
	char p[PATH_MAX + 64], buf[256] = "";
	int fd;

	snprintf(p, sizeof(p), "%s/%s", f->dest, name);
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fail_msg("%s: %s", p, strerror(errno));
	assert_true(read(fd, buf, sizeof(buf) - 1) >= 0);
	close(fd);
	assert_string_equal(buf, data);
}

static int dest_lstat(struct fx *f, const char *name, struct stat *st)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", f->dest, name);
	return lstat(p, st);
}

static void test_dotdot(void **state)
{
	struct fx *f = *state;
	const struct ent a[] = {{.name = "ok", .data = "x"}, {.name = "../escape", .data = "x"}};
	const struct ent b[] = {{.name = "etc/../../x", .data = "x"}};
	const struct ent c[] = {{.name = "a/../../b", .data = "x"}};
	const struct ent d[] = {{.name = "a/../b", .data = "in"},
				{.name = "./c/./", .type = AE_IFDIR}};
	struct stat st;

	assert_error(f, unpack(f, a, 2), "layer entry \"../escape\": path escapes the layer");
	assert_error(f, unpack(f, b, 1), "layer entry \"etc/../../x\": path escapes the layer");
	assert_error(f, unpack(f, c, 1), "layer entry \"a/../../b\": path escapes the layer");
	assert_int_equal(unpack(f, d, 2), 0);
	assert_content(f, "b", "in");
	assert_int_equal(dest_lstat(f, "c", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_absolute(void **state)
{
	struct fx *f = *state;
	const struct ent a[] = {{.name = "/abs/path", .data = "abs"}};

	assert_int_equal(unpack(f, a, 1), 0);
	assert_content(f, "abs/path", "abs");
}

/* x -> /etc, then x/passwd: written to dest/etc/passwd. */
static void test_symlink_two_step(void **state)
{
	struct fx *f = *state;
	const struct ent a[] = {{.name = "x", .type = AE_IFLNK, .link = "/etc"},
				{.name = "x/passwd", .data = "owned"}};
	char target[PATH_MAX];

	assert_int_equal(unpack(f, a, 2), 0);
	assert_content(f, "etc/passwd", "owned");
	assert_int_equal(readlink(strcat(strcpy(target, f->dest), "/x"), target, sizeof(target)),
			 4);
}

/* A relative symlink that climbs out, then a file through it, and an absolute one to the
 * sentinel itself. */
static void test_symlink_relative_out(void **state)
{
	struct fx *f = *state;
	char rel[PATH_MAX], in[256];
	struct ent a[] = {{.name = "x", .type = AE_IFLNK, .link = rel},
			  {.name = "x/file", .data = "rel"},
			  {.name = "y", .type = AE_IFLNK, .link = f->outside},
			  {.name = "y/secret", .data = "abs"},
			  {.name = "y/sub/victim", .data = "abs2"}};

	snprintf(rel, sizeof(rel), "../../../..%s", f->outside);
	assert_int_equal(unpack(f, a, ARRAY_SIZE(a)), 0);
	snprintf(in, sizeof(in), "%s/file", f->outside + 1);
	assert_content(f, in, "rel");
	snprintf(in, sizeof(in), "%s/secret", f->outside + 1);
	assert_content(f, in, "abs");
	snprintf(in, sizeof(in), "%s/sub/victim", f->outside + 1);
	assert_content(f, in, "abs2");
}

static void test_hardlinks(void **state)
{
	struct fx *f = *state;
	const struct ent a[] = {{.name = "h", .hard = 1, .link = "/etc/passwd"}};
	const struct ent b[] = {{.name = "h", .hard = 1, .link = "../outside/secret"}};
	const struct ent c[] = {{.name = "d", .type = AE_IFDIR, .perm = 0755},
				{.name = "h", .hard = 1, .link = "d"}};
	const struct ent d[] = {{.name = "s", .type = AE_IFLNK, .link = f->outside},
				{.name = "h", .hard = 1, .link = "s/secret"}};
	const struct ent e[] = {{.name = "f", .data = "same"},
				{.name = "g", .hard = 1, .link = "/f"}};
	struct stat s1, s2;

	assert_error(f, unpack(f, a, 1), "layer entry \"h\": hardlink target \"/etc/passwd\"");
	assert_error(f, unpack(f, b, 1), "hardlink target \"../outside/secret\": path escapes");
	assert_error(f, unpack(f, c, 2), "hardlink target \"d\" is not a regular file");
	/* s/secret resolves in the root, where it does not exist. */
	assert_error(f, unpack(f, d, 2), "layer entry \"h\": hardlink target \"s/secret\"");
	assert_int_equal(unpack(f, e, 2), 0);
	assert_int_equal(dest_lstat(f, "f", &s1), 0);
	assert_int_equal(dest_lstat(f, "g", &s2), 0);
	assert_true(s1.st_ino == s2.st_ino && s1.st_nlink == 2);
}

/* A hardlink to a symlink that points outside links the symlink itself. */
static void test_hardlink_to_symlink(void **state)
{
	struct fx *f = *state;
	char target[PATH_MAX];
	const struct ent a[] = {{.name = "s", .type = AE_IFLNK, .link = target},
				{.name = "h", .hard = 1, .link = "s"},
				{.name = "h", .type = AE_IFLNK, .link = "/x"}};
	struct stat s1, s2;

	snprintf(target, sizeof(target), "%s/secret", f->outside);
	assert_int_equal(unpack(f, a, 2), 0);
	assert_int_equal(dest_lstat(f, "s", &s1), 0);
	assert_int_equal(dest_lstat(f, "h", &s2), 0);
	assert_true(S_ISLNK(s2.st_mode) && s1.st_ino == s2.st_ino);
	/* Replacing the link replaces it, not its target. */
	assert_int_equal(unpack(f, a + 2, 1), 0);
	assert_int_equal(dest_lstat(f, "s", &s1), 0);
	assert_true(S_ISLNK(s1.st_mode));
}

/* Whiteouts and opaque markers through a symlinked parent act inside the root. */
static void test_whiteout_tricks(void **state)
{
	struct fx *f = *state;
	const struct ent a[] = {{.name = "sub", .type = AE_IFLNK, .link = f->outside},
				{.name = "sub/.wh.secret"},
				{.name = "sub/sub/.wh.victim"},
				{.name = "sub/.wh..wh..opq"},
				{.name = "up", .type = AE_IFLNK, .link = "../outside"},
				{.name = "up/.wh.secret"},
				{.name = "up/.wh..wh..opq"}};
	const struct ent b[] = {{.name = "d/.wh.."}};
	const struct ent c[] = {{.name = ".wh...", .data = ""}};
	struct image_unpack_opts o = {.overlay = true};
	char in[256];
	struct stat st;

	assert_int_equal(unpack(f, a, ARRAY_SIZE(a)), 0);
	assert_int_equal(f->st.whiteouts, 5);
	assert_error(f, unpack(f, b, 1), "layer entry \"d/.wh..\": invalid whiteout");
	assert_error(f, unpack(f, c, 1), "invalid whiteout");
	if (geteuid() != 0)
		skip(); /* overlay whiteouts need CAP_MKNOD and trusted.* xattrs */
	assert_int_equal(unpack_opts(f, a, ARRAY_SIZE(a), NONE, &o), 0);
	snprintf(in, sizeof(in), "%s/secret", f->outside + 1);
	assert_int_equal(dest_lstat(f, in, &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	snprintf(in, sizeof(in), "%s/%s", f->dest, f->outside + 1);
	assert_int_equal(getxattr(in, "trusted.overlay.opaque", in, 1), 1);
}

static void test_devices(void **state)
{
	struct fx *f = *state;
	const struct ent a[] = {
	    {.name = "dev/null", .type = AE_IFCHR, .perm = 0666, .rdev = makedev(1, 3)},
	    {.name = "dev/sda", .type = AE_IFBLK, .perm = 0660, .rdev = makedev(8, 0)},
	    {.name = "fifo", .type = AE_IFIFO, .perm = 0600}};
	struct stat st;

	assert_int_equal(unpack(f, a, ARRAY_SIZE(a)), 0);
	assert_int_equal(f->st.devices + f->st.devices_skipped, 3);
	if (f->st.devices_skipped)
		return; /* no CAP_MKNOD here: skipped like a rootless unpacker */
	assert_int_equal(dest_lstat(f, "dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(dest_lstat(f, "dev/sda", &st), 0);
	assert_true(S_ISBLK(st.st_mode) && st.st_rdev == makedev(8, 0));
	assert_int_equal(dest_lstat(f, "fifo", &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
}

static void test_modes_xattrs(void **state)
{
	struct fx *f = *state;
	const struct ent a[] = {{.name = "bin/su", .perm = 04755, .data = "#!"},
				{.name = "d", .type = AE_IFDIR, .perm = 01777},
				{.name = "x", .data = "x", .xname = "user.vessel", .xval = "yes"},
				{.name = "y", .data = "y", .xname = "trusted.evil", .xval = "no"}};
	char p[PATH_MAX + 8], v[16] = "";
	struct stat st;

	assert_int_equal(unpack(f, a, ARRAY_SIZE(a)), 0);
	assert_int_equal(dest_lstat(f, "bin/su", &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(st.st_mtime, 1000000000);
	assert_int_equal(dest_lstat(f, "d", &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
	snprintf(p, sizeof(p), "%s/x", f->dest);
	assert_int_equal(getxattr(p, "user.vessel", v, sizeof(v)), 3);
	assert_string_equal(v, "yes");
	snprintf(p, sizeof(p), "%s/y", f->dest);
	assert_int_equal(getxattr(p, "trusted.evil", v, sizeof(v)), -1);
	assert_true(f->st.xattrs_skipped >= 1); /* pax carries it twice */
	assert_int_equal(f->st.files, 3);
	assert_int_equal(f->st.bytes, 4);
}

static void test_limits(void **state)
{
	struct fx *f = *state;
	char *huge = malloc(5001);
	struct ent a[] = {{.name = huge, .data = "x"}};
	const struct ent b[] = {{.name = "1"}, {.name = "2"}, {.name = "3"}, {.name = "4"}};
	const struct ent c[] = {{.name = "big", .data = "0123456789"}};
	struct image_unpack_opts o = {.max_entries = 3};

	memset(huge, 'a', 5000);
	huge[5000] = '\0';
	assert_error(f, unpack(f, a, 1), "name longer than 4096 bytes");
	free(huge);
	assert_error(f, unpack_opts(f, b, 4, NONE, &o), "layer has more than 3 entries");
	o = (struct image_unpack_opts){.max_bytes = 5};
	assert_error(f, unpack_opts(f, c, 1, NONE, &o), "larger than 5 bytes");
}

static void test_truncated(void **state)
{
	struct fx *f = *state;
	char big[20000];
	const struct ent a[] = {{.name = "a", .data = "x"}, {.name = "big", .data = big}};
	cleanup_fd int fd = -1;

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fd = build_tar(a, 2, NONE);
	assert_int_equal(ftruncate(fd, 8000), 0);
	assert_error(f, image_unpack_layer(fd, f->dest, NULL, &f->st, &f->err), "\"big\"");
	close(fd);
	fd = build_tar(a, 2, GZIP);
	assert_int_equal(ftruncate(fd, 100), 0);
	assert_true(image_unpack_layer(fd, f->dest, NULL, &f->st, &f->err) < 0);
	close(fd);
	close(fd);
	fd = memfd_create("empty", MFD_CLOEXEC);
	assert_error(f, image_unpack_layer(fd, f->dest, NULL, &f->st, &f->err), "empty file");
	close(fd);
	fd = build_tar(a, 0, GZIP); /* an empty layer: only the end marker */
	assert_int_equal(image_unpack_layer(fd, f->dest, NULL, &f->st, &f->err), 0);
	assert_int_equal(f->st.entries, 0);
	close(fd);
	fd = memfd_create("garbage", MFD_CLOEXEC);
	assert_int_equal(write(fd, "\x1f\x8b\x08garbage-not-gzip", 20), 20);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_true(image_unpack_layer(fd, f->dest, NULL, &f->st, &f->err) < 0);
}

/* sha256 of what fd holds, as "sha256:<hex>". */
static void sha256_fd(int fd, char *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[4096], sum[32];
	unsigned int n;
	ssize_t len;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	while ((len = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(md, buf, (size_t)len);
	EVP_DigestFinal_ex(md, sum, &n);
	EVP_MD_CTX_free(md);
	strcpy(out, "sha256:");
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 7 + 2 * i, "%02x", sum[i]);
}

static void test_compressed_diff_id(void **state)
{
	struct fx *f = *state;
	const struct ent a[] = {{.name = "etc", .type = AE_IFDIR, .perm = 0755},
				{.name = "etc/os-release", .data = "ID=vessel\n"}};
	char want[IMAGE_UNPACK_DIFF_ID_SIZE], got[IMAGE_UNPACK_DIFF_ID_SIZE];
	struct image_unpack_opts o = {.diff_id_out = got};
	cleanup_fd int plain = build_tar(a, 2, NONE);

	sha256_fd(plain, want);
	assert_int_equal(lseek(plain, 0, SEEK_SET), 0);
	assert_int_equal(image_unpack_layer(plain, f->dest, &o, &f->st, &f->err), 0);
	assert_string_equal(got, want);
	for (int filter = GZIP; filter <= ZSTD; filter++) {
		char sub[PATH_MAX + 8];
		cleanup_fd int fd = build_tar(a, 2, filter);

		snprintf(sub, sizeof(sub), "%s/%d", f->dest, filter);
		assert_int_equal(mkdir(sub, 0755), 0);
		memset(got, 0, sizeof(got));
		assert_int_equal(image_unpack_layer(fd, sub, &o, &f->st, &f->err), 0);
		assert_string_equal(got, want);
		assert_int_equal(f->st.entries, 2);
	}
	assert_content(f, "2/etc/os-release", "ID=vessel\n");
	assert_content(f, "1/etc/os-release", "ID=vessel\n");
}

static void test_overlay_whiteouts(void **state)
{
	struct fx *f = *state;
	const struct ent a[] = {{.name = "dir/.wh.gone"},
				{.name = "opq/.wh..wh..opq"},
				{.name = "opq/new", .data = "n"},
				{.name = ".wh..wh.plnk/x"}};
	struct image_unpack_opts o = {.overlay = true};
	char p[PATH_MAX + 8], v[4] = "";
	struct stat st;

	if (geteuid() != 0)
		skip(); /* overlay whiteouts need CAP_MKNOD and trusted.* xattrs */
	assert_int_equal(unpack_opts(f, a, ARRAY_SIZE(a), NONE, &o), 0);
	assert_int_equal(dest_lstat(f, "dir/gone", &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	snprintf(p, sizeof(p), "%s/opq", f->dest);
	assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_string_equal(v, "y");
	assert_content(f, "opq/new", "n");
}

/* Flattened mode: a second layer applied on the first deletes what its whiteouts name. */
static void test_flat_whiteouts(void **state)
{
	struct fx *f = *state;
	const struct ent l1[] = {{.name = "a/keep", .data = "k"},
				 {.name = "a/gone", .data = "g"},
				 {.name = "a/dir/deep", .data = "d"},
				 {.name = "o/old", .data = "o"},
				 {.name = "o/sub/old2", .data = "o"}};
	const struct ent l2[] = {
	    {.name = "a/.wh.gone"},	    {.name = "a/.wh.dir"},
	    {.name = "o/new", .data = "n"}, {.name = "o/sub/new2", .data = "n"},
	    {.name = "o/.wh..wh..opq"},	    {.name = "o/later", .data = "l"},
	    {.name = "a/.wh.never-existed"}};
	struct stat st;

	assert_int_equal(unpack(f, l1, ARRAY_SIZE(l1)), 0);
	assert_int_equal(unpack(f, l2, ARRAY_SIZE(l2)), 0);
	assert_content(f, "a/keep", "k");
	assert_int_equal(dest_lstat(f, "a/gone", &st), -1);
	assert_int_equal(dest_lstat(f, "a/dir", &st), -1);
	assert_int_equal(dest_lstat(f, "o/old", &st), -1);
	assert_int_equal(dest_lstat(f, "o/sub/old2", &st), -1);
	assert_content(f, "o/new", "n");
	assert_content(f, "o/sub/new2", "n");
	assert_content(f, "o/later", "l");
}

/* A file replaces a directory, a directory replaces a symlink (tar order wins). */
static void test_replace(void **state)
{
	struct fx *f = *state;
	const struct ent a[] = {{.name = "x", .type = AE_IFLNK, .link = f->outside},
				{.name = "x", .type = AE_IFDIR, .perm = 0700},
				{.name = "x/secret", .data = "mine"},
				{.name = "d/f", .data = "1"},
				{.name = "d", .data = "now a file"}};

	assert_int_equal(unpack(f, a, ARRAY_SIZE(a)), 0);
	assert_content(f, "x/secret", "mine");
	assert_content(f, "d", "now a file");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_dotdot),
	    T(test_absolute),
	    T(test_symlink_two_step),
	    T(test_symlink_relative_out),
	    T(test_hardlinks),
	    T(test_hardlink_to_symlink),
	    T(test_whiteout_tricks),
	    T(test_devices),
	    T(test_modes_xattrs),
	    T(test_limits),
	    T(test_truncated),
	    T(test_compressed_diff_id),
	    T(test_overlay_whiteouts),
	    T(test_flat_whiteouts),
	    T(test_replace),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
