/* rf_priv.c -- setgroups/setgid/setuid, then an empty capability set via
 * the capset syscall (no libcap dependency for one call), then
 * PR_SET_NO_NEW_PRIVS so nothing exec'd later can regain privilege. */
#include "rf_priv.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int
rf_priv_drop(const char *user, rf_errbuf_t *err)
{
    if (user != NULL && user[0] != '\0') {
        struct passwd *pw = getpwnam(user);
        if (pw == NULL)
            return rf_err_set(err, -ENOENT, "--user %s: no such user", user);
        if (setgroups(0, NULL) != 0 && errno != EPERM)
            return rf_err_set(err, -errno, "--user %s: setgroups: %s", user, strerror(errno));
        if (setgid(pw->pw_gid) != 0)
            return rf_err_set(err, -errno, "--user %s: setgid: %s", user, strerror(errno));
        if (setuid(pw->pw_uid) != 0)
            return rf_err_set(err, -errno, "--user %s: setuid: %s", user, strerror(errno));
        if (setuid(0) == 0)
            return rf_err_set(err, -EPERM, "--user %s: could regain root", user);
    }
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capset, &hdr, data) != 0)
        return rf_err_set(err, -errno, "capset: %s", strerror(errno));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return rf_err_set(err, -errno, "no_new_privs: %s", strerror(errno));
    return 0;
}
