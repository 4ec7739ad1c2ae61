/* ctl_doctor.c -- `replayctl doctor [--timeout MS] [--json]`: ask replayd
 * to have every copy agent send one canary session per transfer rule, then
 * print, per agent and rule, where the canary got lost, hop by hop, with
 * what to check. Exit 0 only if every agent answered and every rule is OK.
 *
 * Hops of a canary: capture host (raw send) -> target (SYN, answers
 * SYN-ACK) -> the assistant the target routes the client range to
 * (intercept captures the SYN-ACK) -> the copy agent that owns the range
 * (intercept forwards the header). Everything an agent wrote was cut to
 * printable ASCII by replayd. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_render.h"
#include "rf_envelope.h"
#include "rf_parse.h"
#include "rf_ports.h"

#define DOCTOR_TIMEOUT_DEFAULT 1000u
#define DOCTOR_TIMEOUT_MAX     30000u

const char *
ctl_canary_stage_name(int stage)
{
    switch (stage) {
    case RFPB__CANARY_STAGE__CANARY_OK: return "OK";
    case RFPB__CANARY_STAGE__CANARY_NOT_SENT: return "NOT_SENT";
    case RFPB__CANARY_STAGE__CANARY_NO_SYNACK: return "NO_SYNACK";
    case RFPB__CANARY_STAGE__CANARY_WRONG_ROUTE: return "WRONG_ROUTE";
    case RFPB__CANARY_STAGE__CANARY_LATE: return "LATE";
    case RFPB__CANARY_STAGE__CANARY_NO_INTERCEPT: return "NO_INTERCEPT";
    case RFPB__CANARY_STAGE__CANARY_RESET: return "RESET";
    default: return "UNKNOWN";
    }
}

/* Hop marks: capture host send, target answer, intercept capture, copy
 * agent feedback. '+' passed, 'X' failed here, '?' not reached. */
static const char *
hops(int stage)
{
    switch (stage) {
    case RFPB__CANARY_STAGE__CANARY_OK: return "send + | target + | intercept + | back in time +";
    case RFPB__CANARY_STAGE__CANARY_NOT_SENT: return "send X | target ? | intercept ? | back ?";
    case RFPB__CANARY_STAGE__CANARY_NO_SYNACK: return "send + | target ? | intercept X | back ?";
    case RFPB__CANARY_STAGE__CANARY_WRONG_ROUTE:
        return "send + | target + | intercept X (wrong one) | back ?";
    case RFPB__CANARY_STAGE__CANARY_LATE: return "send + | target + | intercept + | back X (late)";
    case RFPB__CANARY_STAGE__CANARY_NO_INTERCEPT: return "send ? | target ? | intercept X (none)";
    case RFPB__CANARY_STAGE__CANARY_RESET: return "send + | target X (RST) | intercept + | back +";
    default: return "?";
    }
}

/* What to check for a stage; errno refines NOT_SENT. */
static void
hint(char *buf, size_t len, const Rfpb__CanaryRule *r)
{
    switch ((int)r->stage) {
    case RFPB__CANARY_STAGE__CANARY_OK:
        snprintf(buf, len, "every hop works");
        break;
    case RFPB__CANARY_STAGE__CANARY_NOT_SENT: {
        const char *why;
        switch (r->send_errno) {
        case EPERM:
        case EACCES:
            why = "a firewall rule on the capture host (iptables/nft OUTPUT) or a `prohibit` "
                  "route to the target rejects it, or the agent lacks CAP_NET_RAW";
            break;
        case ENETUNREACH:
        case EHOSTUNREACH:
            why = "the capture host has no route to the target (check `ip route get TARGET` on "
                  "it; a blackhole/prohibit/unreachable route?)";
            break;
        case EMSGSIZE:
            why = "the packet exceeds the path MTU (check the agent's --mtu against the "
                  "interface MTU)";
            break;
        case ENOBUFS:
        case EAGAIN:
            why = "the send queue is full: the capture host is overloaded";
            break;
        default:
            why = "check the capture host's firewall (OUTPUT), its route to the target and the "
                  "MTU";
        }
        snprintf(buf, len, "send failed: %s (errno %d): %s", strerror(r->send_errno),
                 r->send_errno, why);
        break;
    }
    case RFPB__CANARY_STAGE__CANARY_NO_SYNACK: {
        char ip[40];
        snprintf(ip, sizeof(ip), "%s", r->src && r->src[0] ? r->src : "CLIENT_IP");
        ip[strcspn(ip, ":")] = '\0';   /* "10.250.0.1:990" -> the address */
        snprintf(buf, len,
                 "the SYN left, but no intercept saw a SYN-ACK. On the target: the route for "
                 "the client range via the assistant (`replayctl routes`; `ip route get %s`), "
                 "rp_filter (net.ipv4.conf.*.rp_filter), a firewall dropping the client range; "
                 "on the assistant: the intercept's interface and filter. (A closed target port "
                 "would give RESET, not this.)",
                 ip);
        break;
    }
    case RFPB__CANARY_STAGE__CANARY_WRONG_ROUTE:
        snprintf(buf, len,
                 "the target answered, but routes the client range to an assistant whose "
                 "intercept does not own it: fix the target's route to the lines of `replayctl "
                 "routes`");
        break;
    case RFPB__CANARY_STAGE__CANARY_LATE:
        snprintf(buf, len,
                 "the SYN-ACK came back through the intercept, but after the deadline: the "
                 "feedback path is slow (assistant or copy agent overloaded: check the "
                 "intercept's kernel_drops and both hosts' CPU), or raise --timeout");
        break;
    case RFPB__CANARY_STAGE__CANARY_NO_INTERCEPT:
        snprintf(buf, len,
                 "the copy agent is not connected to any intercept: is replay-intercept running "
                 "on the assistant, reachable from the capture host on its port ("
                 RF_USAGE_NUM(RF_PORT_INTERCEPT) "), with "
                 "the same key? (`replayctl status`: icpt_up)");
        break;
    case RFPB__CANARY_STAGE__CANARY_RESET:
        snprintf(buf, len,
                 "the target answered RST: nothing listens on the target port (or a firewall "
                 "rejects with tcp-reset); the route back via the assistant works");
        break;
    default:
        snprintf(buf, len, "stage %d is unknown to this replayctl (newer agent?)", (int)r->stage);
    }
}

static int
rule_ok(const Rfpb__CanaryRule *r)
{
    return r->stage == RFPB__CANARY_STAGE__CANARY_OK;
}

int
ctl_doctor_healthy(const Rfpb__DoctorReply *r)
{
    if (r->n_agents == 0)
        return 0;
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__DoctorReply__AgentCanary *a = r->agents[i];
        if (!a->answered || a->n_rules == 0)
            return 0;
        for (size_t k = 0; k < a->n_rules; k++)
            if (!rule_ok(a->rules[k]))
                return 0;
    }
    return 1;
}

static const char *
s_or(const char *s, const char *dflt)
{
    return s && s[0] ? s : dflt;
}

void
ctl_render_doctor_text(FILE *fp, const Rfpb__DoctorReply *r)
{
    size_t nrules = 0, ok = 0;
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__DoctorReply__AgentCanary *a = r->agents[i];
        fprintf(fp, "%s\n", s_or(a->id, "?"));
        if (!a->answered) {
            fprintf(fp, "  no answer (see notes)\n");
            continue;
        }
        if (a->n_rules == 0)
            fprintf(fp, "  answered, but probed no rule\n");
        for (size_t k = 0; k < a->n_rules; k++) {
            const Rfpb__CanaryRule *c = a->rules[k];
            char h[640];
            nrules++;
            ok += rule_ok(c);
            fprintf(fp, "  %-28s %-12s", s_or(c->rule, "?"), ctl_canary_stage_name(c->stage));
            if (c->stage == RFPB__CANARY_STAGE__CANARY_OK ||
                c->stage == RFPB__CANARY_STAGE__CANARY_LATE ||
                c->stage == RFPB__CANARY_STAGE__CANARY_RESET)
                fprintf(fp, " rtt %.2f ms", (double)c->rtt_us / 1000.0);
            if (c->src && c->src[0])
                fprintf(fp, "  from %s", c->src);
            fprintf(fp, "\n    hops:   %s\n", hops(c->stage));
            if (c->detail && c->detail[0])
                fprintf(fp, "    agent:  %s\n", c->detail);
            if (!rule_ok(c)) {
                hint(h, sizeof(h), c);
                fprintf(fp, "    check:  %s\n", h);
            }
        }
    }
    if (r->n_notes)
        fprintf(fp, "notes:\n");
    for (size_t i = 0; i < r->n_notes; i++)
        fprintf(fp, "  - %s\n", r->notes[i]);
    fprintf(fp, "%s: %zu/%zu rule(s) OK over %zu copy agent(s)\n",
            ctl_doctor_healthy(r) ? "HEALTHY" : "PROBLEMS", ok, nrules, r->n_agents);
}

int
ctl_render_doctor_json(FILE *fp, const Rfpb__DoctorReply *r)
{
    json_t *root = json_object(), *agents = json_array(), *notes = json_array();
    if (!root || !agents || !notes) {
        json_decref(root);
        json_decref(agents);
        json_decref(notes);
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__DoctorReply__AgentCanary *a = r->agents[i];
        json_t *rules = json_array();
        for (size_t k = 0; rules && k < a->n_rules; k++) {
            const Rfpb__CanaryRule *c = a->rules[k];
            char h[640];
            hint(h, sizeof(h), c);
            json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:s,s:I,s:s,s:s,s:s}", "rule",
                                  s_or(c->rule, ""), "stage", ctl_canary_stage_name(c->stage),
                                  "stage_code", (int)c->stage, "send_errno", (int)c->send_errno,
                                  "send_error", c->send_errno ? strerror(c->send_errno) : "",
                                  "rtt_us", (json_int_t)c->rtt_us, "src", s_or(c->src, ""),
                                  "detail", s_or(c->detail, ""), "hint", h);
            if (o)
                json_array_append_new(rules, o);
        }
        json_t *o = json_pack("{s:s,s:b,s:o}", "id", s_or(a->id, ""), "answered", a->answered,
                              "rules", rules ? rules : json_array());
        if (o)
            json_array_append_new(agents, o);
    }
    for (size_t i = 0; i < r->n_notes; i++)
        json_array_append_new(notes, json_string(s_or(r->notes[i], "")));
    json_object_set_new(root, "ok", json_boolean(ctl_doctor_healthy(r)));
    json_object_set_new(root, "id", json_integer((json_int_t)r->id));
    json_object_set_new(root, "agents", agents);
    json_object_set_new(root, "notes", notes);
    int rc = json_dumpf(root, fp, JSON_INDENT(1) | JSON_SORT_KEYS);
    fputc('\n', fp);
    json_decref(root);
    return rc == 0 ? 0 : -EIO;
}

int
ctl_doctor_run(const ctl_opts_t *o, int argc, char **argv)
{
    int json = 0;
    unsigned timeout = DOCTOR_TIMEOUT_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (ctl_is_help(argv[i])) {
            ctl_help(stdout, "doctor [--timeout MS] [--json]",
                     "Send one canary SYN per transfer rule from each copy agent's client range\n"
                     "and say where it breaks: raw send, route back from the target, intercept,\n"
                     "target port. Exit 0 when every rule of every agent is OK, 1 otherwise.\n"
                     "  --timeout MS  how long to wait for each SYN-ACK (default 1000)\n"
                     "  --json        the result as one JSON object\n");
            return CTL_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            unsigned long v;
            if (rf_parse_uint(&v, argv[++i], 1, DOCTOR_TIMEOUT_MAX) != 0) {
                fprintf(stderr, "replayctl doctor: --timeout takes 1..%u ms\n",
                        DOCTOR_TIMEOUT_MAX);
                return CTL_EUSAGE;
            }
            timeout = (unsigned)v;
        } else {
            fprintf(stderr, "replayctl doctor: unexpected \"%s\"\nusage: replayctl doctor "
                            "[--timeout MS] [--json]\n", argv[i]);
            return CTL_EUSAGE;
        }
    }
    /* replayd waits timeout + 2 s for answers and up to 1.5 s more for
     * intercept counters; our deadline covers that whatever --timeout S
     * (the global per-request deadline) says. */
    ctl_opts_t oo = *o;
    unsigned need = timeout + 2000 + 1500 + 3000;
    if (oo.timeout_ms < need)
        oo.timeout_ms = need;
    uint64_t id = 0;
    if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
        id = (uint64_t)getpid();
    Rfpb__CanaryRequest rq = RFPB__CANARY_REQUEST__INIT;
    rq.id = id;
    rq.timeout_ms = timeout;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_CANARY;
    env.canary = &rq;
    Rfpb__Envelope *reply = NULL;
    int r = ctl_once(&oo, &env, RFPB__ENVELOPE__MSG_DOCTOR_REPLY, &reply);
    if (r != CTL_OK)
        return r;
    const Rfpb__DoctorReply *d = reply->doctor_reply;
    if (d->id != id)
        fprintf(stderr, "replayctl doctor: reply id %llu does not match request %llu\n",
                (unsigned long long)d->id, (unsigned long long)id);
    if (json)
        ctl_render_doctor_json(stdout, d);
    else
        ctl_render_doctor_text(stdout, d);
    int healthy = ctl_doctor_healthy(d) && d->id == id;
    rf_env_free(reply);
    return healthy ? CTL_OK : CTL_EFAIL;
}
