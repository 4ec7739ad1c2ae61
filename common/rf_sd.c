/* rf_sd.c -- sd_notify through libsystemd (Debian libsystemd-dev). Built
 * without it (RF_HAVE_SYSTEMD undefined) every call is a no-op, so a
 * development build never needs it; scripts/package.sh requires it. */
#include "rf_sd.h"

#ifdef RF_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

#include "rf_log.h"

static void
notify(const char *state)
{
    /* 0 = not under systemd (no NOTIFY_SOCKET): nothing to do. The state
     * is kept in the environment (unset_environment 0) so a re-exec keeps
     * notifying; children we start do not exist. */
    int r = sd_notify(0, state);
    if (r < 0)
        rf_log_warn("sd_notify %s: error %d", state, -r);
}

void rf_sd_ready(void) { notify("READY=1"); }
void rf_sd_stopping(void) { notify("STOPPING=1"); }
int  rf_sd_available(void) { return 1; }
#else
void rf_sd_ready(void) {}
void rf_sd_stopping(void) {}
int  rf_sd_available(void) { return 0; }
#endif
