package dev.gatehouse.policy;

import java.time.Duration;
import java.util.Optional;

/**
 * The outcome of {@link PolicyEngine#decide}: a value, never an exception. Every decision names the
 * rule that made it ({@code "none"} when no policies are configured, {@code "default-deny"} when rules
 * exist but none allows the action) and a reason a person can read in an audit log or error message.
 */
public sealed interface Decision {

  /** The id of the deciding rule, or {@code "none"} / {@code "default-deny"}. */
  String ruleId();

  /** Why, in one sentence naming the rule and the pattern or argument involved. */
  String reason();

  /** Whether the action may proceed. */
  default boolean allowed() {
    return this instanceof Allow;
  }

  /** The action may proceed. */
  record Allow(String ruleId, String reason) implements Decision {
    public Allow {
      requireText("ruleId", ruleId);
      requireText("reason", reason);
    }
  }

  /**
   * The action is refused: a deny pattern matched, an argument broke a constraint, or nothing allowed it.
   *
   * @param argument the argument path that broke a constraint, when that is why
   */
  record Deny(String ruleId, String reason, Optional<String> argument) implements Decision {
    public Deny {
      requireText("ruleId", ruleId);
      requireText("reason", reason);
      argument = argument == null ? Optional.empty() : argument;
    }

    public Deny(String ruleId, String reason) {
      this(ruleId, reason, Optional.empty());
    }
  }

  /**
   * The action would be allowed, but a rate limit has no token left.
   *
   * @param retryAfter how long until the limit admits one more request (positive)
   */
  record Limited(String ruleId, String reason, Duration retryAfter) implements Decision {
    public Limited {
      requireText("ruleId", ruleId);
      requireText("reason", reason);
      if (retryAfter == null || retryAfter.isNegative() || retryAfter.isZero()) {
        throw new IllegalArgumentException("retryAfter: " + retryAfter + " (expected: > 0)");
      }
    }
  }

  private static void requireText(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException(field + ": missing (expected: non-empty text)");
    }
  }
}
