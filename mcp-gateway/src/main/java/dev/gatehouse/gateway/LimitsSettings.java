package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * The {@code limits:} section: where rate limits and daily budgets are counted.
 *
 * <pre>{@code
 * limits:
 *   store: redis://:PASSWORD@redis.internal:6379/0   # default: memory (this process only)
 *   on_unavailable: fail_closed                       # or fail_open
 *   timeout_ms: 250
 * }</pre>
 *
 * @param store {@code memory} (each process counts alone; the default) or a {@code redis://} /
 *     {@code rediss://} URL: every replica pointed at the same Redis shares every limit and budget
 * @param onUnavailable what a call gets when Redis cannot be reached in time: {@code fail_closed}
 *     refuses it (429, saying why), {@code fail_open} counts it in this process alone
 * @param timeout how long a count may take before Redis counts as unreachable
 */
public record LimitsSettings(Optional<URI> store, FailMode onUnavailable, Duration timeout) {

  /** What happens to a call while the shared counters cannot be reached. */
  public enum FailMode {
    FAIL_CLOSED, FAIL_OPEN;

    @JsonCreator
    public static FailMode parse(String s) {
      for (FailMode m : values()) {
        if (m.name().equalsIgnoreCase(s)) {
          return m;
        }
      }
      throw new IllegalArgumentException("on_unavailable: '" + s + "' (expected: fail_closed or fail_open)");
    }

    String wire() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(250);

  public LimitsSettings {
    store = store == null ? Optional.empty() : store;
    onUnavailable = onUnavailable == null ? FailMode.FAIL_CLOSED : onUnavailable;
    timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
    if (timeout.toMillis() < 1 || timeout.toSeconds() > 60) {
      throw new IllegalArgumentException("timeout_ms: " + timeout.toMillis() + " (expected: 1..60000)");
    }
  }

  public static LimitsSettings defaults() {
    return new LimitsSettings(Optional.empty(), null, null);
  }

  @JsonCreator
  static LimitsSettings fromConfig(
      @JsonProperty("store") String store,
      @JsonProperty("on_unavailable") FailMode onUnavailable,
      @JsonProperty("timeout_ms") Integer timeoutMs) {
    return new LimitsSettings(parseStore(store), onUnavailable, timeoutMs == null ? null : Duration.ofMillis(timeoutMs));
  }

  static Optional<URI> parseStore(String store) {
    String expected = "(expected: memory, or redis://[:PASSWORD@]HOST[:PORT][/DB])";
    if (store == null || store.isBlank() || store.strip().equalsIgnoreCase("memory")) {
      return Optional.empty();
    }
    URI uri;
    try {
      uri = new URI(store.strip());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("store: '" + redact(store) + "': " + e.getReason() + " " + expected);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("redis") || scheme.equals("rediss")) || uri.getHost() == null) {
      throw new IllegalArgumentException("store: '" + redact(store) + "' " + expected);
    }
    return Optional.of(uri);
  }

  /** {@code url} without its password, for logs and messages. */
  static String redact(String url) {
    return url == null ? null : url.replaceAll("(//[^/@:]*:)[^/@]*@", "$1***@");
  }

  /** Where counts are kept, for logs: {@code memory} or the Redis URL without its password. */
  String location() {
    return store.map(u -> redact(u.toString())).orElse("memory");
  }

  LimitsSettings withStore(String store) {
    return new LimitsSettings(parseStore(store), onUnavailable, timeout);
  }

  LimitsSettings withOnUnavailable(FailMode mode) {
    return new LimitsSettings(store, mode, timeout);
  }
}
