/* vm_modules: see vm-modules.h */
#include "engine/vm-modules.h"

#include <elf.h>
#include <errno.h>
#include <fts.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fd.h"
#include "util/str.h"

#define MODULE_MAX  (64 << 20)
#define DEP_MAX	    (64 << 20)
#define DEPTH_MAX   32
#define MODULES_MAX 65536

enum visit { UNSEEN, VISITING, DONE };

struct mod {
	char *name; /* "virtio_net" */
	char *path; /* relative to moddir */
	char *deps; /* comma-separated names; NULL: not read yet (from .modinfo) */
	enum visit state;
};

struct modtab {
	const char *moddir;
	struct mod *v;
	size_t n;
	char **out; /* the load order being built */
	size_t nout;
};

static void modtab_free(struct modtab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].path);
		free(t->v[i].deps);
	}
	free(t->v);
	strv_free(t->out);
}

/* "kernel/drivers/char/hw_random/virtio-rng.ko" -> "virtio_rng"; n bytes of s. */
static char *module_name(const char *s, size_t n)
{
	const char *base = memrchr(s, '/', n);
	char *name;

	base = base ? base + 1 : s;
	n -= (size_t)(base - s);
	if (n > 3 && !memcmp(base + n - 3, ".ko", 3))
		n -= 3;
	name = strndup(base, n);
	for (char *p = name; p && *p; p++)
		if (*p == '-')
			*p = '_';
	return name;
}

static struct mod *lookup(struct modtab *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	return NULL;
}

/* Takes path and deps (owned). */
static int add(struct modtab *t, char *path, char *deps, struct error *err)
{
	struct mod *v = t->n < MODULES_MAX ? realloc(t->v, (t->n + 1) * sizeof(*v)) : NULL;
	char *name = path ? module_name(path, strlen(path)) : NULL;

	if (!v || !name) {
		free(path);
		free(deps);
		free(name);
		return error_set(err, ENOMEM, "modules in %s: out of memory", t->moddir);
	}
	t->v = v;
	t->v[t->n++] = (struct mod){.name = name, .path = path, .deps = deps};
	return 0;
}

/* "dep/path/a.ko dep/path/b.ko" -> "a,b". */
static char *dep_names(const char *list)
{
	size_t cap = strlen(list) + 1, len = 0;
	char *out = calloc(1, cap);

	for (const char *p = list; out && *p;) {
		size_t n = strcspn(p, " \t");
		cleanup_free char *name = n ? module_name(p, n) : NULL;
		if (name && len + strlen(name) + 1 < cap)
			len += (size_t)sprintf(out + len, "%s%s", len ? "," : "", name);
		p += n + strspn(p + n, " \t");
	}
	return out;
}

/* modules.dep: "kernel/a.ko: kernel/b.ko kernel/c.ko" a line. -ENOENT when there is none. */
static int load_modules_dep(struct modtab *t, struct error *err)
{
	cleanup_free char *path = str_printf("%s/modules.dep", t->moddir);
	cleanup_free char *text = NULL;
	char *save = NULL;
	int r = path ? fd_read_file(path, DEP_MAX, &text, NULL, err) : -ENOMEM;

	if (r < 0)
		return r == -ENOMEM ? error_set(err, ENOMEM, "out of memory") : r;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			return error_set(err, EINVAL, "%s: line without ':': %.80s", path, line);
		*colon = '\0';
		r = add(t, strdup(line), dep_names(colon + 1 + strspn(colon + 1, " ")), err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Every .ko under moddir, its dependencies read later from .modinfo. */
static int scan_tree(struct modtab *t, struct error *err)
{
	char *roots[] = {(char *)t->moddir, NULL};
	size_t prefix = strlen(t->moddir) + 1;
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	FTSENT *e;
	int r = 0;

	if (!fts)
		return error_errno(err, "%s", t->moddir);
	while (r == 0 && (e = fts_read(fts))) {
		if (e->fts_info == FTS_F && e->fts_pathlen > prefix && e->fts_namelen > 3 &&
		    !strcmp(e->fts_name + e->fts_namelen - 3, ".ko"))
			r = add(t, strdup(e->fts_path + prefix), NULL, err);
	}
	fts_close(fts);
	return r;
}

/* The value of "depends=" in the ELF image's .modinfo section (owned; "" when none). */
static int modinfo_depends(const char *img, size_t len, const char *path, char **ret,
			   struct error *err)
{
	Elf64_Ehdr eh;
	Elf64_Shdr names, sh;

	if (len < sizeof(eh) || memcmp(img, ELFMAG, SELFMAG) || img[EI_CLASS] != ELFCLASS64)
		return error_set(err, ENOEXEC, "module %s: not an ELF64 file", path);
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_shentsize != sizeof(sh) || eh.e_shoff > len ||
	    (len - eh.e_shoff) / sizeof(sh) < eh.e_shnum || eh.e_shstrndx >= eh.e_shnum)
		return error_set(err, ENOEXEC, "module %s: bad section headers", path);
	memcpy(&names, img + eh.e_shoff + eh.e_shstrndx * sizeof(sh), sizeof(sh));
	if (names.sh_offset > len || names.sh_size > len - names.sh_offset)
		return error_set(err, ENOEXEC, "module %s: bad section names", path);
	for (size_t i = 0; i < eh.e_shnum; i++) {
		memcpy(&sh, img + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_name >= names.sh_size || strncmp(img + names.sh_offset + sh.sh_name,
							   ".modinfo", names.sh_size - sh.sh_name))
			continue;
		if (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset)
			break;
		const char *p = img + sh.sh_offset, *end = p + sh.sh_size;
		for (; p < end; p += strnlen(p, (size_t)(end - p)) + 1) {
			if ((size_t)(end - p) > 8 && !memcmp(p, "depends=", 8)) {
				*ret = strndup(p + 8, strnlen(p + 8, (size_t)(end - p - 8)));
				return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
			}
		}
		*ret = strdup("");
		return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
	}
	return error_set(err, ENOEXEC, "module %s: no .modinfo section", path);
}

static int read_deps(struct modtab *t, struct mod *m, struct error *err)
{
	cleanup_free char *path = str_printf("%s/%s", t->moddir, m->path);
	cleanup_free char *img = NULL;
	size_t len;
	int r;

	if (m->deps)
		return 0;
	if (!path)
		return error_set(err, ENOMEM, "out of memory");
	r = fd_read_file(path, MODULE_MAX, &img, &len, err);
	if (r == 0)
		r = modinfo_depends(img, len, path, &m->deps, err);
	return r;
}

/* Depth-first: m's dependencies, then m. */
static int visit(struct modtab *t, const char *name, const char *needed_by, unsigned depth,
		 struct error *err)
{
	struct mod *m = lookup(t, name);
	int r;

	if (!m && needed_by)
		return error_set(err, ENOENT, "module %s (needed by %s): not found in %s", name,
				 needed_by, t->moddir);
	if (!m)
		return error_set(err, ENOENT, "module %s: not found in %s", name, t->moddir);
	if (m->state == DONE)
		return 0;
	if (m->state == VISITING || depth > DEPTH_MAX)
		return error_set(err, ELOOP, "module %s: circular dependency", name);
	m->state = VISITING;
	r = read_deps(t, m, err);
	cleanup_free char *deps = r == 0 ? strdup(m->deps) : NULL;
	if (r == 0 && !deps)
		r = error_set(err, ENOMEM, "out of memory");
	for (char *save = NULL, *d = deps ? strtok_r(deps, ",", &save) : NULL; r == 0 && d;
	     d = strtok_r(NULL, ",", &save)) {
		cleanup_free char *dep = module_name(d, strlen(d));
		r = dep ? visit(t, dep, m->name, depth + 1, err) : -ENOMEM;
	}
	if (r < 0)
		return r;
	m->state = DONE; /* m is still valid: the table does not grow while visiting */
	t->out[t->nout] = strdup(m->path);
	return t->out[t->nout++] ? 0 : error_set(err, ENOMEM, "out of memory");
}

int vm_modules_resolve(const char *moddir, const char *const *names, size_t n, char ***ret_paths,
		       struct error *err)
{
	struct modtab t = {.moddir = moddir};
	int r = load_modules_dep(&t, err);

	if (r == -ENOENT)
		r = scan_tree(&t, err);
	if (r == 0 && !(t.out = calloc(t.n + 1, sizeof(char *))))
		r = error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < n; i++) {
		cleanup_free char *name = module_name(names[i], strlen(names[i]));
		r = name ? visit(&t, name, NULL, 0, err) : error_set(err, ENOMEM, "out of memory");
	}
	if (r == 0)
		*ret_paths = TAKE_PTR(t.out);
	modtab_free(&t);
	return r;
}
