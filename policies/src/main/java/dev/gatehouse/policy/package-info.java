/**
 * Policies: pure decisions over a principal and an action, with rate limits and budgets. Its
 * implementation lands with the policies issue, as a step of the gateway's pipeline.
 */
package dev.gatehouse.policy;
