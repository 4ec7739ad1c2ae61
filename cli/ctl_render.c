/* ctl_render.c -- status/agents tables and the stable JSON document. */
#include "ctl_render.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "rd_stats.h"

const char *
ctl_role_name(Rfpb__Role role)
{
    switch (role) {
    case RFPB__ROLE__ROLE_COPY: return "copy";
    case RFPB__ROLE__ROLE_INTERCEPT: return "intercept";
    case RFPB__ROLE__ROLE_ADMIN: return "admin";
    default: return "controller";
    }
}

uint64_t
ctl_counter(Rfpb__Counter **cs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (cs[i]->name && strcmp(cs[i]->name, name) == 0)
            return cs[i]->value;
    return 0;
}


/* Capture-group keys of an agent row, only for members of a group (rows of
 * other agents keep their keys, so older --json consumers see no change). */
static void
group_json(json_t *o, const Rfpb__AgentStatus *a)
{
    if (a->capture_group == NULL || a->capture_group[0] == '\0')
        return;
    json_object_set_new(o, "capture_group", json_string(a->capture_group));
    json_object_set_new(o, "shard_buckets", json_integer(a->shard_buckets));
    json_object_set_new(o, "shard_total", json_integer(a->shard_total));
    if (a->shard_set && a->shard_set[0])
        json_object_set_new(o, "shard_set", json_string(a->shard_set));
}

/* "1m05s" */
static const char *
dur(char *buf, size_t len, uint64_t ms)
{
    uint64_t s = ms / 1000;
    if (s >= 3600)
        snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s % 3600 / 60));
    else if (s >= 60)
        snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else
        snprintf(buf, len, "%llus", (unsigned long long)s);
    return buf;
}

/* The stress schedule: the step in force (its values are the "requested"
 * line above) and the next one. */
static void
render_schedule(FILE *fp, const Rfpb__StatusReply *r)
{
    const Rfpb__ScheduleStatus *sc = r->schedule;
    if (sc == NULL)
        return;
    char a[32], b[32];
    fprintf(fp, "schedule   step %d of %u%s, %s in", sc->step + 1, sc->steps,
            sc->stopped ? " (replay stopped)" : sc->paused ? " (PAUSED)" : "",
            dur(a, sizeof(a), sc->elapsed_ms));
    if (sc->next >= 0)
        fprintf(fp, "; %s step %d in %s", sc->ramping ? "ramping to" : "next:", sc->next + 1,
                dur(b, sizeof(b), sc->next_in_ms));
    else
        fprintf(fp, "; last step");
    fprintf(fp, "\n");
}

/* One line per capture group: each member, its state and its buckets. */
static void
render_groups(FILE *fp, const Rfpb__StatusReply *r)
{
    const char *seen[64];
    size_t ns = 0;
    for (size_t i = 0; i < r->n_agents; i++) {
        const char *g = r->agents[i]->capture_group;
        if (g == NULL || g[0] == '\0')
            continue;
        int dup = 0;
        for (size_t k = 0; k < ns && !dup; k++)
            dup = strcmp(seen[k], g) == 0;
        if (dup || ns == 64)
            continue;
        seen[ns++] = g;
        if (ns == 1)
            fprintf(fp, "\ncapture groups (flow-hash buckets each member replays)\n");
        fprintf(fp, "  %-16s", g);
        for (size_t j = i; j < r->n_agents; j++) {
            const Rfpb__AgentStatus *a = r->agents[j];
            if (a->capture_group == NULL || strcmp(a->capture_group, g) != 0)
                continue;
            if (a->shard_total)
                fprintf(fp, " %s%s %u/%u", a->id, a->up ? "" : "(DOWN)", a->shard_buckets,
                        a->shard_total);
            else
                fprintf(fp, " %s%s all", a->id, a->up ? "" : "(DOWN)");
        }
        fprintf(fp, "\n");
    }
}

/* One line per target group: what it asks for, sessions replayed per
 * captured session (1.000 = every captured session once per copy), its
 * rates and every drop it counted. */
static void
render_tgroups(FILE *fp, const Rfpb__StatusReply *r)
{
    uint64_t orig = ctl_counter(r->totals, r->n_totals, "orig_sessions");
    for (size_t i = 0; i < r->n_target_groups; i++) {
        const Rfpb__TargetGroupStatus *t = r->target_groups[i];
        char nm[48];
#define TG(field) (snprintf(nm, sizeof(nm), "tg%u_%s", t->index, field), \
                   ctl_counter(r->totals, r->n_totals, nm))
#define TGR(field) (snprintf(nm, sizeof(nm), "tg%u_%s", t->index, field), \
                    ctl_counter(r->total_rates, r->n_total_rates, nm))
        if (i == 0)
            fprintf(fp, "\ntarget groups (ratio: sessions replayed per captured session)\n");
        uint64_t opened = TG("sess_opened");
        fprintf(fp, "  %-12s %-22s copies %u, sample %u%%, ratio %.3f, sessions %llu, out %llu "
                "pkt/s, resp %llu pkt/s; dropped: sampled %llu, rate %llu, shed %llu\n",
                t->name, t->targets, t->copies, t->sample_percent,
                orig ? (double)opened / (double)orig : 0.0, (unsigned long long)opened,
                (unsigned long long)TGR("replayed_pkts"), (unsigned long long)TGR("resp_received"),
                (unsigned long long)TG("sess_sampled_out"),
                (unsigned long long)TG("sess_rate_limited"), (unsigned long long)TG("sess_shed"));
    }
}

static json_t *
tgroups_json(const Rfpb__StatusReply *r)
{
    json_t *arr = json_array();
    uint64_t orig = ctl_counter(r->totals, r->n_totals, "orig_sessions");
    for (size_t i = 0; arr && i < r->n_target_groups; i++) {
        const Rfpb__TargetGroupStatus *t = r->target_groups[i];
        char nm[48];
        uint64_t opened = TG("sess_opened");
        json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:I,s:f}", "name", t->name, "targets", t->targets,
                              "copies", (int)t->copies, "sample_percent", (int)t->sample_percent,
                              "rate_limit_pps", (json_int_t)t->rate_limit_pps, "ratio",
                              orig ? (double)opened / (double)orig : 0.0);
        if (o == NULL)
            continue;
        static const char *const names[] = { "sess_opened", "replayed_pkts", "resp_received",
                                             "sess_sampled_out", "sess_rate_limited", "sess_shed" };
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
            json_object_set_new(o, names[k], json_integer((json_int_t)TG(names[k])));
        json_object_set_new(o, "replayed_pps", json_integer((json_int_t)TGR("replayed_pkts")));
        json_array_append_new(arr, o);
    }
#undef TG
#undef TGR
    return arr;
}

static json_t *
counters_obj(Rfpb__Counter **cs, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        if (cs[i]->name)
            json_object_set_new(o, cs[i]->name, json_integer((json_int_t)cs[i]->value));
    return o;
}

/* One agent's identity and state: the same object in `status --json` and
 * `agents --json` (counters and rates are added by status). */
static json_t *
agent_json(const Rfpb__AgentStatus *a)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:s,s:i,s:s,s:s}", "id", a->id ? a->id : "",
                     "role", ctl_role_name(a->role), "host", a->host ? a->host : "", "up", a->up,
                     "last_seen_ms", (json_int_t)a->last_seen_ms_ago, "generation",
                     (json_int_t)a->generation, "acked_generation",
                     (json_int_t)a->acked_generation, "client_range",
                     a->client_range ? a->client_range : "", "port_offset", (int)a->port_offset,
                     "paired_with", a->paired_with ? a->paired_with : "", "last_error",
                     a->last_error ? a->last_error : "");
    if (o != NULL)
        group_json(o, a);
    return o;
}

static json_t *
fleet_json(const Rfpb__StatusReply *r)
{
    ctl_fleet_t f;
    ctl_fleet_compute(&f, r);
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "copy_agents_up",
        (json_int_t)f.copy_up, "copy_agents", (json_int_t)f.copy_n, "intercepts_up",
        (json_int_t)f.icpt_up, "intercepts", (json_int_t)f.icpt_n, "sessions_completed",
        (json_int_t)f.sess_completed, "sessions_lost", (json_int_t)f.sess_lost, "fidelity",
        f.sess_completed + f.sess_lost
            ? (double)f.sess_completed / (double)(f.sess_completed + f.sess_lost)
            : 1.0,
        "per_second", "sessions_opened", (json_int_t)f.r_opened, "sessions_captured",
        (json_int_t)f.r_captured_sessions, "packets_captured", (json_int_t)f.r_captured,
        "packets_accepted", (json_int_t)f.r_accepted, "packets_replayed",
        (json_int_t)f.r_replayed, "bits_replayed", (json_int_t)(f.r_replayed_bytes * 8),
        "responses_received", (json_int_t)f.r_resp_received, "responses_forwarded",
        (json_int_t)f.r_resp_forwarded);
}

static json_t *
problems_json(const Rfpb__StatusReply *r)
{
    json_t *probs = json_array();
    ctl_problem_t pr[256];
    size_t np = ctl_problems(pr, 256, r);
    for (size_t i = 0; probs && i < np && i < 256; i++) {
        const ctl_problem_t *p = &pr[i];
        const char *id = p->agent->id ? p->agent->id : "";
        json_t *o = p->loss ? json_pack("{s:s,s:s,s:I,s:s,s:s}", "agent", id, "counter",
                                        p->loss->counter, "value", (json_int_t)p->value,
                                        "meaning", p->loss->meaning, "hop", p->loss->hop)
                            : json_pack("{s:s,s:s,s:s}", "agent", id, "counter",
                                        p->agent->up ? "generation_not_acked" : "down", "meaning",
                                        p->agent->last_error ? p->agent->last_error : "");
        if (o)
            json_array_append_new(probs, o);
    }
    return probs;
}

int
ctl_render_status_json(FILE *fp, const Rfpb__StatusReply *r)
{
    json_t *root = json_object();
    json_t *agents = json_array();
    if (root == NULL || agents == NULL) {
        json_decref(root);
        json_decref(agents);
        return -ENOMEM;
    }
    /* Achieved amplification: replayed sessions per captured session (the
     * packet counts would include the agents' own ACKs). */
    uint64_t acc = ctl_counter(r->totals, r->n_totals, "orig_sessions");
    uint64_t rep = ctl_counter(r->totals, r->n_totals, "sess_opened");
    json_object_set_new(root, "generation", json_integer((json_int_t)r->generation));
    json_object_set_new(root, "plan", json_string(r->plan_name ? r->plan_name : ""));
    json_object_set_new(root, "requested",
                        json_pack("{s:I,s:I}", "copies", (json_int_t)r->requested_copies,
                                  "rate_limit_pps", (json_int_t)r->requested_rate_pps));
    if (r->schedule) {
        const Rfpb__ScheduleStatus *sc = r->schedule;
        /* steps numbered from 1 as in the table; 0 = before the first / none */
        json_object_set_new(root, "schedule",
                            json_pack("{s:i,s:i,s:i,s:I,s:I,s:b,s:b,s:b,s:i}", "steps",
                                      (int)sc->steps, "step", (int)sc->step + 1, "next",
                                      (int)sc->next + 1, "next_in_ms", (json_int_t)sc->next_in_ms,
                                      "elapsed_ms", (json_int_t)sc->elapsed_ms, "paused",
                                      sc->paused, "stopped", sc->stopped, "ramping", sc->ramping,
                                      "sample_percent", (int)sc->sample_percent));
    }
    json_object_set_new(root, "achieved",
                        json_pack("{s:f,s:I}", "copies", acc ? (double)rep / (double)acc : 0.0,
                                  "replayed_pps",
                                  (json_int_t)ctl_counter(r->total_rates, r->n_total_rates,
                                                          "replayed_pkts")));
    json_object_set_new(root, "fleet", fleet_json(r));
    if (r->n_target_groups)
        json_object_set_new(root, "target_groups", tgroups_json(r));
    json_object_set_new(root, "problems", problems_json(r));
    json_object_set_new(root, "totals", counters_obj(r->totals, r->n_totals));
    json_object_set_new(root, "total_rates", counters_obj(r->total_rates, r->n_total_rates));
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__AgentStatus *a = r->agents[i];
        json_t *o = agent_json(a);
        if (o == NULL)
            continue;
        json_object_set_new(o, "counters", counters_obj(a->counters, a->n_counters));
        json_object_set_new(o, "rates", counters_obj(a->rates, a->n_rates));
        json_array_append_new(agents, o);
    }
    json_object_set_new(root, "agents", agents);
    int r2 = json_dumpf(root, fp, JSON_INDENT(1) | JSON_SORT_KEYS);
    fputc('\n', fp);
    json_decref(root);
    return r2 == 0 ? 0 : -EIO;
}

/* The SEEN and GEN/ACK columns of the status and agents tables. */
typedef struct {
    char seen[32], gen[48];
} seen_gen_t;

static void
seen_gen(seen_gen_t *c, const Rfpb__AgentStatus *a)
{
    if (a->last_seen_ms_ago == 0 && !a->up)
        snprintf(c->seen, sizeof(c->seen), "-");
    else if (a->last_seen_ms_ago < 10000)
        snprintf(c->seen, sizeof(c->seen), "%.1fs", (double)a->last_seen_ms_ago / 1000.0);
    else
        snprintf(c->seen, sizeof(c->seen), "%llus",
                 (unsigned long long)(a->last_seen_ms_ago / 1000));
    snprintf(c->gen, sizeof(c->gen), "%llu/%llu", (unsigned long long)a->generation,
             (unsigned long long)a->acked_generation);
}

/* 1234567 -> "1,234,567" */
static const char *
commas(char *buf, size_t len, uint64_t v)
{
    char t[32];
    int n = snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = t[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *
pct(char *buf, size_t len, uint64_t num, uint64_t den)
{
    if (den == 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2f%%", 100.0 * (double)num / (double)den);
    return buf;
}

static const char *
mbit(char *buf, size_t len, uint64_t bytes_per_s)
{
    snprintf(buf, len, "%.1f", (double)bytes_per_s * 8.0 / 1e6);
    return buf;
}

#define CV(a, nm) ctl_counter((a)->counters, (a)->n_counters, nm)
#define RV(a, nm) ctl_counter((a)->rates, (a)->n_rates, nm)

/* Per-agent fidelity: copy = replay sessions completed cleanly of those
 * completed or lost; intercept = responses forwarded of those captured
 * for an owner. den 0: nothing to judge yet. */
static void
agent_fidelity(const Rfpb__AgentStatus *a, uint64_t *num, uint64_t *den)
{
    if (a->role == RFPB__ROLE__ROLE_COPY) {
        *num = CV(a, "sess_completed");
        *den = *num + CV(a, "sess_reset") + CV(a, "sess_timedout") + CV(a, "sess_aborted") +
               CV(a, "sess_shed");
    } else if (a->role == RFPB__ROLE__ROLE_INTERCEPT) {
        *num = CV(a, "resp_forwarded");
        *den = *num + CV(a, "resp_lost") + CV(a, "resp_unroutable") + CV(a, "resp_park_expired");
    } else {
        *num = *den = 0;
    }
}

void
ctl_fleet_compute(ctl_fleet_t *f, const Rfpb__StatusReply *r)
{
    memset(f, 0, sizeof(*f));
    f->copies = r->requested_copies;
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__AgentStatus *a = r->agents[i];
        if (a->role == RFPB__ROLE__ROLE_COPY) {
            f->copy_n++;
            f->copy_up += a->up != 0;
            f->r_captured += RV(a, "cap_pkts");   /* both roles send cap_pkts: from the rows */
        } else if (a->role == RFPB__ROLE__ROLE_INTERCEPT) {
            f->icpt_n++;
            f->icpt_up += a->up != 0;
        }
        if (a->role != RFPB__ROLE__ROLE_UNKNOWN && a->up && a->acked_generation != r->generation)
            f->not_acked++;
    }
    /* Every name below is sent by one role only (copy, or intercept for
     * resp_forwarded), so its fleet total is that role's; totals hold
     * counters only (never a level), rates come from live agents. */
#define T(nm)  ctl_counter(r->totals, r->n_totals, nm)
#define TR(nm) ctl_counter(r->total_rates, r->n_total_rates, nm)
    f->sess_completed = T("sess_completed");
    f->sess_lost = T("sess_reset") + T("sess_timedout") + T("sess_aborted") + T("sess_shed");
    f->orig_sessions = T("orig_sessions");
    f->sess_opened = T("sess_opened");
    f->r_captured_sessions = TR("orig_sessions");
    f->r_opened = TR("sess_opened");
    f->r_accepted = TR("accepted_pkts");
    f->r_replayed = TR("replayed_pkts");
    f->r_replayed_bytes = TR("replayed_bytes");
    f->r_resp_received = TR("resp_received");
    f->r_resp_forwarded = TR("resp_forwarded");
#undef T
#undef TR
}

static int
role_of(Rfpb__Role role)
{
    return role == RFPB__ROLE__ROLE_COPY ? RD_ROLE_COPY
         : role == RFPB__ROLE__ROLE_INTERCEPT ? RD_ROLE_ICPT : RD_ROLE_NONE;
}

size_t
ctl_problems(ctl_problem_t *out, size_t max, const Rfpb__StatusReply *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__AgentStatus *a = r->agents[i];
        int role = role_of(a->role);
        if (role != RD_ROLE_NONE && !a->up) {
            if (n < max)
                out[n] = (ctl_problem_t){ a, NULL, 0 };
            n++;
            continue;   /* its counters are its last report: the down state says it all */
        }
        if (role != RD_ROLE_NONE && r->generation && a->acked_generation != r->generation) {
            if (n < max)
                out[n] = (ctl_problem_t){ a, NULL, 1 };
            n++;
        }
        for (size_t k = 0; k < a->n_counters; k++) {
            const rd_loss_def_t *d = rd_loss_find(role, a->counters[k]->name);
            if (d == NULL || a->counters[k]->value == 0)
                continue;
            if (n < max)
                out[n] = (ctl_problem_t){ a, d, a->counters[k]->value };
            n++;
        }
    }
    return n;
}

#define PROBLEMS_SHOWN 12

/* The fleet header: plan, agents up, fidelity, rates, requested/achieved. */
static void
put_header(FILE *fp, const Rfpb__StatusReply *r, const ctl_fleet_t *f)
{
    char b1[32], b2[32], b3[32];
    fprintf(fp, "plan \"%s\"  generation %llu  agents %zu/%zu up (copy %zu/%zu, intercept %zu/%zu)\n",
            r->plan_name && r->plan_name[0] ? r->plan_name : "(none)",
            (unsigned long long)r->generation, f->copy_up + f->icpt_up, f->copy_n + f->icpt_n,
            f->copy_up, f->copy_n, f->icpt_up, f->icpt_n);
    fprintf(fp, "fidelity   %s of %s finished replay sessions completed cleanly (%s lost)\n",
            pct(b1, sizeof(b1), f->sess_completed, f->sess_completed + f->sess_lost),
            commas(b2, sizeof(b2), f->sess_completed + f->sess_lost),
            commas(b3, sizeof(b3), f->sess_lost));
    fprintf(fp, "sessions   %s sess/s opened, %s sess/s captured x %llu %s\n",
            commas(b1, sizeof(b1), f->r_opened), commas(b2, sizeof(b2), f->r_captured_sessions),
            (unsigned long long)f->copies, f->copies == 1 ? "copy" : "copies");
    fprintf(fp, "packets    %s pkt/s replayed (%s Mbit/s, with the replay's own ACKs), %s pkt/s "
                "captured into sessions x %llu\n",
            commas(b1, sizeof(b1), f->r_replayed), mbit(b2, sizeof(b2), f->r_replayed_bytes),
            commas(b3, sizeof(b3), f->r_accepted), (unsigned long long)f->copies);
    fprintf(fp, "responses  %s pkt/s back from the target (intercepts forwarded %s pkt/s)\n",
            commas(b1, sizeof(b1), f->r_resp_received),
            commas(b2, sizeof(b2), f->r_resp_forwarded));
    char rq[48];
    if (r->requested_rate_pps)
        snprintf(rq, sizeof(rq), "%s pkt/s", commas(b1, sizeof(b1), r->requested_rate_pps));
    else
        snprintf(rq, sizeof(rq), "unlimited");
    fprintf(fp, "requested  copies %llu, rate %s   achieved: copies %.2fx, rate %s pkt/s\n",
            (unsigned long long)r->requested_copies, rq,
            f->orig_sessions ? (double)f->sess_opened / (double)f->orig_sessions : 0.0,
            commas(b2, sizeof(b2), f->r_replayed));
}

/* One agent's row; verbose: every counter under it, with its rate unless
 * it is a level. */
static void
put_agent_row(FILE *fp, const Rfpb__AgentStatus *a, int verbose)
{
    char b1[32], b2[32], b3[32], b4[32], b5[32];
    seen_gen_t sg;
    seen_gen(&sg, a);
    int copy = a->role == RFPB__ROLE__ROLE_COPY;
    uint64_t num, den;
    agent_fidelity(a, &num, &den);
    /* SESS: a level, per agent only: open replay sessions (copy),
     * connected copy agents (intercept) */
    uint64_t sess = copy ? CV(a, "sess_active") : CV(a, "copy_conns");
    fprintf(fp, "%-16s %-9s %-5s %6s %7s %10s %10s %8s %6s %9s\n", a->id,
            ctl_role_name(a->role), a->up ? "up" : "DOWN", sg.seen, sg.gen,
            commas(b1, sizeof(b1), RV(a, "cap_pkts")),
            commas(b2, sizeof(b2), RV(a, copy ? "replayed_pkts" : "resp_forwarded")),
            copy ? mbit(b3, sizeof(b3), RV(a, "replayed_bytes")) : "-",
            commas(b4, sizeof(b4), sess), pct(b5, sizeof(b5), num, den));
    if (!verbose)
        return;
    for (size_t k = 0; k < a->n_counters; k++) {
        const rf_counter_def_t *d = rd_stats_meta(role_of(a->role), a->counters[k]->name);
        int gauge = d && d->kind == RF_KIND_GAUGE;
        fprintf(fp, "%16s   %-28s %20llu", "", a->counters[k]->name,
                (unsigned long long)a->counters[k]->value);
        if (!gauge)
            fprintf(fp, " %10llu/s", (unsigned long long)RV(a, a->counters[k]->name));
        fprintf(fp, "%s\n", gauge ? "  (now)" : "");
    }
}

static void
put_problems(FILE *fp, const Rfpb__StatusReply *r)
{
    char b1[32];
    ctl_problem_t pr[PROBLEMS_SHOWN];
    size_t np = ctl_problems(pr, PROBLEMS_SHOWN, r);
    if (np == 0) {
        fprintf(fp, "\nproblems   none: every agent up on generation %llu, no loss counter above 0\n",
                (unsigned long long)r->generation);
        return;
    }
    fprintf(fp, "\nproblems (%zu)\n", np);
    for (size_t i = 0; i < np && i < PROBLEMS_SHOWN; i++) {
        const ctl_problem_t *p = &pr[i];
        const char *id = p->agent->id ? p->agent->id : "";
        if (p->loss == NULL && !p->agent->up)
            fprintf(fp, "  %-16s DOWN: %s\n", id,
                    p->agent->last_error && p->agent->last_error[0] ? p->agent->last_error
                                                                   : "not connected");
        else if (p->loss == NULL)
            fprintf(fp, "  %-16s runs generation %llu, plan is %llu%s%s\n", id,
                    (unsigned long long)p->agent->acked_generation,
                    (unsigned long long)r->generation,
                    p->agent->last_error && p->agent->last_error[0] ? ": " : "",
                    p->agent->last_error ? p->agent->last_error : "");
        else
            fprintf(fp, "  %-16s %-22s %12s  %s\n  %-16s   -> %s\n", id, p->loss->counter,
                    commas(b1, sizeof(b1), p->value), p->loss->meaning, "", p->loss->hop);
    }
    if (np > PROBLEMS_SHOWN)
        fprintf(fp, "  ... and %zu more (replayctl status --json)\n", np - PROBLEMS_SHOWN);
}

void
ctl_render_status_table(FILE *fp, const Rfpb__StatusReply *r, int verbose)
{
    ctl_fleet_t f;
    ctl_fleet_compute(&f, r);
    put_header(fp, r, &f);
    render_schedule(fp, r);
    fprintf(fp, "\n%-16s %-9s %-5s %6s %7s %10s %10s %8s %6s %9s\n", "AGENT", "ROLE", "STATE",
            "SEEN", "GEN/ACK", "IN pkt/s", "OUT pkt/s", "Mbit/s", "SESS", "FIDELITY");
    for (size_t i = 0; i < r->n_agents; i++)
        if (r->agents[i]->role != RFPB__ROLE__ROLE_UNKNOWN)   /* replayd: see problems */
            put_agent_row(fp, r->agents[i], verbose);
    render_groups(fp, r);
    render_tgroups(fp, r);
    put_problems(fp, r);
    if (verbose) {
        fprintf(fp, "\nTOTALS (counters only; levels are per agent)\n");
        for (size_t i = 0; i < r->n_totals; i++) {
            uint64_t rate = i < r->n_total_rates ? r->total_rates[i]->value : 0;
            fprintf(fp, "  %-28s %20llu %10llu/s\n", r->totals[i]->name,
                    (unsigned long long)r->totals[i]->value, (unsigned long long)rate);
        }
    }
}

void
ctl_render_agents(FILE *fp, const Rfpb__StatusReply *r)
{
    fprintf(fp, "%-16s %-10s %-5s %-20s %7s %9s %-18s %4s %-16s %s\n", "ID", "ROLE", "STATE",
            "HOST", "SEEN", "GEN/ACK", "RANGE", "OFF", "PAIRED", "NOTE");
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__AgentStatus *a = r->agents[i];
        if (a->role == RFPB__ROLE__ROLE_UNKNOWN)
            continue;
        seen_gen_t sg;
        char off[8] = "-";
        seen_gen(&sg, a);
        if (a->role == RFPB__ROLE__ROLE_COPY && a->client_range && a->client_range[0])
            snprintf(off, sizeof(off), "%u", a->port_offset);
        fprintf(fp, "%-16s %-10s %-5s %-20.20s %7s %9s %-18s %4s %-16s %s\n", a->id,
                ctl_role_name(a->role), a->up ? "up" : "DOWN", a->host ? a->host : "", sg.seen,
                sg.gen,
                a->client_range && a->client_range[0] ? a->client_range : "-", off,
                a->paired_with && a->paired_with[0] ? a->paired_with : "-",
                a->last_error ? a->last_error : "");
    }
}

void
ctl_help(FILE *fp, const char *usage, const char *text)
{
    fprintf(fp, "usage: replayctl [-c HOST:PORT] [--key-file F] %s\n%s", usage, text);
    fprintf(fp, "exit codes: 0 ok, 1 failure, 2 usage, 3 plan rejected (the plan in force stays),\n"
                "            4 controller unreachable, 5 auth refused\n");
}

int
ctl_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int
ctl_json_only_args(int *json, int argc, char **argv, const char *cmd, const char *help)
{
    char usage[64];
    snprintf(usage, sizeof(usage), "%s [--json]", cmd);
    *json = 0;
    for (int i = 1; i < argc; i++) {
        if (ctl_is_help(argv[i])) {
            ctl_help(stdout, usage, help);
            return CTL_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            *json = 1;
            continue;
        }
        fprintf(stderr, "replayctl %s: unexpected \"%s\"\nusage: replayctl %s\n", cmd, argv[i],
                usage);
        return CTL_EUSAGE;
    }
    return -1;
}

int
ctl_render_agents_json(FILE *fp, const Rfpb__StatusReply *r)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__AgentStatus *a = r->agents[i];
        if (a->role == RFPB__ROLE__ROLE_UNKNOWN)
            continue;
        json_t *o = agent_json(a);
        if (o)
            json_array_append_new(arr, o);
    }
    json_t *root = json_pack("{s:I,s:o}", "generation", (json_int_t)r->generation, "agents", arr);
    if (root == NULL)
        return -ENOMEM;
    int rc = json_dumpf(root, fp, JSON_INDENT(1) | JSON_SORT_KEYS);
    fputc('\n', fp);
    json_decref(root);
    return rc == 0 ? 0 : -EIO;
}
