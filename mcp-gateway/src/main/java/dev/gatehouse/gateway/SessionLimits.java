package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;

/**
 * How many MCP sessions the gateway keeps and for how long ({@code server.sessions}). One caller can
 * hold at most {@code perPrincipal} of them: at that limit its own least recently used idle session
 * makes room for the new one, and only when none of its sessions is idle is it refused (429). When all
 * {@code max} are taken, the least recently used session that never made a request after
 * {@code initialize} makes room; only when there is none is the caller refused (503). Both refusals
 * carry {@code Retry-After}.
 *
 * @param max sessions in all (Streamable HTTP and legacy SSE)
 * @param perPrincipal sessions of one caller (issuer, subject and tenant)
 * @param idleTimeout a session with no request, no open stream and nothing in flight for this long is closed
 * @param unusedTimeout a session that made no request after {@code initialize} is closed after this long
 * @param store {@code memory} (default: sessions live in the process that created them) or a
 *     {@code redis://} URL: sessions are kept there too, so any replica serves any request of a session
 */
public record SessionLimits(int max, int perPrincipal, Duration idleTimeout, Duration unusedTimeout, java.util.Optional<java.net.URI> store) {
  static final int DEFAULT_MAX = 10_000;
  static final int DEFAULT_PER_PRINCIPAL = 100;
  static final Duration DEFAULT_IDLE = Duration.ofMinutes(30);
  static final Duration DEFAULT_UNUSED = Duration.ofMinutes(2);

  public SessionLimits(int max, int perPrincipal, Duration idleTimeout, Duration unusedTimeout) {
    this(max, perPrincipal, idleTimeout, unusedTimeout, java.util.Optional.empty());
  }

  public SessionLimits {
    store = store == null ? java.util.Optional.empty() : store;
    if (max < 1 || max > 1_000_000) {
      throw new IllegalArgumentException("max: " + max + " (expected: 1..1000000)");
    }
    if (perPrincipal < 1 || perPrincipal > max) {
      throw new IllegalArgumentException("per_principal: " + perPrincipal + " (expected: 1.." + max + ", at most max)");
    }
    if (idleTimeout == null || idleTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("idle_timeout: " + idleTimeout + " (expected: >= 1s)");
    }
    if (unusedTimeout == null || unusedTimeout.compareTo(Duration.ofSeconds(1)) < 0 || unusedTimeout.compareTo(idleTimeout) > 0) {
      throw new IllegalArgumentException("unused_timeout: " + unusedTimeout + " (expected: >= 1s and <= idle_timeout)");
    }
  }

  /** 10,000 sessions, 100 per caller, closed after 30 minutes idle, or 2 minutes if never used. */
  public static SessionLimits defaults() {
    return new SessionLimits(DEFAULT_MAX, DEFAULT_PER_PRINCIPAL, DEFAULT_IDLE, DEFAULT_UNUSED);
  }

  @JsonCreator
  static SessionLimits fromConfig(@JsonProperty("max") Integer max, @JsonProperty("per_principal") Integer perPrincipal,
      @JsonProperty("idle_timeout") Duration idleTimeout, @JsonProperty("unused_timeout") Duration unusedTimeout,
      @JsonProperty("store") String store) {
    return new SessionLimits(max == null ? DEFAULT_MAX : max, perPrincipal == null ? Math.min(DEFAULT_PER_PRINCIPAL, max == null
        ? DEFAULT_MAX : max) : perPrincipal, idleTimeout == null ? DEFAULT_IDLE : idleTimeout,
        unusedTimeout == null ? (idleTimeout != null && idleTimeout.compareTo(DEFAULT_UNUSED) < 0 ? idleTimeout : DEFAULT_UNUSED)
            : unusedTimeout, LimitsSettings.parseStore(store));
  }
}
