/**
 * Gatehouse's benchmark: fast mock upstreams (an OpenAI-compatible model and an MCP Streamable HTTP
 * tool server), an open-loop load generator with coordinated-omission correction and closed-loop
 * saturation runs that compare the gateway with direct calls to the same mocks in the same run, and
 * JMH microbenchmarks of the hot paths. Built only with {@code -Pbench}; {@code scripts/bench} runs it.
 */
package dev.gatehouse.bench;
