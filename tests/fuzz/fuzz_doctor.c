/* fuzz_doctor.c -- `doctor` inputs under fuzzing: any bytes as a
 * CanaryResult from a copy agent (untrusted) go through rd_doctor like a
 * real answer; what is kept must be bounded and printable ASCII, and the
 * DoctorReply built from it must pack and decode again. The same bytes as
 * a DoctorReply go through replayctl's renderers (text and --json). A
 * violated property aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_render.h"
#include "rd_doctor.h"
#include "fuzz_target.h"

static void
check_str(const char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n >= cap)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Rfpb__CanaryResult *r = rfpb__canary_result__unpack(NULL, size, data);
    if (r != NULL) {
        rd_doctor_t d;
        memset(&d, 0, sizeof(d));
        rd_doctor_agent_t ag;
        memset(&ag, 0, sizeof(ag));
        snprintf(ag.id, sizeof(ag.id), "cap-1");
        snprintf(ag.range, sizeof(ag.range), "10.250.0.0/18");
        ag.probed = 1;
        d.active = 1;
        d.id = r->id;   /* accepted as an answer to this run */
        d.ag = &ag;
        d.nag = 1;
        if (rd_doctor_on_result(&d, "cap-1", r, 5) != 0)
            abort();
        if (ag.nrules > RF_RULES_MAX)
            abort();
        for (unsigned i = 0; i < ag.nrules; i++) {
            check_str(ag.rules[i].rule, sizeof(ag.rules[i].rule));
            check_str(ag.rules[i].src, sizeof(ag.rules[i].src));
            check_str(ag.rules[i].detail, sizeof(ag.rules[i].detail));
        }
        Rfpb__DoctorReply *rep = rd_doctor_reply(&d);
        if (rep != NULL) {
            size_t n = rfpb__doctor_reply__get_packed_size(rep);
            uint8_t *buf = malloc(n ? n : 1);
            rfpb__doctor_reply__pack(rep, buf);
            Rfpb__DoctorReply *back = rfpb__doctor_reply__unpack(NULL, n, buf);
            if (back == NULL)
                abort();
            FILE *null = fopen("/dev/null", "w");
            if (null) {
                ctl_render_doctor_text(null, back);
                (void)ctl_render_doctor_json(null, back);
                fclose(null);
            }
            rfpb__doctor_reply__free_unpacked(back, NULL);
            free(buf);
            rd_doctor_reply_free(rep);
        }
        rfpb__canary_result__free_unpacked(r, NULL);
    }
    /* The same bytes as a reply replayctl receives. */
    Rfpb__DoctorReply *dr = rfpb__doctor_reply__unpack(NULL, size, data);
    if (dr != NULL) {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            ctl_render_doctor_text(null, dr);
            (void)ctl_render_doctor_json(null, dr);
            (void)ctl_doctor_healthy(dr);
            fclose(null);
        }
        rfpb__doctor_reply__free_unpacked(dr, NULL);
    }
    return 0;
}
