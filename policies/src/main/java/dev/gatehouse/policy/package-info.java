/**
 * Policies: pure decisions over a principal and an action. {@link dev.gatehouse.policy.PolicyRule}s
 * from the config are compiled once by {@link dev.gatehouse.policy.PolicyEngine#create}; the engine
 * then answers {@code decide} (allow, deny or rate-limited, with the rule and a reason),
 * {@code visible} (list filtering) and {@code explain} (every rule's part in a decision). It owns
 * the in-memory token buckets of per-principal rate limits and does no I/O. Spend budgets are parsed
 * here but enforced by the model router.
 */
package dev.gatehouse.policy;
