/* rf_rule.h -- transfer rules "[onlineIP:]onlinePort-targetIP:targetPort" (pure). */
#ifndef RF_RULE_H
#define RF_RULE_H

#include <stdint.h>

#include "rf_err.h"

#define RF_RULES_MAX 32

typedef struct {
    uint32_t online_ip;     /* host order; 0 = any */
    uint16_t online_port;
    uint32_t target_ip;
    uint16_t target_port;
} rf_rule_t;

/* One rule. Error text names the rule and the part that is wrong. */
int rf_rule_parse(rf_rule_t *out, const char *s, rf_errbuf_t *err);
/* Comma list; *n set to the count. At most RF_RULES_MAX. */
int rf_rules_parse(rf_rule_t *out, unsigned *n, const char *list, rf_errbuf_t *err);
void rf_rule_format(const rf_rule_t *r, char *buf, unsigned len);

#endif
