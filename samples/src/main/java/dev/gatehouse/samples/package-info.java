/**
 * Sample upstream MCP servers that Gatehouse is developed and tested against.
 *
 * <p>Everything is reachable through {@link dev.gatehouse.samples.Samples}: its {@code main} runs one
 * server per process ({@code stdio-tools}, {@code http-tools}, {@code conformance}, {@code faulty},
 * {@code scripted-model}), and {@link dev.gatehouse.samples.Samples#startHttpTools(String, int)},
 * {@link dev.gatehouse.samples.Samples#startConformance(String, int)} and
 * {@link dev.gatehouse.samples.Samples#startScriptedModel(String, int)} start the HTTP ones inside a test's
 * own JVM, returning a {@link dev.gatehouse.samples.RunningServer}.
 *
 * <p>The servers are built on the MCP Java SDK (sync API). HTTP servers run the SDK's Streamable-HTTP
 * servlet in an embedded Jetty at {@code /mcp}, accept only loopback {@code Host}/{@code Origin}
 * headers (DNS-rebinding protection), and are meant to listen on 127.0.0.1 only. Stdio servers keep
 * stdout for the protocol alone: logging and any stray {@code System.out} output go to stderr.
 *
 * <p>The scripted model is not an MCP server: it is a deterministic OpenAI-compatible chat-completions
 * server (plain Jetty handler, Jackson trees) that proposes calls to the sample tools and injects provider
 * faults, for testing the gateway's LLM routes.
 */
package dev.gatehouse.samples;
