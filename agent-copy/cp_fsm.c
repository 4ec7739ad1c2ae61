/* cp_fsm.c -- transition table of the replayed client connection. Written
 * as a table so every (state, event) pair is decided in one place and a
 * unit test can walk all of them. */
#include "cp_fsm.h"

#define X (-1)
static const signed char table[CP_ST__COUNT][CP_EV__COUNT] = {
    /*                 SYNACK             FIN_SENT          FIN_ACKED         TARGET_FIN        TARGET_RST     RST_SENT          TIMEOUT */
    [CP_ST_FREE]        = { X,            X,                X,                X,                X,             X,                X },
    [CP_ST_SYN_SENT]    = { CP_ST_ESTABLISHED, X,           X,                X,                CP_ST_FREE,    CP_ST_TIME_WAIT,  CP_ST_FREE },
    [CP_ST_ESTABLISHED] = { CP_ST_ESTABLISHED, CP_ST_FIN_WAIT1, X,            CP_ST_CLOSE_WAIT, CP_ST_FREE,    CP_ST_TIME_WAIT,  CP_ST_FREE },
    [CP_ST_FIN_WAIT1]   = { X,            X,                CP_ST_FIN_WAIT2,  CP_ST_CLOSING,    CP_ST_FREE,    CP_ST_TIME_WAIT,  CP_ST_FREE },
    [CP_ST_FIN_WAIT2]   = { X,            X,                X,                CP_ST_TIME_WAIT,  CP_ST_FREE,    CP_ST_TIME_WAIT,  CP_ST_FREE },
    [CP_ST_CLOSING]     = { X,            X,                CP_ST_TIME_WAIT,  CP_ST_CLOSING,    CP_ST_FREE,    CP_ST_TIME_WAIT,  CP_ST_FREE },
    [CP_ST_CLOSE_WAIT]  = { X,            CP_ST_LAST_ACK,   X,                CP_ST_CLOSE_WAIT, CP_ST_FREE,    CP_ST_TIME_WAIT,  CP_ST_FREE },
    [CP_ST_LAST_ACK]    = { X,            X,                CP_ST_TIME_WAIT,  CP_ST_LAST_ACK,   CP_ST_FREE,    CP_ST_TIME_WAIT,  CP_ST_FREE },
    [CP_ST_TIME_WAIT]   = { X,            X,                X,                CP_ST_TIME_WAIT,  CP_ST_TIME_WAIT, X,              CP_ST_FREE },
};
#undef X

int
cp_fsm_step(cp_state_t s, cp_event_t ev)
{
    if ((unsigned)s >= CP_ST__COUNT || (unsigned)ev >= CP_EV__COUNT)
        return -1;
    return table[s][ev];
}

const char *
cp_state_name(cp_state_t s)
{
    static const char *names[CP_ST__COUNT] = {
        "FREE", "SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2",
        "CLOSING", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT",
    };
    return (unsigned)s < CP_ST__COUNT ? names[s] : "?";
}
