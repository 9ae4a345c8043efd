package dev.gatehouse.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.MessageDigest;
import java.time.Instant;

/**
 * The bench module's window onto the audit module's package-private hot paths (digests, the chain
 * hash), so the JMH benchmarks measure the code the store runs. Lives in the audit package, in the
 * bench module only; if a method here stops compiling, the audit internals changed: follow them here.
 */
public final class AuditBenchAccess {
  private AuditBenchAccess() {}

  /** {@code AuditStep.digest}: SHA-256 over the canonical JSON of arguments or a result. */
  public static String digest(JsonNode json) {
    return AuditStep.digest(json);
  }

  /** A fresh SHA-256 instance, as the audit writer keeps one per thread. */
  public static MessageDigest sha256() {
    return AuditStep.sha256();
  }

  /**
   * A typical allowed tool-call step, as {@code AuditRecorder.call} has the writer seal it (digests of
   * arguments and result included); {@code args} and {@code result} are digested here, as the writer does.
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

}
