package dev.gatehouse.gateway;

import java.net.URI;
import java.util.List;
import java.util.Locale;

/**
 * DNS-rebinding protection and limits at the HTTP edge: which {@code Host} and {@code Origin}
 * values are accepted, how large a request body and a JSON-RPC batch may be, and the session limits.
 *
 * <p>Patterns: {@code *} alone accepts anything; a host pattern is {@code name} or {@code name:port};
 * an origin pattern is {@code scheme://host[:port]} where host or port may be {@code *}.
 */
record HttpPolicy(List<String> allowedHosts, List<String> allowedOrigins, long maxRequestBytes, int maxBatchSize,
    SessionLimits sessions) {

  HttpPolicy {
    allowedHosts = List.copyOf(allowedHosts);
    allowedOrigins = List.copyOf(allowedOrigins);
    if (maxRequestBytes <= 0) {
      throw new IllegalArgumentException("max_request_bytes: " + maxRequestBytes + " (expected: > 0)");
    }
  }

  /** True if the Host header (possibly with a port) is allowed. A missing Host is refused. */
  boolean hostAllowed(String hostHeader) {
    if (hostHeader == null || hostHeader.isBlank()) {
      return false;
    }
    String h = hostHeader.trim().toLowerCase(Locale.ROOT);
    String name = stripPort(h);
    for (String p : allowedHosts) {
      String pat = p.toLowerCase(Locale.ROOT);
      if (pat.equals("*") || pat.equals(h) || pat.equals(name)) {
        return true;
      }
      if (pat.endsWith(":*") && pat.substring(0, pat.length() - 2).equals(name)) {
        return true;
      }
    }
    return false;
  }

  /** True if there is no Origin (non-browser client) or it matches a pattern. */
  boolean originAllowed(String origin) {
    if (origin == null) {
      return true;
    }
    String o = origin.trim().toLowerCase(Locale.ROOT);
    URI u;
    try {
      u = URI.create(o);
    } catch (IllegalArgumentException e) {
      return allowedOrigins.contains("*");
    }
    for (String p : allowedOrigins) {
      String pat = p.toLowerCase(Locale.ROOT);
      if (pat.equals("*") || pat.equals(o)) {
        return true;
      }
      if (u.getScheme() == null || u.getHost() == null) {
        continue;
      }
      int sep = pat.indexOf("://");
      if (sep < 0 || !pat.substring(0, sep).equals(u.getScheme())) {
        continue;
      }
      String rest = pat.substring(sep + 3);
      String patHost = stripPort(rest);
      String patPort = rest.length() > patHost.length() ? rest.substring(patHost.length() + 1) : "";
      String host = u.getHost();
      boolean hostOk = patHost.equals("*") || patHost.equals(host)
          || patHost.startsWith("*.") && host.endsWith(patHost.substring(1));
      int port = u.getPort();
      boolean portOk = patPort.equals("*") || (patPort.isEmpty() ? port == -1 : patPort.equals(String.valueOf(port)));
      if (hostOk && portOk) {
        return true;
      }
    }
    return false;
  }

  private static String stripPort(String hostPort) {
    if (hostPort.startsWith("[")) {
      int end = hostPort.indexOf(']');
      return end < 0 ? hostPort : hostPort.substring(0, end + 1);
    }
    int colon = hostPort.lastIndexOf(':');
    return colon < 0 ? hostPort : hostPort.substring(0, colon);
  }
}
