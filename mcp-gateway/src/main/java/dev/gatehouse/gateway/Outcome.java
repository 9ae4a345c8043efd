package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.policy.Decision;
import dev.gatehouse.router.RouterException;
import java.util.Optional;

/**
 * How a {@link Call} ended: a value, never an exception. Each door encodes it exactly once (JSON-RPC
 * on {@code /mcp}, OpenAI JSON and a status on {@code /v1/...}); the record step stores it.
 */
sealed interface Outcome {

  /** The low-cardinality word metrics and audit use: ok, tool_error, denied, rate_limited, … */
  String label();

  /** The call ran; {@code result} is what the upstream (or model) answered, after the door's rewriting. */
  record Done(JsonNode result) implements Outcome {
    @Override
    public String label() {
      return result != null && result.path("isError").asBoolean(false) ? "tool_error" : "ok";
    }
  }

  /** Why the gateway did not run a call. */
  enum Why {
    /** A policy denied it. */
    DENIED("denied"),
    /** A rate limit is exhausted for now. */
    RATE_LIMITED("rate_limited"),
    /** The day's budget is spent and no fallback model is configured. */
    BUDGET_EXCEEDED("budget_exceeded"),
    /** No such tool, prompt, resource or model. */
    UNKNOWN("unknown"),
    /** The arguments are not what the call takes (not a JSON object, not JSON at all). */
    INVALID("invalid");

    final String label;

    Why(String label) {
      this.label = label;
    }
  }

  /**
   * Not run: denied, limited, unknown or invalid.
   *
   * @param decision the policy decision, when one was made
   * @param argument the argument a constraint refused, if one did
   * @param retryAfterSeconds when a rate limit frees up again (0 otherwise)
   * @param error the error the protocol prescribes for this refusal, when it prescribes one (a
   *     2026-07-28 request whose headers disagree with its body)
   */
  record Refused(Why why, String message, Optional<Decision> decision, Optional<String> argument, long retryAfterSeconds,
      Optional<RpcError> error) implements Outcome {

    static Refused of(Why why, String message) {
      return new Refused(why, message, Optional.empty(), Optional.empty(), 0, Optional.empty());
    }

    /** A request that breaks its protocol revision: refused as invalid, answered with {@code error}. */
    static Refused protocol(RpcError error) {
      return new Refused(Why.INVALID, error.message(), Optional.empty(), Optional.empty(), 0, Optional.of(error));
    }

    /** The refusal a deny or limit decision means; null for an allow. */
    static Refused of(Decision d) {
      return switch (d) {
        case Decision.Allow a -> null;
        case Decision.Deny deny -> new Refused(Why.DENIED, "Forbidden: " + deny.reason(), Optional.of(d), deny.argument(), 0, Optional.empty());
        case Decision.Limited l -> new Refused(Why.RATE_LIMITED, "Rate limited: " + l.reason(), Optional.of(d), Optional.empty(),
            Math.max(1, (l.retryAfter().toMillis() + 999) / 1000), Optional.empty());
      };
    }

    @Override
    public String label() {
      return why.label;
    }
  }

  /**
   * Ran and failed: the upstream answered an error, timed out or is unreachable, or the model provider
   * failed ({@code model} then has the status and the OpenAI error to answer with).
   */
  record Failed(RpcError error, Optional<RouterException> model) implements Outcome {
    Failed(RpcError error) {
      this(error, Optional.empty());
    }

    @Override
    public String label() {
      if (model.isPresent()) {
        return model.get().status() == 499 ? "cancelled" : "error";
      }
      return switch (error.code()) {
        case RpcError.UPSTREAM_TIMEOUT -> "timeout";
        case RpcError.UPSTREAM_UNAVAILABLE -> "unavailable";
        case RpcError.REQUEST_CANCELLED -> "cancelled";
        default -> "error";
      };
    }
  }
}
