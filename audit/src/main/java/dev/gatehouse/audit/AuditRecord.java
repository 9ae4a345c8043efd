package dev.gatehouse.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Optional;

/**
 * A step as stored: the {@link AuditStep}, its place in the store's single hash chain, and the hashes
 * that link it to the step before.
 *
 * @param seq the step's position in the store, 1 for the first step ever written; gap-free except
 *     where retention purged a prefix
 * @param step what was recorded
 * @param prevHash the hash of the step at {@code seq - 1} (64 zeros for the first)
 * @param hash SHA-256 over {@code prevHash} and the step's canonical fields, 64 hex digits
 */
public record AuditRecord(long seq, AuditStep step, String prevHash, String hash) {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  public AuditRecord {
    if (seq < 1) {
      throw new IllegalArgumentException("seq: " + seq + " (expected: > 0)");
    }
    if (step == null || prevHash == null || hash == null) {
      throw new IllegalArgumentException("step, prev_hash and hash: missing (expected: a stored step)");
    }
  }

  /**
   * Whether this step's stored hash is the hash of its content, seq and predecessor's hash: false for
   * a step edited after it was written. (Whether the predecessor is really the step before it is what
   * {@link AuditStore#verify} checks over the whole trail.)
   */
  public boolean hashMatches() {
    return AuditChain.hash(AuditStep.sha256(), prevHash, seq, step).equals(hash);
  }

  /**
   * The HTTP API's JSON form, snake_case keys, absent values as {@code null}. {@code started_at} is
   * an ISO-8601 instant; captured payloads are embedded as JSON (or as a string if they do not parse).
   */
  public ObjectNode toJson() {
    AuditStep s = step;
    ObjectNode o = NODES.objectNode();
    o.put("seq", seq);
    o.put("chain_id", s.chainId());
    o.put("step_id", s.stepId());
    o.put("parent_step_id", s.parentStepId().orElse(null));
    o.put("kind", s.kind().wireName());
    o.put("source", s.source());
    o.put("subject", s.subject());
    o.put("issuer", s.issuer());
    o.put("tenant", s.tenant().orElse(null));
    o.put("action", s.action());
    o.put("decision", s.decision());
    o.put("rule", s.rule().orElse(null));
    o.put("reason", s.reason().orElse(null));
    o.put("outcome", s.outcome());
    o.put("status", s.status());
    o.put("started_at", s.startedAt().toString());
    o.put("duration_micros", s.durationMicros());
    o.put("tokens_in", s.tokensIn());
    o.put("tokens_out", s.tokensOut());
    o.put("cost_usd", s.costUsd());
    o.put("args_digest", s.argsDigest().orElse(null));
    o.put("result_digest", s.resultDigest().orElse(null));
    o.set("args_payload", payload(s.argsPayload()));
    o.set("result_payload", payload(s.resultPayload()));
    o.put("tool_call_id", s.toolCallId().orElse(null));
    o.put("prev_hash", prevHash);
    o.put("hash", hash);
    return o;
  }

  /** The body of {@code GET /v1/audit/chains/{id}}: {@code {"chain_id": …, "steps": [ … ]}}, steps in order. */
  public static ObjectNode chainJson(String chainId, List<AuditRecord> steps) {
    ObjectNode o = NODES.objectNode();
    o.put("chain_id", chainId);
    ArrayNode array = o.putArray("steps");
    steps.forEach(r -> array.add(r.toJson()));
    return o;
  }

  private static JsonNode payload(Optional<String> text) {
    if (text.isEmpty()) {
      return NODES.nullNode();
    }
    try {
      return JSON.readTree(text.get());
    } catch (JsonProcessingException e) {
      return NODES.textNode(text.get());
    }
  }
}
