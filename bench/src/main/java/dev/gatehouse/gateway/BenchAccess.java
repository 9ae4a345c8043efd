package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The bench module's window onto the gateway's package-private hot paths, so that the JMH
 * benchmarks measure the code the gateway runs rather than a copy of it. It lives in the gateway's
 * package (a split package on the class path, which plain {@code java -cp} allows) and in the bench
 * module only: nothing in {@code mcp-gateway} is widened for it. If a method here stops compiling,
 * the gateway's internals changed: follow them here.
 */
public final class BenchAccess {
  private BenchAccess() {}

  /** {@code McpHttpHandler.validate}: the JSON-RPC shape check every {@code /mcp} POST runs; null if valid. */
  public static Object validateJsonRpc(ObjectNode message) {
    return McpHttpHandler.validate(message);
  }

  /** {@code ToolResults.toText}: an MCP tool result as the content of an OpenAI tool message. */
  public static String toolResultText(JsonNode result) {
    return ToolResults.toText(result);
  }
}
