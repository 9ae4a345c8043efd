package dev.gatehouse.identity;

import dev.gatehouse.identity.AuthResult.Failure;
import dev.gatehouse.identity.AuthResult.Reason;

/**
 * Internal control flow for a refusal deep inside verification; always caught in this package and
 * turned into an {@link AuthResult.Failed}. Checked, so no path can forget it; no stack trace,
 * because refusing a forged token is routine and should cost nothing.
 */
final class Rejected extends Exception {
  private final transient Failure failure;

  Rejected(Reason reason, String description) {
    this(Failure.of(reason, description));
  }

  Rejected(Failure failure) {
    super(failure.reason() + ": " + failure.description(), null, false, false);
    this.failure = failure;
  }

  Failure failure() {
    return failure;
  }
}
