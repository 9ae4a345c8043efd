package dev.gatehouse.policy;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Resource URIs as policies see them. A URI can be spelled many ways that mean the same resource
 * ({@code STUB://x}, {@code stub://%78}); a policy written for one spelling must hold for all of them,
 * so the gateway {@link #normalize normalizes} every URI a client sends before policies see it and
 * forwards that form upstream, and refuses the spellings whose meaning depends on the upstream
 * (dot segments, backslashes, encoded separators). What is left to the upstream's reading, an
 * authority written with more or fewer slashes ({@code s://x}, {@code s:/x}, {@code s:///x}), is
 * covered by checking deny patterns against every such {@link #spellings spelling}.
 */
public final class ResourceUris {
  private ResourceUris() {}

  /**
   * The RFC 3986 normal form of {@code uri}: scheme and host in lower case, percent-encoded unreserved
   * characters decoded, the hex digits of other escapes in upper case.
   *
   * @throws IllegalArgumentException saying what is ambiguous: no scheme, a dot segment ({@code .} or
   *     {@code ..}, encoded or not), a backslash, an encoded {@code /} or {@code \} before the query, a
   *     control character or an encoded NUL, a malformed escape
   */
  public static String normalize(String uri) {
    int colon = uri.indexOf(':');
    if (colon <= 0 || !scheme(uri, colon)) {
      throw new IllegalArgumentException("'" + printable(uri) + "' is not an absolute URI (expected: scheme:...)");
    }
    StringBuilder out = new StringBuilder(uri.length());
    out.append(uri.substring(0, colon).toLowerCase(Locale.ROOT)).append(':');
    String rest = decodeUnreserved(uri, colon + 1);
    int pathStart = 0;
    if (rest.startsWith("//")) {
      int end = 2;
      while (end < rest.length() && "/?#".indexOf(rest.charAt(end)) < 0) {
        end++;
      }
      String authority = rest.substring(2, end);
      int at = authority.lastIndexOf('@');
      out.append("//").append(authority, 0, at + 1).append(authority.substring(at + 1).toLowerCase(Locale.ROOT));
      pathStart = end;
    }
    int pathEnd = pathStart;
    while (pathEnd < rest.length() && rest.charAt(pathEnd) != '?' && rest.charAt(pathEnd) != '#') {
      pathEnd++;
    }
    String path = rest.substring(pathStart, pathEnd);
    if (path.contains("%2F") || path.contains("%5C")) {
      throw new IllegalArgumentException("'" + printable(uri) + "' has an encoded '/' or '\\' in its path, which upstreams read differently");
    }
    for (String segment : path.split("/", -1)) {
      if (segment.equals(".") || segment.equals("..")) {
        throw new IllegalArgumentException("'" + printable(uri) + "' has a dot segment ('" + segment + "'), which upstreams resolve differently");
      }
    }
    return out.append(rest, pathStart, rest.length()).toString();
  }

  /**
   * The spellings a lenient upstream may read as the same resource as the federated URI
   * {@code server+scheme:rest}: the same with the authority's slashes as {@code //}, {@code /} and
   * {@code ///}. Deny patterns are matched against each.
   */
  static List<String> spellings(String federatedUri) {
    int plus = federatedUri.indexOf('+');
    int colon = federatedUri.indexOf(':', plus + 1);
    if (colon < 0) {
      return List.of(federatedUri);
    }
    String head = federatedUri.substring(0, colon + 1);
    String rest = federatedUri.substring(colon + 1);
    int slashes = 0;
    while (slashes < rest.length() && rest.charAt(slashes) == '/') {
      slashes++;
    }
    if (slashes == 0) {
      return List.of(federatedUri);
    }
    String tail = rest.substring(slashes);
    Set<String> all = new LinkedHashSet<>();
    all.add(federatedUri);
    all.add(head + "//" + tail);
    all.add(head + "/" + tail);
    all.add(head + "///" + tail);
    return List.copyOf(all);
  }

  private static boolean scheme(String uri, int colon) {
    char first = uri.charAt(0);
    if (!(first >= 'a' && first <= 'z' || first >= 'A' && first <= 'Z')) {
      return false;
    }
    for (int i = 1; i < colon; i++) {
      char c = uri.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
        return false;
      }
    }
    return true;
  }

  /** Decodes {@code %XX} of unreserved characters, upper-cases the hex of the others, refuses what is ambiguous. */
  private static String decodeUnreserved(String uri, int from) {
    StringBuilder b = new StringBuilder(uri.length() - from);
    for (int i = from; i < uri.length(); i++) {
      char c = uri.charAt(i);
      if (c == '\\') {
        throw new IllegalArgumentException("'" + printable(uri) + "' has a backslash, which upstreams read differently");
      }
      if (c < 0x20 || c == 0x7f) {
        throw new IllegalArgumentException("'" + printable(uri) + "' has a control character");
      }
      if (c != '%') {
        b.append(c);
        continue;
      }
      if (i + 2 >= uri.length() || hex(uri.charAt(i + 1)) < 0 || hex(uri.charAt(i + 2)) < 0) {
        throw new IllegalArgumentException("'" + printable(uri) + "' has a malformed percent escape (expected: % and two hex digits)");
      }
      int v = hex(uri.charAt(i + 1)) * 16 + hex(uri.charAt(i + 2));
      if (v == 0) {
        throw new IllegalArgumentException("'" + printable(uri) + "' has an encoded NUL");
      }
      if (v < 0x80 && unreserved((char) v)) {
        b.append((char) v);
      } else {
        b.append('%').append(Character.toUpperCase(uri.charAt(i + 1))).append(Character.toUpperCase(uri.charAt(i + 2)));
      }
      i += 2;
    }
    return b.toString();
  }

  private static boolean unreserved(char c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~';
  }

  private static int hex(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && i < 200; i++) {
      char c = s.charAt(i);
      b.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return s.length() > 200 ? b.append("…").toString() : b.toString();
  }
}
