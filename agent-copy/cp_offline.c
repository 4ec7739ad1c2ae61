/* cp_offline.c -- the offline reader's policy: intercept gate, pacing,
 * backpressure, end of the replay (see cp_offline.h). */
#include "cp_offline.h"

#include <string.h>

void
cp_offline_init(cp_offline_t *o, double speed, uint32_t session_timeout_ms, uint64_t now_ms)
{
    memset(o, 0, sizeof(*o));
    o->speed = speed > 0 ? speed : 0;
    o->session_timeout_ms = session_timeout_ms;
    o->open_ms = now_ms;
}

/* Waiting for room. Returns 1 to keep waiting, 0 once the wait is given up
 * (no progress for CP_OFFLINE_STALL_MS). */
static int
keep_waiting(cp_offline_t *o, int progress, uint64_t now_ms)
{
    if (o->wait_since_ms == 0) {
        o->wait_since_ms = now_ms ? now_ms : 1;
        o->quiet_ms = o->wait_since_ms;
        o->waits++;
    }
    if (progress)
        o->quiet_ms = now_ms;
    if (now_ms - o->quiet_ms < CP_OFFLINE_STALL_MS)
        return 1;
    o->stalled = 1;
    o->stalls++;
    return 0;
}

int
cp_offline_next(cp_offline_t *o, uint64_t ts_us, int icpt_ready, int has_room, int progress,
                uint64_t now_ms)
{
    if (!o->started && !icpt_ready && now_ms - o->open_ms < CP_OFFLINE_ICPT_WAIT_MS)
        return CP_OFF_NOT_READY;
    /* Pacing first: a packet that is not due needs no room yet. */
    if (o->started && o->speed > 0 && ts_us > o->t0_us) {
        double due = (double)(ts_us - o->t0_us) / 1000.0 / o->speed;
        if ((double)(now_ms - o->start_ms) < due)
            return CP_OFF_NOT_DUE;
    }
    if (!has_room) {
        if (!o->stalled && keep_waiting(o, progress, now_ms))
            return CP_OFF_NO_ROOM;
    } else {
        o->stalled = 0;
    }
    if (o->wait_since_ms != 0) {
        /* The schedule moves by the wait: the packets behind it keep
         * their recorded spacing instead of going in a burst. */
        o->start_ms += now_ms - o->wait_since_ms;
        o->wait_since_ms = 0;
    }
    if (!o->started) {
        o->started = 1;
        o->t0_us = ts_us;
        o->start_ms = now_ms;
    }
    return CP_OFF_DELIVER;
}

void
cp_offline_eof(cp_offline_t *o, uint64_t now_ms)
{
    if (o->end_ms == 0)
        o->end_ms = now_ms ? now_ms : 1;
}

int
cp_offline_finished(const cp_offline_t *o, uint64_t sessions_active, uint64_t now_ms)
{
    if (o->end_ms == 0)
        return 0;
    return sessions_active == 0 ||
           now_ms - o->end_ms > (uint64_t)o->session_timeout_ms + CP_OFFLINE_GRACE_MS;
}
