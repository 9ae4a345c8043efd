package dev.gatehouse.gateway;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Runs a model's tool call through /v1/mcp/tool/execute. */
final class ExecuteTestSupport {
  private ExecuteTestSupport() {}

  static HttpResponse<String> execute(Gateway g, String key, String chain, String toolCallJson) {
    return TestUpstreams.send(HttpRequest.newBuilder(g.baseUri().resolve(ExecuteHandler.PATH))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + key).header("X-Chain-Id", chain)
        .POST(HttpRequest.BodyPublishers.ofString(toolCallJson)).build());
  }
}
