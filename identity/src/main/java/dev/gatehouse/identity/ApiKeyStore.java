package dev.gatehouse.identity;

import dev.gatehouse.identity.AuthResult.Reason;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The configured API keys, checked against a presented key. Immutable, so safe to share. */
final class ApiKeyStore {
  private record Entry(byte[] digest, ApiKeyConfig config) {}

  private final List<Entry> entries;
  private final Clock clock;

  ApiKeyStore(List<ApiKeyConfig> keys, Clock clock) {
    this.entries = keys.stream().map(k -> new Entry(HexFormat.of().parseHex(k.hash(), 7, k.hash().length()), k)).toList();
    this.clock = clock;
  }

  boolean isEmpty() {
    return entries.isEmpty();
  }

  /** The principal for {@code key}, or the reason it is refused. */
  AuthResult authenticate(String key) {
    if (!ApiKeys.wellFormed(key)) {
      return AuthResult.failed(Reason.MALFORMED, "not a well-formed gateway API key (expected: gk_ followed by letters and digits)");
    }
    byte[] presented = ApiKeys.digest(key);
    ApiKeyConfig found = null;
    // Every entry is compared, in constant time, and the loop never exits early: how long a check
    // takes says nothing about which stored hash (if any) is close to the presented key's.
    for (Entry e : entries) {
      if (MessageDigest.isEqual(presented, e.digest()) && found == null) {
        found = e.config();
      }
    }
    if (found == null) {
      return AuthResult.failed(Reason.UNKNOWN_API_KEY, "unknown API key");
    }
    if (!found.enabled()) {
      return AuthResult.failed(Reason.KEY_DISABLED, "API key '" + found.id() + "' is disabled");
    }
    if (found.expires().isPresent() && !clock.instant().isBefore(found.expires().get())) {
      return AuthResult.failed(Reason.KEY_EXPIRED, "API key '" + found.id() + "' expired at " + found.expires().get());
    }
    return new AuthResult.Authenticated(found.principal());
  }
}
