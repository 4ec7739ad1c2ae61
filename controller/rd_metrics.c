/* rd_metrics.c -- the Prometheus page, rendered on the loop thread from the
 * controller's state (pure: no I/O but the process's own /proc files).
 * Served by rd_metrics_http.c. */
#include "rd_metrics.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rf_envelope.h"
#include "rf_log.h"

#define PREFIX "replayfleet_"

/* ---- rendering (pure) ------------------------------------------------- */

int
rd_metrics_sanitize(const char *name, char *buf, size_t len)
{
    size_t i = 0;
    for (; name[i]; i++) {
        if (i + 1 >= len)
            return -1;
        char ch = name[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        buf[i] = ok ? ch : '_';
    }
    if (i == 0 || len == 0)
        return -1;
    buf[i] = '\0';
    return 0;
}

/* Label values: agent ids and hosts are checked on Hello, but escape the
 * three characters the format reserves anyway (a host name is free text). */
static void
put_label(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', fp), fputc(*s, fp);
        else if (*s == '\n')
            fputs("\\n", fp);
        else if ((unsigned char)*s >= 0x20)
            fputc(*s, fp);
    }
}

/* HELP text: the format escapes only backslash and newline there. */
static void
put_help(FILE *fp, const char *family, const char *help)
{
    fprintf(fp, "# HELP %s ", family);
    for (const char *s = help; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", fp);
        else if (*s == '\n')
            fputs("\\n", fp);
        else
            fputc(*s, fp);
    }
    fputc('\n', fp);
}

static void
put_family(FILE *fp, const char *family, const char *type, const char *help)
{
    put_help(fp, family, help);
    fprintf(fp, "# TYPE %s %s\n", family, type);
}

static const char *
role_label(int role)
{
    return role == RD_ROLE_COPY ? "copy" : role == RD_ROLE_ICPT ? "intercept" : "unknown";
}

/* " 12345\n" without printf: ~30,000 of these per page at 1,000 agents. */
static void
put_u64(FILE *fp, uint64_t v)
{
    char b[24];
    char *p = b + sizeof(b);
    *--p = '\0';
    *--p = '\n';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    *--p = ' ';
    fputs(p, fp);
}

static int
names_find(const rd_names_t *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->name[i], name) == 0)
            return (int)i;
    return -1;
}

/* process_* for replayd, as the Prometheus client libraries write them
 * (https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics),
 * from /proc/self. A field that cannot be read is left out. */
static void
put_process(FILE *fp)
{
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char buf[1024];
    FILE *sf = fopen("/proc/self/stat", "r");
    size_t n = sf ? fread(buf, 1, sizeof(buf) - 1, sf) : 0;
    if (sf)
        fclose(sf);
    buf[n] = '\0';
    /* Fields after the command name (which may hold spaces and ')'). */
    const char *p = strrchr(buf, ')');
    unsigned long long utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
    int got = 0;
    if (p != NULL && tck > 0)
        got = sscanf(p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                     "%*d %*d %llu %llu %llu",
                     &utime, &stime, &start, &vsize, &rss) == 5;
    if (got) {
        put_family(fp, "process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds.");
        fprintf(fp, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / (double)tck);
        put_family(fp, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        fprintf(fp, "process_virtual_memory_bytes %llu\n", vsize);
        put_family(fp, "process_resident_memory_bytes", "gauge",
                   "Resident memory size in bytes.");
        fprintf(fp, "process_resident_memory_bytes %llu\n", rss * (unsigned long long)page);
        /* start is in clock ticks after boot: add the boot time. */
        FILE *st = fopen("/proc/stat", "r");
        unsigned long long btime = 0;
        char line[256];
        while (st && fgets(line, sizeof(line), st))
            if (sscanf(line, "btime %llu", &btime) == 1)
                break;
        if (st)
            fclose(st);
        if (btime) {
            put_family(fp, "process_start_time_seconds", "gauge",
                       "Start time of the process since unix epoch in seconds.");
            fprintf(fp, "process_start_time_seconds %.2f\n",
                    (double)btime + (double)start / (double)tck);
        }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        long fds = -1;   /* opendir's own fd is in the list */
        while (readdir(d) != NULL)
            fds++;
        closedir(d);
        fds -= 2;        /* "." and ".." */
        put_family(fp, "process_open_fds", "gauge", "Number of open file descriptors.");
        fprintf(fp, "process_open_fds %ld\n", fds < 0 ? 0 : fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        put_family(fp, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        fprintf(fp, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
}

/* One render's working set. Agent rows are bucketed by (role, counter
 * name): key = (role - 1) * nn + id, so a family is written in one go
 * whatever the fleet size; rows[off[key] .. off[key] + count[key]). */
typedef struct {
    uint32_t who;   /* index into ag */
    uint64_t value;
} row_t;

typedef struct {
    FILE        *fp;
    rd_ctx_t    *c;
    size_t       nn, na, nkeys;
    rd_agent_t **ag;           /* sorted: role, then id */
    char       (*labels)[96];  /* each agent's {agent="..."}, escaped once */
    size_t      *count, *off;
    uint8_t     *done;         /* key written as a declared family */
    row_t       *rows;
} render_t;

#define KEY(r, role, id) ((size_t)((role) == RD_ROLE_COPY ? 0 : 1) * (r)->nn + (id))
#define ROLE_OK(role)    ((role) == RD_ROLE_COPY || (role) == RD_ROLE_ICPT)

static void
render_free(render_t *r)
{
    free(r->count);
    free(r->off);
    free(r->done);
    free(r->ag);
    free(r->rows);
    free(r->labels);
}

/* Sort the agents, escape their labels, bucket their counters. */
static int
render_index(render_t *r)
{
    rd_ctx_t *c = r->c;
    r->nn = c->names.n;
    r->na = c->reg.n;
    r->nkeys = 2 * r->nn;
    size_t nrows = 0;
    for (size_t i = 0; i < r->na; i++)
        nrows += c->reg.a[i]->stats.n;
    r->count = calloc(r->nkeys + 1, sizeof(*r->count));
    r->off = calloc(r->nkeys + 2, sizeof(*r->off));
    r->done = calloc(r->nkeys + 1, 1);
    r->ag = malloc((r->na ? r->na : 1) * sizeof(*r->ag));
    r->rows = malloc((nrows ? nrows : 1) * sizeof(*r->rows));
    r->labels = calloc(r->na ? r->na : 1, sizeof(*r->labels));
    if (!r->count || !r->off || !r->done || !r->ag || !r->rows || !r->labels)
        return -ENOMEM;
    rd_registry_sorted(&c->reg, r->ag);
    for (size_t i = 0; i < r->na; i++) {
        FILE *lf = fmemopen(r->labels[i], sizeof(r->labels[i]), "w");
        if (lf == NULL)
            return -ENOMEM;
        fputs("{agent=\"", lf);
        put_label(lf, r->ag[i]->id);   /* ids: <= 63 bytes of [A-Za-z0-9._-] */
        fputs("\"}", lf);
        fclose(lf);
    }
    for (size_t i = 0; i < r->na; i++)
        if (ROLE_OK(r->ag[i]->role))
            for (unsigned k = 0; k < r->ag[i]->stats.n; k++)
                r->count[KEY(r, r->ag[i]->role, r->ag[i]->stats.id[k])]++;
    for (size_t i = 0; i < r->nkeys; i++)
        r->off[i + 1] = r->off[i] + r->count[i];
    memset(r->count, 0, (r->nkeys + 1) * sizeof(*r->count));
    for (size_t i = 0; i < r->na; i++)
        if (ROLE_OK(r->ag[i]->role))
            for (unsigned k = 0; k < r->ag[i]->stats.n; k++) {
                size_t key = KEY(r, r->ag[i]->role, r->ag[i]->stats.id[k]);
                r->rows[r->off[key] + r->count[key]++] =
                    (row_t){ (uint32_t)i, r->ag[i]->stats.value[k] };
            }
    return 0;
}

static void
put_rows(const render_t *r, const char *fam, size_t key)
{
    for (size_t i = r->off[key]; i < r->off[key] + r->count[key]; i++) {
        fputs(fam, r->fp);
        fputs(r->labels[r->rows[i].who], r->fp);
        put_u64(r->fp, r->rows[i].value);
    }
}

/* A name this build has no row for (a newer agent) is exported untyped
 * under its own name, unless that collides with a declared family or with
 * another undeclared name ("a.b" vs "a_b"). */
static int
undeclared_clash(const render_t *r, int role, size_t id, const char *m,
                 const rf_counter_def_t *defs, size_t ndefs)
{
    for (size_t d = 0; d < ndefs; d++)
        if (strcmp(defs[d].prom, m) == 0)
            return 1;
    for (size_t j = 0; j < id; j++) {
        char m2[RD_CNAME_MAX + 8];
        if (!r->done[KEY(r, role, j)] && r->count[KEY(r, role, j)] &&
            rd_metrics_sanitize(r->c->names.name[j], m2, sizeof(m2)) == 0 && strcmp(m, m2) == 0)
            return 1;
    }
    return 0;
}

/* Agent families of one role, role in the name, type and help from the
 * agents' own tables (rd_stats_meta), in table order; then the names this
 * build does not declare. */
static void
put_role_families(render_t *r, int role)
{
    size_t ndefs;
    const rf_counter_def_t *defs = rd_stats_table(role, &ndefs);
    char fam[160];
    for (size_t d = 0; d < ndefs; d++) {
        int id = names_find(&r->c->names, defs[d].name);
        if (id < 0)
            continue;
        size_t key = KEY(r, role, (size_t)id);
        r->done[key] = 1;
        if (r->count[key] == 0)
            continue;
        snprintf(fam, sizeof(fam), PREFIX "%s_%s", role_label(role), defs[d].prom);
        put_family(r->fp, fam, defs[d].kind == RF_KIND_GAUGE ? "gauge" : "counter", defs[d].help);
        put_rows(r, fam, key);
    }
    for (size_t id = 0; id < r->nn; id++) {
        size_t key = KEY(r, role, id);
        char m[RD_CNAME_MAX + 8];
        unsigned g;
        const char *rest;
        if (role == RD_ROLE_COPY && rd_stats_tg_name(r->c->names.name[id], &g, &rest))
            continue;   /* put_target_groups */
        if (r->done[key] || r->count[key] == 0 ||
            rd_metrics_sanitize(r->c->names.name[id], m, sizeof(m)) != 0 ||
            undeclared_clash(r, role, id, m, defs, ndefs))
            continue;
        snprintf(fam, sizeof(fam), PREFIX "%s_%s", role_label(role), m);
        char help[160];
        snprintf(help, sizeof(help),
                 "Agent counter \"%s\"; this replayd build does not declare its type.",
                 r->c->names.name[id]);
        put_family(r->fp, fam, "untyped", help);
        put_rows(r, fam, key);
    }
}

/* The copy agents' per-target-group counters "tgN_<name>" as one family per
 * counter, replayfleet_target_group_<prom>{agent, group}: the group label
 * is the plan's name for index N ("tgN" when the plan in force has no such
 * group, e.g. just after a new plan). */
static void
put_target_groups(render_t *r)
{
    size_t nd;
    const rf_counter_def_t *defs = rd_stats_out_table(&nd);
    const rd_plan_t *p = r->c->plan;
    for (size_t d = 0; d < nd; d++) {
        char fam[160];
        int head = 0;
        snprintf(fam, sizeof(fam), PREFIX "target_group_%s", defs[d].prom);
        for (unsigned g = 0; g < RD_TGROUPS_MAX; g++) {
            char nm[RD_CNAME_MAX];
            snprintf(nm, sizeof(nm), "tg%u_%s", g, defs[d].name);
            int id = names_find(&r->c->names, nm);
            if (id < 0)
                continue;
            size_t key = KEY(r, RD_ROLE_COPY, (size_t)id);
            if (r->count[key] == 0)
                continue;
            if (!head) {
                put_family(r->fp, fam, "counter", defs[d].help);
                head = 1;
            }
            char gname[RD_ID_MAX];
            if (p && g < p->ntgroups)
                snprintf(gname, sizeof(gname), "%s", p->tgroups[g].name);
            else
                snprintf(gname, sizeof(gname), "tg%u", g);
            for (size_t i = r->off[key]; i < r->off[key] + r->count[key]; i++) {
                /* the agent's label set without its closing brace */
                const char *lab = r->labels[r->rows[i].who];
                fprintf(r->fp, "%s%.*s,group=\"", fam, (int)strlen(lab) - 1, lab);
                put_label(r->fp, gname);
                fputs("\"}", r->fp);
                put_u64(r->fp, r->rows[i].value);
            }
        }
    }
}

static void
put_self(FILE *fp, const rd_ctx_t *c)
{
    for (size_t d = 0; d < rd_self_ndefs; d++) {
        char fam[160];
        snprintf(fam, sizeof(fam), PREFIX "controller_%s", rd_self_defs[d].prom);
        put_family(fp, fam, rd_self_defs[d].kind == RF_KIND_GAUGE ? "gauge" : "counter",
                   rd_self_defs[d].help);
        fputs(fam, fp);
        put_u64(fp, rf_counter_get(&c->ctr, &rd_self_defs[d]));
    }
}

/* Per-agent gauges: up, last seen, acked generation. */
static void
put_agent_state(const render_t *r, uint64_t now_ms)
{
    FILE *fp = r->fp;
    rd_agent_t *const *ag = r->ag;
    put_family(fp, PREFIX "agent_up", "gauge",
               "1 if the agent is connected and was heard from within the heartbeat timeout.");
    for (size_t i = 0; i < r->na; i++)
        fprintf(fp, PREFIX "agent_up{agent=\"%s\",role=\"%s\"} %d\n", ag[i]->id,
                role_label(ag[i]->role), ag[i]->up ? 1 : 0);
    /* A time, not an age: Prometheus computes ages itself (time() - x), and
     * a timestamp does not change between scrapes while the agent is silent. */
    put_family(fp, PREFIX "agent_last_seen_timestamp_seconds", "gauge",
               "Unix time the agent was last heard from (absent if never).");
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    double wall_s = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
    for (size_t i = 0; i < r->na; i++) {
        if (ag[i]->last_seen_ms == 0)
            continue;
        uint64_t age = now_ms > ag[i]->last_seen_ms ? now_ms - ag[i]->last_seen_ms : 0;
        fprintf(fp, PREFIX "agent_last_seen_timestamp_seconds{agent=\"%s\",role=\"%s\"} %.3f\n",
                ag[i]->id, role_label(ag[i]->role), wall_s - (double)age / 1000.0);
    }
    put_family(fp, PREFIX "agent_acked_generation", "gauge",
               "Plan generation whose assignment the agent acknowledged (0: none).");
    for (size_t i = 0; i < r->na; i++)
        fprintf(fp, PREFIX "agent_acked_generation{agent=\"%s\",role=\"%s\"} %llu\n", ag[i]->id,
                role_label(ag[i]->role), (unsigned long long)ag[i]->acked_gen);
}

/* agent_info (host and assignment per agent), then agents by role and state. */
static void
put_agent_info(const render_t *r)
{
    FILE *fp = r->fp;
    put_family(fp, PREFIX "agent_info", "gauge",
               "Always 1; labels give the agent's host and its assignment in the plan in force.");
    size_t up[3] = { 0 }, down[3] = { 0 };
    for (size_t i = 0; i < r->na; i++) {
        const rd_agent_t *a = r->ag[i];
        const rd_entry_t *e = rd_table_find(&r->c->table, a->id);
        char rs[32] = "";
        if (e && e->active)
            rf_cidr_format(&e->range, rs, sizeof(rs));
        fprintf(fp, PREFIX "agent_info{agent=\"%s\",role=\"%s\",host=\"", a->id,
                role_label(a->role));
        put_label(fp, a->host);
        fprintf(fp, "\",range=\"%s\",paired_with=\"", rs);
        put_label(fp, e && e->active && e->role == RD_ROLE_COPY ? e->pair : "");
        fprintf(fp, "\",active=\"%d\"} 1\n", e && e->active ? 1 : 0);
        int ri = a->role == RD_ROLE_COPY ? 1 : a->role == RD_ROLE_ICPT ? 2 : 0;
        if (a->up)
            up[ri]++;
        else
            down[ri]++;
    }
    put_family(fp, PREFIX "agents", "gauge", "Registered agents by role and state.");
    for (int ri = 1; ri <= 2; ri++) {
        const char *rl = role_label(ri == 1 ? RD_ROLE_COPY : RD_ROLE_ICPT);
        fprintf(fp, PREFIX "agents{role=\"%s\",state=\"up\"} %zu\n", rl, up[ri]);
        fprintf(fp, PREFIX "agents{role=\"%s\",state=\"down\"} %zu\n", rl, down[ri]);
    }
}

static void
put_plan(FILE *fp, const rd_ctx_t *c)
{
    put_family(fp, PREFIX "plan_generation", "gauge", "Generation of the plan in force (0: none).");
    fprintf(fp, PREFIX "plan_generation %llu\n", (unsigned long long)c->generation);
    put_family(fp, PREFIX "plan_copies", "gauge",
               "Copies of every captured session the plan asks for (0: no plan).");
    fprintf(fp, PREFIX "plan_copies %llu\n", (unsigned long long)(c->plan ? c->plan->copies : 0));
    put_family(fp, PREFIX "plan_rate_limit_packets_per_second", "gauge",
               "Fleet-wide replayed packet rate cap of the plan (0: none).");
    fprintf(fp, PREFIX "plan_rate_limit_packets_per_second %llu\n",
            (unsigned long long)(c->plan ? c->plan->rate_limit_pps : 0));
}

#undef KEY
#undef ROLE_OK

int
rd_metrics_render(char **out, size_t *outlen, rd_ctx_t *c, uint64_t now_ms)
{
    *out = NULL;
    *outlen = 0;
    render_t r = { .c = c };
    char *buf = NULL;
    size_t blen = 0;
    if (render_index(&r) != 0 || (r.fp = open_memstream(&buf, &blen)) == NULL)
        goto oom;
    put_family(r.fp, PREFIX "build_info", "gauge",
               "Always 1; labels name the replayd build (version, protocol).");
    fprintf(r.fp, PREFIX "build_info{version=\"%s\",protocol=\"%u\"} 1\n", RF_VERSION_STR,
            (unsigned)RF_PROTO_VERSION);
    put_role_families(&r, RD_ROLE_COPY);
    put_role_families(&r, RD_ROLE_ICPT);
    put_target_groups(&r);
    put_self(r.fp, c);
    put_agent_state(&r, now_ms);
    put_agent_info(&r);
    put_plan(r.fp, c);
    put_process(r.fp);
    if (ferror(r.fp))
        goto oom;
    int rc = fclose(r.fp);
    r.fp = NULL;
    if (rc != 0)
        goto oom;
    render_free(&r);
    *out = buf;
    *outlen = blen;
    return 0;
oom:
    if (r.fp)
        fclose(r.fp);
    free(buf);
    render_free(&r);
    return -ENOMEM;
}
