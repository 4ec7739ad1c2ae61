/* rf_envelope.c -- decode with checks; everything else uses plain structs. */
#include "rf_envelope.h"

#include "rf_err.h"

int
rf_env_decode(Rfpb__Envelope **out, const uint8_t *body, size_t len)
{
    Rfpb__Envelope *env = rfpb__envelope__unpack(NULL, len, body);
    if (env == NULL)
        return RF_EDECODE;
    /* An unknown field number decodes to MSG__NOT_SET: a peer from a newer
     * build or garbage. Either way, not something we can act on. */
    if (env->msg_case == RFPB__ENVELOPE__MSG__NOT_SET) {
        rfpb__envelope__free_unpacked(env, NULL);
        return RF_EDECODE;
    }
    *out = env;
    return 0;
}

void
rf_env_free(Rfpb__Envelope *env)
{
    if (env != NULL)
        rfpb__envelope__free_unpacked(env, NULL);
}

const char *
rf_env_case_name(const Rfpb__Envelope *env)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&rfpb__envelope__descriptor, (unsigned)env->msg_case);
    return f ? f->name : "none";
}
