package dev.gatehouse.gateway;

import java.util.regex.Pattern;

/**
 * Config globs over names and ids: {@code *} any run of characters, {@code ?} one; everything else
 * literal. Each glob is compiled once and cached: the set is bounded by the config.
 */
final class Globs {
  private static final java.util.Map<String, Pattern> CACHE = new java.util.concurrent.ConcurrentHashMap<>();

  private Globs() {}

  static boolean matches(String glob, String value) {
    Pattern p = CACHE.get(glob);
    if (p == null) {
      if (CACHE.size() > 10_000) {
        CACHE.clear(); // only after many reloads with changing globs
      }
      p = CACHE.computeIfAbsent(glob, Globs::compile);
    }
    return p.matcher(value).matches();
  }

  static Pattern compile(String glob) {
    StringBuilder re = new StringBuilder();
    for (char c : glob.toCharArray()) {
      re.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
    }
    return Pattern.compile(re.toString());
  }
}
