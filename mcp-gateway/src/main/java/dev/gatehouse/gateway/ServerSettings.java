package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The {@code server:} section: where Gatehouse listens and which browsers and Host names it answers.
 *
 * <p>Pattern syntax, checked here and matched by the request pipeline:
 *
 * <ul>
 *   <li>{@code allowedOrigins}: {@code scheme://host[:port]}, compared case-insensitively with the
 *       {@code Origin} header. {@code *} may stand for the whole host or the whole port; a port of
 *       {@code *} also matches an origin without a port, no port matches only an origin without one.
 *       Requests without an {@code Origin} header (non-browser clients) are not affected.
 *   <li>{@code allowedHosts}: {@code host} or {@code host:port} compared with the {@code Host}
 *       header; no port or {@code host:*} means any port; a lone {@code *} allows every Host. IPv6
 *       literals are bracketed, e.g. {@code [::1]}.
 * </ul>
 *
 * <p>{@code toolNameSeparator} joins a server name and a tool name ({@code files__read_file}); it is
 * 1 to 4 characters of {@code _} and {@code -}, so exposed tool names keep to {@code [A-Za-z0-9_-]},
 * the set every MCP client accepts.
 *
 * <p>{@code maxBatchSize} caps the messages of one JSON-RPC batch (protocol 2025-03-26 only);
 * {@code sessions} bounds MCP sessions, in all and per caller (see {@link SessionLimits});
 * {@code readiness} says which upstreams must be connected for {@code /readyz} to answer 200.
 */
public record ServerSettings(
    String host,
    int port,
    List<String> allowedOrigins,
    List<String> allowedHosts,
    long maxRequestBytes,
    String toolNameSeparator,
    Optional<String> publicBaseUrl,
    int maxBatchSize,
    SessionLimits sessions,
    Readiness readiness) {

  /** Which upstreams {@code /readyz} waits for, besides a loaded config and a writable audit store. */
  public enum Readiness {
    /** Every enabled upstream connected (the default). */
    ALL_UPSTREAMS,
    /** At least one enabled upstream connected (or none configured), after every first attempt ended. */
    ANY_UPSTREAM,
    /** Upstreams do not count. */
    NONE;

    @com.fasterxml.jackson.annotation.JsonCreator
    static Readiness parse(String s) {
      for (Readiness r : values()) {
        if (r.name().equalsIgnoreCase(s)) {
          return r;
        }
      }
      throw new IllegalArgumentException("readiness: '" + s + "' (expected: all_upstreams, any_upstream or none)");
    }
  }

  private static final String DEFAULT_HOST = "127.0.0.1";
  private static final int DEFAULT_PORT = 8080;
  private static final List<String> DEFAULT_ORIGINS =
      List.of(
          "http://localhost:*",
          "https://localhost:*",
          "http://127.0.0.1:*",
          "https://127.0.0.1:*",
          "http://[::1]:*",
          "https://[::1]:*");
  private static final List<String> DEFAULT_HOSTS = List.of("localhost", "127.0.0.1", "[::1]");
  private static final long DEFAULT_MAX_REQUEST_BYTES = 4L * 1024 * 1024;
  private static final String DEFAULT_SEPARATOR = "__";
  private static final int DEFAULT_MAX_BATCH_SIZE = 50;
  private static final int MAX_BATCH_SIZE = 10_000;

  // A host is a DNS name, an IPv4 literal or a bracketed IPv6 literal; '*' is handled separately.
  private static final String HOST = "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+])";
  // To listen on, an IPv6 address may also be written without brackets (::1, ::).
  private static final Pattern LISTEN_HOST = Pattern.compile(HOST + "|[0-9A-Fa-f]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*");
  private static final Pattern ORIGIN_PATTERN =
      Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*://(?:\\*|" + HOST + ")(?::(?:\\*|[0-9]{1,5}))?");
  private static final Pattern HOST_PATTERN = Pattern.compile("(?:\\*|" + HOST + ")(?::(?:\\*|[0-9]{1,5}))?");
  private static final Pattern SEPARATOR = Pattern.compile("[_-]{1,4}");

  public ServerSettings {
    if (host == null || !LISTEN_HOST.matcher(host).matches()) {
      throw new IllegalArgumentException(
          "host: '" + host + "' (expected: a host name or IP address to listen on, e.g. 127.0.0.1, 0.0.0.0 or ::)");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0..65535, 0 = any free port)");
    }
    allowedOrigins = checkPatterns("allowed_origins", allowedOrigins, ORIGIN_PATTERN, "scheme://host[:port] with '*' for the host or port, e.g. http://localhost:*");
    allowedHosts = checkPatterns("allowed_hosts", allowedHosts, HOST_PATTERN, "host or host:port with '*' for the host or port, e.g. localhost or *");
    if (maxRequestBytes < 1 || maxRequestBytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "max_request_bytes: " + maxRequestBytes + " (expected: 1.." + Integer.MAX_VALUE + ", e.g. 4194304 for 4 MiB)");
    }
    if (toolNameSeparator == null || !SEPARATOR.matcher(toolNameSeparator).matches()) {
      throw new IllegalArgumentException(
          "tool_name_separator: '" + toolNameSeparator + "' (expected: 1 to 4 characters of '_' and '-', e.g. __)");
    }
    publicBaseUrl = publicBaseUrl == null ? Optional.empty() : publicBaseUrl.map(ServerSettings::checkBaseUrl);
    if (maxBatchSize < 1 || maxBatchSize > MAX_BATCH_SIZE) {
      throw new IllegalArgumentException("max_batch_size: " + maxBatchSize + " (expected: 1.." + MAX_BATCH_SIZE + ")");
    }
    sessions = sessions == null ? SessionLimits.defaults() : sessions;
    readiness = readiness == null ? Readiness.ALL_UPSTREAMS : readiness;
  }

  /** Everything at its default: loopback only, port 8080. */
  public static ServerSettings defaults() {
    return fromConfig(null, null, null, null, null, null, null, null, null, null);
  }

  /**
   * The YAML form: absent or null keys take their defaults. A blank {@code public_base_url} counts as
   * absent, so {@code ${env:PUBLIC_URL:-}} can leave it unset.
   */
  @JsonCreator
  static ServerSettings fromConfig(
      @JsonProperty("host") String host,
      @JsonProperty("port") Integer port,
      @JsonProperty("allowed_origins") List<String> allowedOrigins,
      @JsonProperty("allowed_hosts") List<String> allowedHosts,
      @JsonProperty("max_request_bytes") Long maxRequestBytes,
      @JsonProperty("tool_name_separator") String toolNameSeparator,
      @JsonProperty("public_base_url") String publicBaseUrl,
      @JsonProperty("max_batch_size") Integer maxBatchSize,
      @JsonProperty("sessions") SessionLimits sessions,
      @JsonProperty("readiness") Readiness readiness) {
    return new ServerSettings(
        host == null ? DEFAULT_HOST : host,
        port == null ? DEFAULT_PORT : port,
        allowedOrigins == null ? DEFAULT_ORIGINS : allowedOrigins,
        allowedHosts == null ? DEFAULT_HOSTS : allowedHosts,
        maxRequestBytes == null ? DEFAULT_MAX_REQUEST_BYTES : maxRequestBytes,
        toolNameSeparator == null ? DEFAULT_SEPARATOR : toolNameSeparator,
        publicBaseUrl == null || publicBaseUrl.isBlank() ? Optional.empty() : Optional.of(publicBaseUrl),
        maxBatchSize == null ? DEFAULT_MAX_BATCH_SIZE : maxBatchSize,
        sessions,
        readiness);
  }

  /** These settings listening on another host (the {@code --host} override). */
  public ServerSettings withHost(String host) {
    return new ServerSettings(host, port, allowedOrigins, allowedHosts, maxRequestBytes, toolNameSeparator, publicBaseUrl,
        maxBatchSize, sessions, readiness);
  }

  /** These settings with another request body limit. */
  public ServerSettings withMaxRequestBytes(long maxRequestBytes) {
    return new ServerSettings(host, port, allowedOrigins, allowedHosts, maxRequestBytes, toolNameSeparator, publicBaseUrl,
        maxBatchSize, sessions, readiness);
  }

  /** These settings with other session limits. */
  public ServerSettings withSessions(SessionLimits sessions) {
    return new ServerSettings(host, port, allowedOrigins, allowedHosts, maxRequestBytes, toolNameSeparator, publicBaseUrl,
        maxBatchSize, sessions, readiness);
  }

  /** These settings listening on another port (the {@code --port} override). */
  public ServerSettings withPort(int port) {
    return new ServerSettings(host, port, allowedOrigins, allowedHosts, maxRequestBytes, toolNameSeparator, publicBaseUrl,
        maxBatchSize, sessions, readiness);
  }

  private static List<String> checkPatterns(String field, List<String> patterns, Pattern syntax, String expected) {
    if (patterns == null) {
      throw new IllegalArgumentException(field + ": missing (expected: a list, possibly empty)");
    }
    for (int i = 0; i < patterns.size(); i++) {
      String p = patterns.get(i);
      if (p == null || !syntax.matcher(p).matches() || !portInRange(p)) {
        throw new IllegalArgumentException(field + "[" + i + "]: '" + p + "' (expected: " + expected + ")");
      }
    }
    return List.copyOf(patterns);
  }

  // The patterns allow up to five digits; this rejects the ones above 65535.
  private static boolean portInRange(String pattern) {
    int colon = pattern.lastIndexOf(':');
    if (colon < 0 || pattern.endsWith("]")) {
      return true;
    }
    String port = pattern.substring(colon + 1);
    return port.equals("*") || !port.chars().allMatch(Character::isDigit) || Integer.parseInt(port) <= 65535;
  }

  private static String checkBaseUrl(String url) {
    try {
      URI uri = new URI(url);
      String scheme = uri.getScheme();
      if (scheme != null
          && (scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
          && uri.getHost() != null
          && uri.getRawQuery() == null
          && uri.getRawFragment() == null) {
        return url;
      }
    } catch (URISyntaxException e) {
      // reported below with the same message as any other malformed URL
    }
    throw new IllegalArgumentException(
        "public_base_url: '" + url + "' (expected: an absolute http or https URL without query, e.g. https://gatehouse.example.com)");
  }
}
