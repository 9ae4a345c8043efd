/**
 * Upstream MCP servers: connecting to them over stdio, Streamable HTTP and legacy HTTP+SSE, keeping
 * each one's catalog (tools, resources, prompts) current, health pings, reconnect with backoff, and
 * the federated, namespaced view of all of them that the gateway serves.
 *
 * <p>The JSON-RPC session is our own rather than the MCP SDK client's: a gateway must pass results
 * through untouched, forward cancellation, and know which downstream call caused an upstream's
 * sampling or elicitation request; the SDK client does none of these.
 */
package dev.gatehouse.registry;
