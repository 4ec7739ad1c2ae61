/* rf_sd.h -- systemd readiness notification (Type=notify units). A no-op
 * outside systemd (no $NOTIFY_SOCKET) and in builds without libsystemd. */
#ifndef RF_SD_H
#define RF_SD_H

/* READY=1 once the program serves (listening / capturing). */
void rf_sd_ready(void);
/* STOPPING=1 when an orderly shutdown begins. */
void rf_sd_stopping(void);
/* 1 when the build links libsystemd (for --version and the tests). */
int  rf_sd_available(void);

#endif
