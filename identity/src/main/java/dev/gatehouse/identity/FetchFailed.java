package dev.gatehouse.identity;

import java.io.IOException;

/**
 * A discovery or JWKS request that failed. The message is short, says what went wrong ("HTTP 500",
 * "timed out after 5s") and is safe to show a client in a 503's description.
 */
final class FetchFailed extends IOException {
  FetchFailed(String message) {
    super(message);
  }

  FetchFailed(String message, Throwable cause) {
    super(message, cause);
  }
}
