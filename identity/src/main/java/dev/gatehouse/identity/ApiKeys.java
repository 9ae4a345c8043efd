package dev.gatehouse.identity;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Gateway API keys: {@code gk_} and 43 base62 characters (256 bits from {@link SecureRandom}). The
 * config stores only {@code sha256:<hex>} of a key; the key itself is shown once, when minted.
 *
 * <p>A plain SHA-256, not a slow password hash, is the right tool here: the keys are random with
 * 256 bits of entropy, so there is nothing to brute-force, and verification stays cheap on the
 * request path. Verification compares digests with {@link MessageDigest#isEqual}, which takes the
 * same time wherever two digests differ.
 */
public final class ApiKeys {
  /** Every gateway key starts with this, so leaked keys are easy to recognise and scan for. */
  public static final String PREFIX = "gk_";
  static final int RANDOM_CHARS = 43;
  static final int MAX_KEY_CHARS = 256;

  private static final char[] BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private ApiKeys() {}

  /**
   * A minted key: the plaintext to hand to its user (shown once, never stored) and the config entry
   * holding its hash.
   *
   * @param key the plaintext key; {@link #toString()} never shows it
   * @param config the entry for {@code identity.api_keys}
   * @param yaml that entry as a YAML list item, ready to paste under {@code identity.api_keys:}
   */
  public record Minted(String key, ApiKeyConfig config, String yaml) {
    @Override
    public String toString() {
      return "Minted[id=" + config.id() + ", key=***]";
    }
  }

  /** A new random key: {@code gk_} and 43 base62 characters. */
  public static String generate() {
    char[] out = new char[RANDOM_CHARS];
    byte[] buf = new byte[64];
    int n = 0;
    while (n < out.length) {
      RANDOM.nextBytes(buf);
      for (int i = 0; i < buf.length && n < out.length; i++) {
        int b = buf[i] & 0xff;
        // 248 = 4 * 62: dropping the top 8 values keeps every character equally likely.
        if (b < 248) {
          out[n++] = BASE62[b % 62];
        }
      }
    }
    return PREFIX + new String(out);
  }

  /** {@code sha256:} and the lowercase hex SHA-256 of the key's UTF-8 bytes. */
  public static String hash(String key) {
    if (key == null || key.isEmpty()) {
      throw new IllegalArgumentException("key: empty (expected: a gateway key such as gk_...)");
    }
    return "sha256:" + HexFormat.of().formatHex(digest(key));
  }

  /** Whether {@code key} hashes to {@code hash}, compared in constant time. */
  public static boolean matches(String key, String hash) {
    if (key == null || hash == null || !ApiKeyConfig.HASH.matcher(hash).matches()) {
      return false;
    }
    return MessageDigest.isEqual(digest(key), HexFormat.of().parseHex(hash, 7, hash.length()));
  }

  /**
   * Mints a key for the {@code keys create} command: a fresh key, its config entry and the YAML to
   * paste. Print {@link Minted#key()} once; it cannot be recovered from the config.
   */
  public static Minted mint(String id, String subject, List<String> groups, List<String> roles, List<String> scopes,
      Optional<String> tenant, Optional<Instant> expires) {
    String key = generate();
    ApiKeyConfig config = new ApiKeyConfig(id, hash(key), subject, groups, roles, scopes, tenant, expires, true);
    return new Minted(key, config, yaml(config));
  }

  /** The entry as a YAML list item; every string is double-quoted so no value can change the structure. */
  static String yaml(ApiKeyConfig k) {
    StringBuilder b = new StringBuilder();
    b.append("- id: ").append(quote(k.id())).append('\n');
    b.append("  hash: ").append(quote(k.hash())).append('\n');
    b.append("  subject: ").append(quote(k.subject())).append('\n');
    b.append("  groups: ").append(list(k.groups())).append('\n');
    b.append("  roles: ").append(list(k.roles())).append('\n');
    b.append("  scopes: ").append(list(k.scopes())).append('\n');
    k.tenant().ifPresent(t -> b.append("  tenant: ").append(quote(t)).append('\n'));
    k.expires().ifPresent(e -> b.append("  expires: ").append(quote(e.toString())).append('\n'));
    b.append("  enabled: ").append(k.enabled()).append('\n');
    return b.toString();
  }

  /** The raw SHA-256 of a key, for comparing with a configured hash. */
  static byte[] digest(String key) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }

  /** Whether the string has a gateway key's shape; says nothing about whether it is configured. */
  static boolean wellFormed(String key) {
    if (!key.startsWith(PREFIX) || key.length() < PREFIX.length() + 32 || key.length() > MAX_KEY_CHARS) {
      return false;
    }
    for (int i = PREFIX.length(); i < key.length(); i++) {
      char c = key.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
        return false;
      }
    }
    return true;
  }

  private static String quote(String s) {
    // A JSON string is a valid YAML double-quoted scalar.
    return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
  }

  private static String list(List<String> values) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < values.size(); i++) {
      b.append(i == 0 ? "" : ", ").append(quote(values.get(i)));
    }
    return b.append(']').toString();
  }
}
