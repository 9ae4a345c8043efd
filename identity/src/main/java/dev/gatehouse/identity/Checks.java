package dev.gatehouse.identity;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Validation shared by the config records; messages name the field and what was expected. */
final class Checks {
  private Checks() {}

  static String required(String field, String value, String expected) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(field + ": missing (expected: " + expected + ")");
    }
    return value;
  }

  /** A list of non-blank strings, copied; {@code fallback} when absent. */
  static List<String> strings(String field, List<String> values, List<String> fallback) {
    if (values == null) {
      return fallback;
    }
    List<String> out = new ArrayList<>(values.size());
    for (int i = 0; i < values.size(); i++) {
      String v = values.get(i);
      if (v == null || v.isBlank()) {
        throw new IllegalArgumentException(field + "[" + i + "]: blank (expected: a non-empty string)");
      }
      out.add(v);
    }
    return List.copyOf(out);
  }

  static Duration positive(String field, Duration value) {
    if (value == null || value.isZero() || value.isNegative()) {
      throw new IllegalArgumentException(field + ": " + format(value) + " (expected: > 0)");
    }
    return value;
  }

  /** {@code 60s}, {@code 500ms}, {@code 5m}: the form the config file uses. */
  static String format(Duration d) {
    if (d == null) {
      return "missing";
    }
    long ms = d.toMillis();
    if (ms % 3_600_000 == 0 && ms != 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms % 60_000 == 0 && ms != 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  /** An absolute URL the fetcher may call (see {@link dev.gatehouse.http.FetchableUrls#check}). */
  static URI fetchableUrl(String field, String value, boolean allowHttp) {
    return dev.gatehouse.http.FetchableUrls.check(field, value, allowHttp);
  }

  static boolean isLoopback(String host) {
    return dev.gatehouse.http.FetchableUrls.isLoopback(host);
  }
}
