/* ctl_client.c -- admin channel client on a private libuv loop. */
#include "ctl_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "rf_conn.h"
#include "rf_envelope.h"
#include "rf_handshake.h"
#include "rf_keys.h"

typedef enum { ST_CONNECTING, ST_CHALLENGE, ST_WELCOME, ST_READY, ST_WAIT, ST_DONE } st_t;

struct ctl_client {
    uv_loop_t       loop;
    uv_timer_t      timer;
    rf_conn_t      *conn;
    const ctl_opts_t *o;
    st_t            st;
    int             result;         /* exit code once ST_DONE / failed */
    int             failed, closed, timed_out;
    Rfpb__Envelope__MsgCase want;
    Rfpb__Envelope *reply;
    char            why[300];
};

static void
fail(ctl_client_t *c, int code, const char *why)
{
    if (!c->failed) {
        c->failed = 1;
        c->result = code;
        snprintf(c->why, sizeof(c->why), "%s", why);
    }
    if (c->conn)
        rf_conn_close(c->conn, why);
}

/* The envelope is borrowed; keep an owned copy by re-encoding it. */
static Rfpb__Envelope *
own_copy(const Rfpb__Envelope *env)
{
    size_t n = rfpb__envelope__get_packed_size(env);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return NULL;
    rfpb__envelope__pack(env, buf);
    Rfpb__Envelope *out = NULL;
    if (rf_env_decode(&out, buf, n) != 0)
        out = NULL;
    free(buf);
    return out;
}

static void
on_msg(rf_conn_t *conn, const Rfpb__Envelope *env)
{
    ctl_client_t *c = rf_conn_data(conn);
    if (env->msg_case == RFPB__ENVELOPE__MSG_ERROR) {
        char why[300];
        const Rfpb__Error *e = env->error;
        snprintf(why, sizeof(why), "controller refused: %s", e->reason ? e->reason : "");
        int auth = c->st == ST_WELCOME || (int)e->code == -RF_EAUTH;
        fail(c, auth ? CTL_EAUTH : CTL_EFAIL, why);
        return;
    }
    switch (c->st) {
    case ST_CHALLENGE: {
        if (env->msg_case != RFPB__ENVELOPE__MSG_CHALLENGE) {
            fail(c, CTL_EFAIL, "protocol error: expected a Challenge");
            return;
        }
        Rfpb__Hello h = RFPB__HELLO__INIT;
        char host[64] = "";
        (void)gethostname(host, sizeof(host) - 1);
        h.role = RFPB__ROLE__ROLE_ADMIN;
        /* Under TLS the id must be the one our key was derived for. */
        h.id = c->o->key.len ? (char *)c->o->id : (char *)"";
        h.host = host;
        h.software = (char *)"replayctl 0.1.0";
        rf_hs_answer(&h);
        Rfpb__Envelope out = RFPB__ENVELOPE__INIT;
        out.msg_case = RFPB__ENVELOPE__MSG_HELLO;
        out.hello = &h;
        c->st = ST_WELCOME;
        if (rf_conn_send(conn, &out) != 0)
            fail(c, CTL_EUNREACHABLE, "could not send Hello");
        return;
    }
    case ST_WELCOME:
        if (env->msg_case != RFPB__ENVELOPE__MSG_WELCOME) {
            fail(c, CTL_EFAIL, "protocol error: expected Welcome");
            return;
        }
        c->st = ST_READY;
        return;
    case ST_WAIT:
        if (env->msg_case != c->want) {
            fail(c, CTL_EFAIL, "protocol error: unexpected reply");
            return;
        }
        c->reply = own_copy(env);
        if (c->reply == NULL) {
            fail(c, CTL_EFAIL, "out of memory");
            return;
        }
        c->st = ST_READY;
        return;
    default:
        fail(c, CTL_EFAIL, "protocol error: unsolicited message");
        return;
    }
}

static void
on_connect(rf_conn_t *conn, int status)
{
    ctl_client_t *c = rf_conn_data(conn);
    if (status < 0) {
        char why[200];
        snprintf(why, sizeof(why), "cannot reach replayd at %s:%u: %s", c->o->host, c->o->port,
                 uv_strerror(status));
        fail(c, CTL_EUNREACHABLE, why);
        return;
    }
    c->st = ST_CHALLENGE;
}

static void
on_close(rf_conn_t *conn, const char *reason)
{
    ctl_client_t *c = rf_conn_data(conn);
    c->closed = 1;
    c->conn = NULL;
    if (!c->failed && c->st != ST_DONE) {
        char why[300];
        snprintf(why, sizeof(why), "connection to replayd closed: %s%s", reason,
                 c->st == ST_CHALLENGE && c->o->key.len == 0
                     ? " (no Challenge: this replayd may require TLS; give --key-file)"
                     : "");
        c->failed = 1;
        /* A TLS handshake that fails is a key the server does not accept
         * (or a server that is not the one holding the fleet key). */
        c->result = strncmp(reason, "TLS handshake", 13) == 0 ? CTL_EAUTH : CTL_EUNREACHABLE;
        snprintf(c->why, sizeof(c->why), "%s", why);
    }
}

static const rf_conn_ops_t ops = { on_connect, on_msg, on_close };

static void
on_timer(uv_timer_t *t)
{
    ctl_client_t *c = t->data;
    c->timed_out = 1;
}

/* Run the loop until `until` state, a failure or the deadline. */
static int
run_until(ctl_client_t *c, st_t until)
{
    c->timed_out = 0;
    uv_timer_start(&c->timer, on_timer, c->o->timeout_ms, 0);
    while (c->st != until && !c->failed && !c->timed_out)
        uv_run(&c->loop, UV_RUN_ONCE);
    uv_timer_stop(&c->timer);
    if (c->failed) {
        fprintf(stderr, "replayctl: %s\n", c->why);
        return c->result;
    }
    if (c->timed_out) {
        fprintf(stderr, "replayctl: replayd at %s:%u did not answer within %u ms\n", c->o->host,
                c->o->port, c->o->timeout_ms);
        fail(c, CTL_EUNREACHABLE, "timeout");
        return CTL_EUNREACHABLE;
    }
    return CTL_OK;
}

int
ctl_connect(ctl_client_t **out, const ctl_opts_t *o)
{
    ctl_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL || uv_loop_init(&c->loop) != 0) {
        free(c);
        fprintf(stderr, "replayctl: out of memory\n");
        return CTL_EFAIL;
    }
    c->o = o;
    uv_timer_init(&c->loop, &c->timer);
    c->timer.data = c;
    c->conn = rf_conn_new(&c->loop, &ops, c, 64u << 20, 0);
    *out = c;
    if (c->conn == NULL) {
        fprintf(stderr, "replayctl: out of memory\n");
        return CTL_EFAIL;
    }
    if (o->key.len > 0) {
        char ident[RF_IDENT_MAXLEN + 1];
        if (rf_ident_format(ident, sizeof(ident), RF_KROLE_ADMIN, o->id) != 0 ||
            rf_conn_tls_client(c->conn, ident, o->key.key) != 0) {
            fprintf(stderr, "replayctl: --id \"%s\" is not 1..63 of [A-Za-z0-9._-]\n", o->id);
            c->failed = 1;
            rf_conn_close(c->conn, "bad id");
            return CTL_EUSAGE;
        }
    }
    int r = rf_conn_connect(c->conn, o->host, o->port);
    if (r != 0) {
        fprintf(stderr, "replayctl: cannot reach replayd at %s:%u: %s\n", o->host, o->port,
                uv_strerror(r));
        c->failed = 1;
        rf_conn_close(c->conn, "connect failed");
        return CTL_EUNREACHABLE;
    }
    return run_until(c, ST_READY);
}

int
ctl_call(ctl_client_t *c, const Rfpb__Envelope *req, Rfpb__Envelope__MsgCase want,
         Rfpb__Envelope **reply)
{
    if (c->failed || c->conn == NULL)
        return CTL_EUNREACHABLE;
    c->want = want;
    c->reply = NULL;
    c->st = ST_WAIT;
    if (rf_conn_send(c->conn, req) != 0) {
        fprintf(stderr, "replayctl: could not send the request\n");
        return CTL_EUNREACHABLE;
    }
    int r = run_until(c, ST_READY);
    if (r != CTL_OK)
        return r;
    *reply = c->reply;
    c->reply = NULL;
    return CTL_OK;
}

void
ctl_close(ctl_client_t *c)
{
    if (c == NULL)
        return;
    c->st = ST_DONE;
    if (c->conn)
        rf_conn_close(c->conn, "done");
    uv_close((uv_handle_t *)&c->timer, NULL);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&c->loop);
    rf_env_free(c->reply);
    free(c);
}

int
ctl_once(const ctl_opts_t *o, const Rfpb__Envelope *req, Rfpb__Envelope__MsgCase want,
         Rfpb__Envelope **reply)
{
    ctl_client_t *c = NULL;
    int r = ctl_connect(&c, o);
    if (r == CTL_OK)
        r = ctl_call(c, req, want, reply);
    ctl_close(c);
    return r;
}
