/* cp_offline.h -- the offline reader's policy (`--offline FILE`): when the
 * next recorded packet may go to the engine, and when the replay is over.
 * Pure: no uv.h, no pcap.h; time comes in as now_ms, the engine's state as
 * plain numbers. cp_loop.c reads the file and asks.
 *
 * A live capture cannot wait, a file can: the reader never hands the
 * engine a packet it has no room for (the engine would shed the session
 * and count it), it waits instead. At --speed 0 that is the only pace. */
#ifndef CP_OFFLINE_H
#define CP_OFFLINE_H

#include <stdint.h>

/* Longest wait for the intercepts before the first packet: a replay sent
 * before its intercept is up loses the SYN-ACKs (they are retried) and,
 * without -c, the tuple registrations. */
#define CP_OFFLINE_ICPT_WAIT_MS 10000u
/* Longest wait for room with nothing freed: past it the engine is stuck
 * (every session waits for packets behind the one that needs room), so
 * packets go on, and what has no room is shed and counted, until room
 * comes back. */
#define CP_OFFLINE_STALL_MS 10000u
/* After the file: how long past the session timeout the last sessions may
 * take (TIME_WAIT, a last retransmission) before they are aborted. */
#define CP_OFFLINE_GRACE_MS 3000u

enum {
    CP_OFF_DELIVER = 0,   /* hand the packet to the engine now */
    CP_OFF_NOT_DUE,       /* --speed: its time has not come */
    CP_OFF_NO_ROOM,       /* the engine has no room: wait */
    CP_OFF_NOT_READY,     /* intercepts not connected yet: wait */
};

typedef struct {
    double   speed;              /* 0: as fast as the engine takes it */
    uint32_t session_timeout_ms;
    uint64_t open_ms;            /* when the reader was created */
    int      started;            /* the first packet went */
    uint64_t t0_us, start_ms;    /* first packet's timestamp, when it went */
    uint64_t wait_since_ms;      /* 0, or since when there was no room */
    uint64_t quiet_ms;           /* ... and the engine's last progress in it */
    int      stalled;            /* past CP_OFFLINE_STALL_MS; until room returns */
    uint64_t end_ms;             /* when the file ran out (0: not yet) */
    uint64_t waits;              /* times the reader began to wait for room */
    uint64_t stalls;             /* times it gave up waiting (see above) */
} cp_offline_t;

void cp_offline_init(cp_offline_t *o, double speed, uint32_t session_timeout_ms, uint64_t now_ms);

/* May the next packet (recorded at ts_us) go? icpt_ready: every intercept
 * is connected (or there are none); has_room: cp_engine_has_room for it;
 * progress: the engine freed something since the last call. CP_OFF_*. */
int cp_offline_next(cp_offline_t *o, uint64_t ts_us, int icpt_ready, int has_room, int progress,
                    uint64_t now_ms);

/* The file has no more packets. */
void cp_offline_eof(cp_offline_t *o, uint64_t now_ms);

/* 1 when the replay is over: the file is done and every session has
 * finished or timed out (or the deadline counted from the end of the file,
 * not from the start, has passed: a long --speed 1 file is not cut). */
int cp_offline_finished(const cp_offline_t *o, uint64_t sessions_active, uint64_t now_ms);

#endif
