/* rd_loss.c -- the loss table: one row per counter that means traffic was
 * lost, what it means and the hop it points at, as `replayctl doctor`
 * names hops. `replayctl status` lists every non-zero one under
 * "problems"; replayd keeps them in its summary status rows. */
#include "rd_loss.h"

#include <string.h>

const rd_loss_def_t rd_loss_defs[] = {
    { RD_ROLE_COPY, "kernel_drops", "packets the kernel dropped before the capture read them", "capture on the online host: raise --pcap-buffer-mb, give replay-copy CPU (--nice), or sample" },
    { RD_ROLE_COPY, "bad_pkts", "captured packets that are not well-formed IPv4/TCP", "capture on the online host (offloads: GRO/TSO super-frames, fragments)" },
    { RD_ROLE_COPY, "shed_pkts", "captured packets dropped: session memory budget full", "copy agent memory: raise -m/--memory-mb" },
    { RD_ROLE_COPY, "sess_shed", "replay sessions not opened: session memory budget full", "copy agent memory: raise -m/--memory-mb" },
    { RD_ROLE_COPY, "undelivered_pkts", "packets of the --offline file never replayed: the agent stopped before reading them", "copy agent: --duration or a signal ended the offline replay early" },
    { RD_ROLE_COPY, "sess_skipped_midstream", "captured sessions whose SYN was never seen", "capture started mid-session (expected after a restart; --adopt-midstream replays them)" },
    { RD_ROLE_COPY, "send_errors", "packets the raw socket refused to send", "copy host -> target: route or firewall on the copy host" },
    { RD_ROLE_COPY, "syn_retransmits", "SYNs sent again: no SYN-ACK came back", "target -> intercept: the target's route for the client pool (replayctl routes), or the intercept's filter" },
    { RD_ROLE_COPY, "sess_reset", "sessions the target reset with data unacknowledged", "target: nothing listening, or the application refused" },
    { RD_ROLE_COPY, "sess_timedout", "sessions idle past the timeout", "target -> intercept -> copy: responses did not come back" },
    { RD_ROLE_COPY, "sess_aborted", "sessions aborted (queue full or no answer)", "target -> intercept -> copy: responses did not come back in time" },
    { RD_ROLE_COPY, "causal_by_fallback", "client waits timed by tcpcopy's rule (wait for an answer to everything sent before): the online server's replies were not captured", "capture: a one-way mirror, --no-reverse-capture, or replies lost; carry both directions for exact causal order" },
    { RD_ROLE_COPY, "causal_timeouts", "client segments sent before the target had answered what the client waited for", "target: slower than --causal-timeout-ms to answer (or the answer was lost on the way back)" },
    { RD_ROLE_COPY, "resp_unmatched", "responses that matched no replay session", "intercept -> copy: late responses, or a route sending another range's responses here" },
    { RD_ROLE_COPY, "resp_bad", "response headers that do not parse", "intercept -> copy channel" },
    { RD_ROLE_COPY, "decap_truncated", "mirrored packets cut short inside an encapsulation", "mirror transport (SPAN/ERSPAN snap length, MTU)" },
    { RD_ROLE_COPY, "decap_bad_encap", "mirrored packets with a malformed encapsulation", "mirror transport" },
    { RD_ROLE_ICPT, "kernel_drops", "response packets the kernel dropped before the capture read them", "capture on the assistant host" },
    { RD_ROLE_ICPT, "cap_errors", "capture errors", "capture on the assistant host" },
    { RD_ROLE_ICPT, "resp_lost", "responses that could not be queued to their copy agent", "intercept -> copy: a slow or disconnected copy agent" },
    { RD_ROLE_ICPT, "resp_unroutable", "responses with no owning copy agent", "target -> intercept: responses for a range no copy agent claims (replayctl routes)" },
    { RD_ROLE_ICPT, "resp_park_expired", "parked SYN-ACK/RSTs never claimed", "copy -> intercept: tuple registration late or lost" },
    { RD_ROLE_ICPT, "tuples_full", "tuple registrations refused: table full", "intercept capacity" },
    { RD_ROLE_ICPT, "route_overlaps", "claimed prefixes that overlap another agent's", "plan: two copy agents claim one range" },
    { RD_ROLE_ICPT, "auth_failures", "copy agent hellos refused", "copy -> intercept: agent key or version mismatch" },
    { RD_ROLE_NONE, "auth_failures", "hellos refused by replayd", "agents/admins -> replayd: key, role or version mismatch" },
    { RD_ROLE_NONE, "acks_failed", "assignments an agent refused", "replayd -> agent: see the agent's last error (replayctl agents)" },
    { RD_ROLE_NONE, "state_write_errors", "failed writes of state.json", "replayd's --state-dir (disk full, permissions)" },
};
const size_t rd_loss_ndefs = sizeof(rd_loss_defs) / sizeof(rd_loss_defs[0]);

const rd_loss_def_t *
rd_loss_find(int role, const char *name)
{
    for (size_t i = 0; i < rd_loss_ndefs; i++)
        if (rd_loss_defs[i].role == role && strcmp(rd_loss_defs[i].counter, name) == 0)
            return &rd_loss_defs[i];
    return NULL;
}
