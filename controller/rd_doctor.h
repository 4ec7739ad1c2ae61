/* rd_doctor.h -- one `replayctl doctor` run on the controller side (pure,
 * no uv): which copy agents get a CanaryRequest, their CanaryResults
 * (untrusted: counts capped, strings cut to printable ASCII), the
 * intercepts' counters at the start, when the run is over, the
 * wrong-route correlation, and the DoctorReply.
 *
 * Wrong route: a copy agent's canary SYN-ACK that the target sends to the
 * wrong assistant is captured by that assistant's intercept, which owns
 * no range for it: it parks it (SYN-ACK) and expires it, or counts it
 * unroutable. So when an agent reports CANARY_NO_SYNACK while an intercept
 * other than its own saw resp_unroutable/resp_park_expired grow during the
 * run (and its own forwarded nothing), the rules are WRONG_ROUTE and a
 * note names that intercept. Intercept counters come with Stats (1 s), so
 * the run waits (bounded) for one Stats from every intercept after the
 * last answer before deciding. */
#ifndef RD_DOCTOR_H
#define RD_DOCTOR_H

#include <stddef.h>
#include <stdint.h>

#include "rd_ctx.h"
#include "replay.pb-c.h"

#define RD_DOCTOR_TIMEOUT_DEFAULT 1000u   /* ms per SYN-ACK, as the agent waits */
#define RD_DOCTOR_TIMEOUT_MAX     30000u
#define RD_DOCTOR_GRACE_MS        2000u   /* answers accepted until timeout + this */
#define RD_DOCTOR_FRESH_MS        1500u   /* max wait for intercept Stats after answers */
#define RD_DOCTOR_STR_MAX         160     /* bytes kept of each string an agent sends */
#define RD_DOCTOR_NOTES_MAX       64

typedef struct {
    char     rule[64];
    int      stage;                 /* Rfpb CanaryStage; unknown values passed through */
    int32_t  send_errno;
    uint32_t rtt_us;
    char     src[40];
    char     detail[RD_DOCTOR_STR_MAX];
} rd_canary_rule_t;

typedef struct {
    char             id[RD_ID_MAX];
    char             range[32];     /* its slice, "10.250.0.0/18" */
    char             pair[RD_ID_MAX];
    int              probed;        /* a CanaryRequest went out */
    int              answered;
    char             why[96];       /* not probed / gone: the reason */
    unsigned         nrules;
    rd_canary_rule_t rules[RF_RULES_MAX];
} rd_doctor_agent_t;

typedef struct {
    char     id[RD_ID_MAX];
    uint64_t lost0, fwd0;           /* unroutable + park_expired, forwarded at start */
    int      had_stats;
} rd_doctor_icpt_t;

typedef struct {
    int                active;
    uint64_t           id;          /* sent to the agents */
    uint64_t           req_id;      /* replayctl's, echoed in the reply */
    uint32_t           timeout_ms;
    uint64_t           start_ms, deadline_ms, last_answer_ms;
    rd_doctor_agent_t *ag;
    size_t             nag;
    rd_doctor_icpt_t  *ic;
    size_t             nic;
    char              *notes[RD_DOCTOR_NOTES_MAX];
    size_t             nnotes;
    void              *admin;       /* borrowed: who asked (NULL once gone) */
} rd_doctor_t;

/* Start a run over every copy agent of the plan in force: the ones that
 * are up are to be probed (probed=1 is set by the caller once the request
 * is sent: rd_doctor_sent); the others are listed as not answering, with
 * the reason. timeout_ms 0 = default; capped. 0 or -ENOMEM. */
int  rd_doctor_begin(rd_doctor_t *d, const rd_ctx_t *c, uint64_t id, uint64_t req_id,
                     uint32_t timeout_ms, uint64_t now_ms);
void rd_doctor_sent(rd_doctor_t *d, size_t i, int ok);
/* A CanaryResult from agent `agent_id`. 0 if taken; -1 if ignored (other
 * run, not probed, already answered). */
int  rd_doctor_on_result(rd_doctor_t *d, const char *agent_id, const Rfpb__CanaryResult *r,
                         uint64_t now_ms);
/* The agent's connection closed: it will not answer. */
void rd_doctor_on_agent_down(rd_doctor_t *d, const char *agent_id, const char *reason);
/* 1 when the run is over (everyone answered or the deadline passed, and
 * intercept counters are fresh enough to correlate). */
int  rd_doctor_done(const rd_doctor_t *d, const rd_ctx_t *c, uint64_t now_ms);
/* Wrong-route correlation + notes (call once, when done). */
void rd_doctor_correlate(rd_doctor_t *d, const rd_ctx_t *c);
/* Add a note (printf); silently dropped past RD_DOCTOR_NOTES_MAX. */
void rd_doctor_note(rd_doctor_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The reply (heap, borrows d's strings: free it before rd_doctor_fini). */
Rfpb__DoctorReply *rd_doctor_reply(const rd_doctor_t *d);
void               rd_doctor_reply_free(Rfpb__DoctorReply *r);
void               rd_doctor_fini(rd_doctor_t *d);

/* Copy an untrusted string: at most len-1 bytes, printable ASCII only
 * (anything else becomes '?'), so it is safe on a terminal and in JSON. */
void rd_doctor_clean(char *dst, size_t len, const char *src);

#endif
