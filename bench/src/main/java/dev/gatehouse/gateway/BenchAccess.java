package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.MessageDigest;
import java.time.Instant;

/**
 * The bench module's window onto the gateway's package-private hot paths, so that the JMH
 * benchmarks measure the code the gateway runs rather than a copy of it. It lives in the gateway's
 * package (a split package on the class path, which plain {@code java -cp} allows) and in the bench
 * module only: nothing in {@code mcp-gateway} is widened for it. If a method here stops compiling,
 * the gateway's internals changed: follow them here.
 */
public final class BenchAccess {
  private BenchAccess() {}

  /** {@code AuditStep.digest}: SHA-256 over the canonical JSON of arguments or a result. */
  public static String digest(JsonNode json) {
    return AuditStep.digest(json);
  }

  /** A fresh SHA-256 instance, as the audit writer keeps one per thread. */
  public static MessageDigest sha256() {
    return AuditStep.sha256();
  }

  /**
   * A typical allowed tool-call step, as {@code AuditRecorder.call} builds it (digests of arguments
   * and result included); {@code args} and {@code result} are digested here, as on the request path.
   */
  public static Object toolStep(String chainId, JsonNode args, JsonNode result) {
    return AuditStep.builder()
        .chainId(chainId)
        .stepId(AuditStep.newId())
        .kind(AuditKind.TOOL)
        .source("execute")
        .principal("bench-agent", "gatehouse:api-key")
        .action("bench/echo")
        .decision("allow")
        .rule("bench-agents")
        .outcome("ok")
        .status(0)
        .startedAt(Instant.now())
        .durationMicros(137)
        .argsDigest(AuditStep.digest(args))
        .resultDigest(AuditStep.digest(result))
        .toolCallId("call_1")
        .build();
  }

  /** {@code AuditChain.hash}: the hash-chain link of a step stored at {@code seq} after {@code prevHash}. */
  public static String chainHash(MessageDigest sha, String prevHash, long seq, Object step) {
    return AuditChain.hash(sha, prevHash, seq, (AuditStep) step);
  }

  /** {@code McpHttpHandler.validate}: the JSON-RPC shape check every {@code /mcp} POST runs; null if valid. */
  public static Exception validateJsonRpc(ObjectNode message) {
    return McpHttpHandler.validate(message);
  }

  /** {@code ToolResults.toText}: an MCP tool result as the content of an OpenAI tool message. */
  public static String toolResultText(JsonNode result) {
    return ToolResults.toText(result);
  }
}
