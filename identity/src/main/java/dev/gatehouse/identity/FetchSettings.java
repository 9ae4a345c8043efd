package dev.gatehouse.identity;

import java.time.Duration;

/**
 * Limits on every request the identity module makes (discovery and JWKS): how long to wait for a
 * connection, for the whole response, and how large a response may be. Tests shorten them.
 */
record FetchSettings(Duration connectTimeout, Duration requestTimeout, int maxResponseBytes) {
  FetchSettings {
    Checks.positive("connect_timeout", connectTimeout);
    Checks.positive("request_timeout", requestTimeout);
    if (maxResponseBytes < 1024) {
      throw new IllegalArgumentException("max_response_bytes: " + maxResponseBytes + " (expected: >= 1024)");
    }
  }

  /** 5 s to connect, 5 s for the response, 512 KiB at most (real JWKS documents are a few KiB). */
  static FetchSettings defaults() {
    return new FetchSettings(Duration.ofSeconds(5), Duration.ofSeconds(5), 512 * 1024);
  }
}
