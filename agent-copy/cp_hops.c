/* cp_hops.c -- the next-hop table (cp_hops.h). Linear: a handful of
 * targets, the last one found checked first. */
#include <stddef.h>

#include "cp_hops.h"

cp_hop_t *
cp_hops_get(cp_hops_t *t, uint32_t daddr)
{
    if (t->last < t->n && t->e[t->last].daddr == daddr)
        return &t->e[t->last];
    for (unsigned i = 0; i < t->n; i++)
        if (t->e[i].daddr == daddr) {
            t->last = i;
            return &t->e[i];
        }
    if (t->n == CP_HOPS_MAX)
        return NULL;
    cp_hop_t *h = &t->e[t->n];
    *h = (cp_hop_t){ .daddr = daddr };
    t->last = t->n++;
    return h;
}

int
cp_hops_use_link(cp_hop_t *h, size_t len)
{
    if (h->ifindex == 0 || len > h->mtu)
        return 0;
    if (h->via_ip) {
        h->via_ip = 0;
        return 0;
    }
    return 1;
}

unsigned
cp_hops_linked(const cp_hops_t *t)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->n; i++)
        n += t->e[i].ifindex != 0;
    return n;
}
