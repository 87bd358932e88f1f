/* lsm: see lsm.h */
#include "runtime/lsm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fd.h"

static bool apparmor_enabled(void)
{
	char c = 0;
	cleanup_fd int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);

	return fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y';
}

static bool selinux_enabled(void)
{
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

struct lsm_plan lsm_check(const struct spec_process *p, const char **ret_warning)
{
	struct lsm_plan plan = {0};

	*ret_warning = NULL;
	if (p->apparmor_profile && *p->apparmor_profile) {
		plan.apparmor = apparmor_enabled();
		if (!plan.apparmor)
			*ret_warning = "process.apparmorProfile is set but AppArmor is not enabled "
				       "on this host: the container runs without it";
	}
	if (p->selinux_label && *p->selinux_label) {
		plan.selinux = selinux_enabled();
		if (!plan.selinux)
			*ret_warning = "process.selinuxLabel is set but SELinux is not enabled on "
				       "this host: the container runs without it";
	}
	return plan;
}

static int write_attr(const char *path, const char *value, struct error *err)
{
	cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return error_errno(err, "open %s", path);
	int r = fd_write_all(fd, value, strlen(value));
	if (r < 0)
		return error_set(err, -r, "write %s \"%s\": %s", path, value, strerror(-r));
	return 0;
}

int lsm_apply(const struct lsm_plan *plan, const struct spec_process *p, struct error *err)
{
	char buf[4200];
	int r = 0;

	if (plan->apparmor) {
		if (snprintf(buf, sizeof(buf), "exec %s", p->apparmor_profile) >= (int)sizeof(buf))
			return error_set(err, E2BIG, "process.apparmorProfile: too long");
		r = write_attr(access("/proc/self/attr/apparmor/exec", F_OK) == 0
				   ? "/proc/self/attr/apparmor/exec"
				   : "/proc/self/attr/exec",
			       buf, err);
		if (r < 0)
			return error_wrap(err, "process.apparmorProfile");
	}
	if (plan->selinux) {
		r = write_attr("/proc/self/attr/exec", p->selinux_label, err);
		if (r < 0)
			return error_wrap(err, "process.selinuxLabel");
	}
	return 0;
}
