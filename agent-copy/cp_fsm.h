/* cp_fsm.h -- the replayed client's TCP connection state: one enum and
 * one transition function (pure). The session code (cp_sess.c) performs
 * the I/O; this file only says which state follows which event. */
#ifndef CP_FSM_H
#define CP_FSM_H

typedef enum {
    CP_ST_FREE = 0,     /* slot unused */
    CP_ST_SYN_SENT,     /* SYN sent to the target, no SYN-ACK yet */
    CP_ST_ESTABLISHED,  /* handshake done: client data flows */
    CP_ST_FIN_WAIT1,    /* client FIN sent, not yet acked, target open */
    CP_ST_FIN_WAIT2,    /* client FIN acked, target still open */
    CP_ST_CLOSING,      /* both FINs seen, ours not acked yet */
    CP_ST_CLOSE_WAIT,   /* target closed first; client still open */
    CP_ST_LAST_ACK,     /* target closed, client FIN sent, not acked */
    CP_ST_TIME_WAIT,    /* over: kept briefly to absorb late packets */
    CP_ST__COUNT
} cp_state_t;

typedef enum {
    CP_EV_SYNACK = 0,   /* target's SYN-ACK seen (via intercept) */
    CP_EV_FIN_SENT,     /* we sent the client's FIN */
    CP_EV_FIN_ACKED,    /* target acknowledged our FIN */
    CP_EV_TARGET_FIN,   /* target sent FIN */
    CP_EV_TARGET_RST,   /* target sent RST */
    CP_EV_RST_SENT,     /* we sent RST (client RST, or abort) */
    CP_EV_TIMEOUT,      /* idle or retransmission limit */
    CP_EV__COUNT
} cp_event_t;

/* Returns the next state, or -1 when the event is not valid in `s` (the
 * caller counts and ignores it). */
int cp_fsm_step(cp_state_t s, cp_event_t ev);

/* The target has seen the end of the session (counted as completed). */
static inline int cp_fsm_done(cp_state_t s) { return s == CP_ST_TIME_WAIT; }
/* Client data may be sent in this state. */
static inline int
cp_fsm_can_send(cp_state_t s)
{
    return s == CP_ST_ESTABLISHED || s == CP_ST_CLOSE_WAIT;
}

const char *cp_state_name(cp_state_t s);

#endif
