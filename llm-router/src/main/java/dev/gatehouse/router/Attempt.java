package dev.gatehouse.router;

import java.time.Duration;
import java.util.Optional;

/**
 * One try at a provider within a call, for audit and metrics.
 *
 * @param route where it went
 * @param outcome how it ended
 * @param status the provider's HTTP status; 0 when no response came (connection error, timeout, busy)
 * @param error a safe description of what went wrong; empty on success. Never holds a key
 * @param elapsed from sending the request to the end of the attempt
 */
public record Attempt(Route route, Outcome outcome, int status, Optional<String> error, Duration elapsed) {
  public Attempt {
    if (route == null || outcome == null || elapsed == null) {
      throw new IllegalArgumentException("attempt: route, outcome and elapsed are required");
    }
    error = error == null ? Optional.empty() : error;
  }

  /** How an attempt ended, and so what the router did next. */
  public enum Outcome {
    /** Answered. */
    OK,
    /** 400, 404, 413, 422 and other client errors: returned to the caller, never retried. */
    CLIENT_ERROR,
    /** 401, 402 or 403: the key was cooled down and the next key tried. */
    KEY_REJECTED,
    /** 429: the key was cooled down (for {@code Retry-After} when given) and the call retried. */
    RATE_LIMITED,
    /** 5xx: retried after a backoff. */
    SERVER_ERROR,
    /** Could not connect, or the connection broke before anything was delivered: retried. */
    CONNECTION_FAILED,
    /** A connect, first-byte or total timeout: retried. */
    TIMEOUT,
    /** No free slot under {@code max_concurrency} in time: retried, then the next fallback. */
    BUSY,
    /** A stream broke after its first chunk reached the client: surfaced, never retried. */
    STREAM_BROKEN
  }
}
