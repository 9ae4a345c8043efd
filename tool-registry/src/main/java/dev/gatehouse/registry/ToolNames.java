package dev.gatehouse.registry;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Federated names: {@code <server><separator><name>}. They must also be valid OpenAI function names
 * ({@code ^[a-zA-Z0-9_-]{1,64}$}); a name that is not is made valid deterministically: invalid
 * characters become '_', the result is cut to fit, and 8 hex digits of the SHA-256 of the original
 * pair are appended so that distinct originals never meet.
 */
public final class ToolNames {
  public static final int MAX_LENGTH = 64;
  private static final Pattern VALID = Pattern.compile("^[a-zA-Z0-9_-]{1,64}$");
  private static final Pattern INVALID_CHARS = Pattern.compile("[^a-zA-Z0-9_-]");

  private ToolNames() {}

  public static String federated(String server, String separator, String name) {
    String plain = server + separator + name;
    if (VALID.matcher(plain).matches()) {
      return plain;
    }
    String safe = INVALID_CHARS.matcher(plain).replaceAll("_");
    String hash = HexFormat.of().formatHex(sha256(plain), 0, 4);
    int keep = Math.min(safe.length(), MAX_LENGTH - 1 - hash.length());
    return safe.substring(0, keep) + "_" + hash;
  }

  public static boolean valid(String name) {
    return VALID.matcher(name).matches();
  }

  /** The federated form of a resource URI: the server name and '+' before the original. */
  public static String federatedUri(String server, String uri) {
    return server + "+" + uri;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }
}
