package dev.gatehouse.identity;

import dev.gatehouse.identity.AuthResult.Reason;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Verified claims to a {@link Principal}, by one issuer's {@link IssuerConfig.Claims}. A claim the
 * mapping names that has the wrong shape (a number where strings are expected) refuses the token
 * rather than being skipped: silently dropping a malformed {@code groups} claim could change which
 * policy applies.
 */
final class ClaimMapper {
  private final IssuerConfig.Claims mapping;
  private final String issuer;

  ClaimMapper(IssuerConfig.Claims mapping, String issuer) {
    this.mapping = mapping;
    this.issuer = issuer;
  }

  Principal map(Map<String, Object> rawClaims) throws Rejected {
    Map<String, Object> claims = plainMap(rawClaims);
    String subject = switch (Principal.lookup(claims, mapping.subject()).orElse(null)) {
      case null -> throw new Rejected(Reason.MISSING_CLAIM, "token has no " + mapping.subject() + " claim");
      case String s when !s.isBlank() -> s;
      default -> throw new Rejected(Reason.BAD_CLAIM, "claim " + mapping.subject() + " is not a non-empty string");
    };
    Optional<String> tenant = Optional.empty();
    if (mapping.tenant().isPresent()) {
      String path = mapping.tenant().get();
      tenant = switch (Principal.lookup(claims, path).orElse(null)) {
        case null -> Optional.empty();
        case String s when !s.isBlank() -> Optional.of(s);
        default -> throw new Rejected(Reason.BAD_CLAIM, "claim " + path + " is not a non-empty string");
      };
    }
    Set<String> groups = strings(claims, mapping.groups(), false);
    Set<String> roles = strings(claims, mapping.roles(), false);
    Set<String> scopes = strings(claims, mapping.scopes(), true);
    return new Principal(subject, issuer, tenant, groups, roles, scopes, claims, Principal.Kind.JWT, Optional.empty());
  }

  /** The union of the strings at {@code paths}; scope strings are space-separated lists. */
  private static Set<String> strings(Map<String, Object> claims, List<String> paths, boolean splitSpaces) throws Rejected {
    Set<String> out = new LinkedHashSet<>();
    for (String path : paths) {
      Object value = Principal.lookup(claims, path).orElse(null);
      if (value == null) {
        continue;
      }
      if (value instanceof String s) {
        if (splitSpaces) {
          for (String part : s.split(" ")) {
            if (!part.isEmpty()) {
              out.add(part);
            }
          }
        } else if (!s.isEmpty()) {
          out.add(s);
        }
      } else if (value instanceof List<?> list) {
        for (Object item : list) {
          if (!(item instanceof String s)) {
            throw new Rejected(Reason.BAD_CLAIM, "claim " + path + " is not a string or a list of strings");
          }
          if (!s.isEmpty()) {
            out.add(s);
          }
        }
      } else {
        throw new Rejected(Reason.BAD_CLAIM, "claim " + path + " is not a string or a list of strings");
      }
    }
    return out;
  }

  /**
   * The claims as plain, immutable JSON values (String, Long, Double, Boolean, List, Map). JSON nulls
   * are dropped: {@link Principal} holds no nulls, and a null claim means the same as an absent one.
   */
  static Map<String, Object> plainMap(Map<?, ?> map) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      Object v = plain(e.getValue());
      if (v != null && e.getKey() != null) {
        out.put(e.getKey().toString(), v);
      }
    }
    return Collections.unmodifiableMap(out);
  }

  private static Object plain(Object value) {
    if (value instanceof Map<?, ?> m) {
      return plainMap(m);
    }
    if (value instanceof List<?> list) {
      List<Object> out = new ArrayList<>(list.size());
      for (Object item : list) {
        Object v = plain(item);
        if (v != null) {
          out.add(v);
        }
      }
      return Collections.unmodifiableList(out);
    }
    return value;
  }
}
