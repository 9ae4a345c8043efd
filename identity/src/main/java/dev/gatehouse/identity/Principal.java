package dev.gatehouse.identity;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Who is calling, as the gateway decides about it: the one shape a verified OIDC access token and a
 * gateway API key both become. Immutable.
 *
 * @param subject the token's subject (or the API key's configured subject)
 * @param issuer the token's issuer, or {@code "gatehouse:api-key"} / {@code "gatehouse:anonymous"}
 * @param tenant the tenant, when the issuer's claim mapping (or the key) names one
 * @param groups group names from the configured groups claim path(s)
 * @param roles role names from the configured roles claim path(s)
 * @param scopes OAuth scopes ({@code scope} string or {@code scp} array)
 * @param claims every claim of the token as plain JSON values (String, Number, Boolean, List, Map);
 *     empty for API keys and anonymous callers
 * @param kind how the caller authenticated
 * @param keyId the API key's id, for {@link Kind#API_KEY}
 * @param accessToken the validated access token a JWT caller presented: kept only so that the gateway
 *     can exchange it (RFC 8693) for a token toward an upstream that acts as the user; never sent to an
 *     upstream, never shown, and not part of a principal's identity (equality ignores it)
 */
public record Principal(
    String subject,
    String issuer,
    Optional<String> tenant,
    Set<String> groups,
    Set<String> roles,
    Set<String> scopes,
    Map<String, Object> claims,
    Kind kind,
    Optional<String> keyId,
    @com.fasterxml.jackson.annotation.JsonIgnore Optional<AccessToken> accessToken) {

  /** How a principal authenticated. */
  public enum Kind { JWT, API_KEY, ANONYMOUS }

  public static final String API_KEY_ISSUER = "gatehouse:api-key";
  public static final String ANONYMOUS_ISSUER = "gatehouse:anonymous";

  public Principal {
    if (subject == null || subject.isBlank()) {
      throw new IllegalArgumentException("subject: must not be blank");
    }
    if (issuer == null || issuer.isBlank()) {
      throw new IllegalArgumentException("issuer: must not be blank");
    }
    tenant = tenant == null ? Optional.empty() : tenant;
    groups = groups == null ? Set.of() : Set.copyOf(groups);
    roles = roles == null ? Set.of() : Set.copyOf(roles);
    scopes = scopes == null ? Set.of() : Set.copyOf(scopes);
    claims = claims == null ? Map.of() : Map.copyOf(claims);
    keyId = keyId == null ? Optional.empty() : keyId;
    accessToken = accessToken == null ? Optional.empty() : accessToken;
  }

  /** A principal without an access token to exchange (API keys, anonymous, restored sessions, tests). */
  public Principal(String subject, String issuer, Optional<String> tenant, Set<String> groups, Set<String> roles, Set<String> scopes,
      Map<String, Object> claims, Kind kind, Optional<String> keyId) {
    this(subject, issuer, tenant, groups, roles, scopes, claims, kind, keyId, Optional.empty());
  }

  /** This principal with the access token it presented. */
  public Principal withAccessToken(String token) {
    return new Principal(subject, issuer, tenant, groups, roles, scopes, claims, kind, keyId, Optional.of(new AccessToken(token)));
  }

  /**
   * A presented access token. Its value is read only to exchange it; it prints as {@code ***}, and all
   * of them are equal, so that a principal is who called, not with which token.
   */
  public static final class AccessToken {
    private final String value;

    AccessToken(String value) {
      this.value = java.util.Objects.requireNonNull(value, "value");
    }

    public String value() {
      return value;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof AccessToken;
    }

    @Override
    public int hashCode() {
      return 0;
    }

    @Override
    public String toString() {
      return "AccessToken[***]";
    }
  }

  /** The caller when identity is not configured, or anonymous access is explicitly allowed. */
  public static Principal anonymous() {
    return new Principal("anonymous", ANONYMOUS_ISSUER, Optional.empty(), Set.of(), Set.of(), Set.of(), Map.of(),
        Kind.ANONYMOUS, Optional.empty());
  }

  /**
   * The claim at a dotted path ({@code realm_access.roles}), if present. Path segments walk nested
   * JSON objects; a literal key containing dots is tried first at each level.
   */
  public Optional<Object> claim(String path) {
    return lookup(claims, path);
  }

  static Optional<Object> lookup(Map<String, Object> map, String path) {
    if (map.containsKey(path)) {
      return Optional.ofNullable(map.get(path));
    }
    int dot = path.indexOf('.');
    while (dot > 0) {
      Object head = map.get(path.substring(0, dot));
      if (head instanceof Map<?, ?> nested) {
        @SuppressWarnings("unchecked")
        Map<String, Object> next = (Map<String, Object>) nested;
        Optional<Object> found = lookup(next, path.substring(dot + 1));
        if (found.isPresent()) {
          return found;
        }
      }
      dot = path.indexOf('.', dot + 1);
    }
    return Optional.empty();
  }

  /** A short description for logs and audit: never the token, never claim values beyond these. */
  @Override
  public String toString() {
    return kind.name().toLowerCase() + ":" + subject + "@" + issuer + tenant.map(t -> " tenant=" + t).orElse("")
        + (groups.isEmpty() ? "" : " groups=" + List.copyOf(groups));
  }
}
