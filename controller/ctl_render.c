/* ctl_render.c -- status/agents tables and the stable JSON document. */
#include "ctl_render.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

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

static json_t *
counters_obj(Rfpb__Counter **cs, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        if (cs[i]->name)
            json_object_set_new(o, cs[i]->name, json_integer((json_int_t)cs[i]->value));
    return o;
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
    json_object_set_new(root, "achieved",
                        json_pack("{s:f,s:I}", "copies", acc ? (double)rep / (double)acc : 0.0,
                                  "replayed_pps",
                                  (json_int_t)ctl_counter(r->total_rates, r->n_total_rates,
                                                          "replayed_pkts")));
    json_object_set_new(root, "totals", counters_obj(r->totals, r->n_totals));
    json_object_set_new(root, "total_rates", counters_obj(r->total_rates, r->n_total_rates));
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__AgentStatus *a = r->agents[i];
        json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:s,s:i,s:s,s:s}", "id",
                              a->id ? a->id : "", "role", ctl_role_name(a->role), "host",
                              a->host ? a->host : "", "up", a->up, "last_seen_ms",
                              (json_int_t)a->last_seen_ms_ago, "generation",
                              (json_int_t)a->generation, "acked_generation",
                              (json_int_t)a->acked_generation, "client_range",
                              a->client_range ? a->client_range : "", "port_offset",
                              (int)a->port_offset, "paired_with",
                              a->paired_with ? a->paired_with : "", "last_error",
                              a->last_error ? a->last_error : "");
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

static void
age(char *buf, size_t len, const Rfpb__AgentStatus *a)
{
    if (a->last_seen_ms_ago == 0 && !a->up)
        snprintf(buf, len, "-");
    else if (a->last_seen_ms_ago < 10000)
        snprintf(buf, len, "%.1fs", (double)a->last_seen_ms_ago / 1000.0);
    else
        snprintf(buf, len, "%llus", (unsigned long long)(a->last_seen_ms_ago / 1000));
}

/* 12345678 -> "12.3M": columns stay narrow at fleet scale. */
static const char *
human(char *buf, size_t len, uint64_t v)
{
    if (v < 100000)
        snprintf(buf, len, "%llu", (unsigned long long)v);
    else if (v < 100000000ull)
        snprintf(buf, len, "%.1fk", (double)v / 1e3);
    else if (v < 100000000000ull)
        snprintf(buf, len, "%.1fM", (double)v / 1e6);
    else
        snprintf(buf, len, "%.1fG", (double)v / 1e9);
    return buf;
}

void
ctl_render_status_table(FILE *fp, const Rfpb__StatusReply *r, int verbose)
{
    size_t up = 0, n = 0;
    for (size_t i = 0; i < r->n_agents; i++)
        if (r->agents[i]->role != RFPB__ROLE__ROLE_UNKNOWN) {
            n++;
            up += r->agents[i]->up != 0;
        }
    fprintf(fp, "plan \"%s\"  generation %llu  agents %zu/%zu up\n",
            r->plan_name && r->plan_name[0] ? r->plan_name : "(none)",
            (unsigned long long)r->generation, up, n);
    /* Achieved amplification: replayed sessions per captured session (the
     * packet counts would include the agents' own ACKs). */
    uint64_t acc = ctl_counter(r->totals, r->n_totals, "orig_sessions");
    uint64_t rep = ctl_counter(r->totals, r->n_totals, "sess_opened");
    char rq[32];
    if (r->requested_rate_pps)
        snprintf(rq, sizeof(rq), "%llu pps", (unsigned long long)r->requested_rate_pps);
    else
        snprintf(rq, sizeof(rq), "unlimited");
    fprintf(fp, "requested: copies %llu, rate %s   achieved: copies %.2fx, rate %llu pps\n",
            (unsigned long long)r->requested_copies, rq, acc ? (double)rep / (double)acc : 0.0,
            (unsigned long long)ctl_counter(r->total_rates, r->n_total_rates, "replayed_pkts"));
    fprintf(fp, "\nTOTALS\n");
    for (size_t i = 0; i < r->n_totals; i++) {
        char v[32];
        uint64_t rate = i < r->n_total_rates ? r->total_rates[i]->value : 0;
        char cell[80];
        if (rate)
            snprintf(cell, sizeof(cell), "%s %s (%llu/s)", r->totals[i]->name,
                     human(v, sizeof(v), r->totals[i]->value), (unsigned long long)rate);
        else
            snprintf(cell, sizeof(cell), "%s %s", r->totals[i]->name,
                     human(v, sizeof(v), r->totals[i]->value));
        fprintf(fp, "  %-36s%s", cell, i % 3 == 2 || i + 1 == r->n_totals ? "\n" : "");
    }
    fprintf(fp, "\n%-16s %-10s %-5s %6s %9s %-18s %4s %8s %8s %7s %7s\n", "ID", "ROLE", "STATE",
            "SEEN", "GEN/ACK", "RANGE", "OFF", "CAP/s", "OUT/s", "SESS", "ERRORS");
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__AgentStatus *a = r->agents[i];
        char seen[32], gen[48], b1[32], b2[32], b3[32], b4[32];
        age(seen, sizeof(seen), a);
        snprintf(gen, sizeof(gen), "%llu/%llu", (unsigned long long)a->generation,
                 (unsigned long long)a->acked_generation);
        int copy = a->role == RFPB__ROLE__ROLE_COPY;
        uint64_t cap = ctl_counter(a->rates, a->n_rates, "cap_pkts");
        uint64_t out = ctl_counter(a->rates, a->n_rates, copy ? "replayed_pkts" : "resp_forwarded");
        uint64_t sess = ctl_counter(a->counters, a->n_counters, "sess_active");
        uint64_t errs = ctl_counter(a->counters, a->n_counters, "send_errors") +
                        ctl_counter(a->counters, a->n_counters, "kernel_drops") +
                        ctl_counter(a->counters, a->n_counters, "auth_failures");
        if (a->role == RFPB__ROLE__ROLE_UNKNOWN)
            errs = ctl_counter(a->counters, a->n_counters, "auth_failures") +
                   ctl_counter(a->counters, a->n_counters, "bad_state") +
                   ctl_counter(a->counters, a->n_counters, "bad_frames");
        char off[8] = "-";
        if (copy && a->client_range && a->client_range[0])
            snprintf(off, sizeof(off), "%u", a->port_offset);
        fprintf(fp, "%-16s %-10s %-5s %6s %9s %-18s %4s %8s %8s %7s %7s\n", a->id,
                ctl_role_name(a->role), a->up ? "up" : "DOWN", seen, gen,
                a->client_range && a->client_range[0] ? a->client_range : "-", off,
                human(b1, sizeof(b1), cap), human(b2, sizeof(b2), out),
                copy ? human(b3, sizeof(b3), sess) : "-", human(b4, sizeof(b4), errs));
        if (!a->up && a->last_error && a->last_error[0])
            fprintf(fp, "%16s   ^ %s\n", "", a->last_error);
        if (verbose)
            for (size_t k = 0; k < a->n_counters; k++)
                fprintf(fp, "%16s   %-28s %20llu %10llu/s\n", "", a->counters[k]->name,
                        (unsigned long long)a->counters[k]->value,
                        (unsigned long long)(k < a->n_rates ? a->rates[k]->value : 0));
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
        char seen[32], gen[48], off[8] = "-";
        age(seen, sizeof(seen), a);
        snprintf(gen, sizeof(gen), "%llu/%llu", (unsigned long long)a->generation,
                 (unsigned long long)a->acked_generation);
        if (a->role == RFPB__ROLE__ROLE_COPY && a->client_range && a->client_range[0])
            snprintf(off, sizeof(off), "%u", a->port_offset);
        fprintf(fp, "%-16s %-10s %-5s %-20.20s %7s %9s %-18s %4s %-16s %s\n", a->id,
                ctl_role_name(a->role), a->up ? "up" : "DOWN", a->host ? a->host : "", seen, gen,
                a->client_range && a->client_range[0] ? a->client_range : "-", off,
                a->paired_with && a->paired_with[0] ? a->paired_with : "-",
                a->last_error ? a->last_error : "");
    }
}
