package dev.gatehouse.http;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * URLs the gateway itself calls with something to protect (an issuer's keys, a token endpoint with a
 * client secret): https, or plain http only when the config says {@code allow_http: true} and the host is
 * a loopback literal or {@code localhost} (decided without a DNS lookup).
 */
public final class FetchableUrls {
  private FetchableUrls() {}

  /**
   * {@code value} as a URI the gateway may call.
   *
   * @throws IllegalArgumentException naming {@code field} and what is expected
   */
  public static URI check(String field, String value, boolean allowHttp) {
    String expected = allowHttp
        ? "an https URL, or http://localhost / http://127.0.0.1 / http://[::1]"
        : "an https URL (plain http only for a loopback host with allow_http: true)";
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(field + ": '" + value + "' is not a URL (expected: " + expected + ")");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    boolean ok = uri.isAbsolute() && uri.getHost() != null && uri.getRawUserInfo() == null && uri.getRawFragment() == null
        && (scheme.equals("https") || (scheme.equals("http") && allowHttp && isLoopback(uri.getHost())));
    if (!ok) {
      throw new IllegalArgumentException(field + ": '" + value + "' (expected: " + expected + ")");
    }
    return uri;
  }

  /** Whether {@code host} is {@code localhost} or a loopback IP literal (a name is never looked up). */
  public static boolean isLoopback(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (h.equalsIgnoreCase("localhost")) {
      return true;
    }
    boolean literal = h.contains(":") || h.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    if (!literal || h.isEmpty()) {
      return false;
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
