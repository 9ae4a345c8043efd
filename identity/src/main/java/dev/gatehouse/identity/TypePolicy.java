package dev.gatehouse.identity;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.SecurityContext;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which {@code typ} headers an issuer accepts. Used instead of Nimbus' {@code
 * DefaultJOSEObjectTypeVerifier} for two reasons: that class compares types case-sensitively, while
 * RFC 7515 (4.1.9) makes {@code typ} case-insensitive with an optional {@code application/} prefix;
 * and built from an immutable {@code Set.of(..)} it throws a NullPointerException on a token without
 * {@code typ} (its {@code contains(null)}). Here "no typ" is the empty string in a plain set, so the
 * check never sees a null.
 */
final class TypePolicy implements JOSEObjectTypeVerifier<SecurityContext> {
  private final Set<String> accepted;

  TypePolicy(List<String> tokenTypes) {
    Set<String> set = new HashSet<>();
    for (String t : tokenTypes) {
      set.add(normalise(t));
    }
    this.accepted = Set.copyOf(set);
  }

  /** Lowercase, without {@code application/}; "" for an absent or empty typ. */
  static String normalise(String type) {
    if (type == null) {
      return "";
    }
    String t = type.strip().toLowerCase(Locale.ROOT);
    return t.startsWith("application/") ? t.substring("application/".length()) : t;
  }

  boolean accepts(JOSEObjectType type) {
    return accepted.contains(normalise(type == null ? null : type.getType()));
  }

  @Override
  public void verify(JOSEObjectType type, SecurityContext context) throws BadJOSEException {
    if (!accepts(type)) {
      throw new BadJOSEException("JOSE header typ not accepted");
    }
  }
}
