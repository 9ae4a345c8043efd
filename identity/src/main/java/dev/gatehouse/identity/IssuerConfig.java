package dev.gatehouse.identity;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One trusted OIDC issuer: where its keys come from, which tokens of it are accepted, and how their
 * claims become a {@link Principal}. The YAML form is an entry under {@code identity.issuers}; absent
 * keys take the defaults documented on {@link #fromConfig}.
 *
 * <p>Keys come from the issuer's JWKS: {@code jwks_uri} when given, else discovered from
 * {@code <issuer>/.well-known/openid-configuration} on first use (the discovered {@code issuer} must
 * equal {@link #issuer()} exactly). An issuer with a {@code shared_secret} verifies HMAC tokens
 * (HS256/384/512) with that secret instead and fetches nothing.
 *
 * @param issuer the exact {@code iss} value; compared as a string, trailing slash included
 * @param audience accepted {@code aud} values; a token must name at least one
 * @param jwksUri the JWKS URL, when discovery is not wanted
 * @param algorithms the JWS algorithms accepted; never {@code none}; HS* only with a shared secret
 * @param tokenTypes accepted {@code typ} headers, compared case-insensitively with an optional
 *     {@code application/} prefix; the empty string {@code ""} accepts a token without {@code typ}
 * @param clockSkew tolerance for {@code exp}, {@code nbf} and {@code iat}
 * @param maxTokenBytes tokens longer than this are refused before any parsing or key lookup
 * @param claims how claims map onto the principal
 * @param sharedSecret the HMAC secret for HS* issuers; never printed
 * @param allowHttp whether plain http is allowed for discovery and JWKS; even then only for loopback hosts
 * @param jwksRefresh how often the keys are refreshed, in the background (requests never wait for a refresh)
 * @param jwksMinRefetchInterval rate limit on JWKS fetches: at most two per interval, so a flood of
 *     tokens with unknown {@code kid}s cannot hammer the IdP; also the wait before discovery is retried
 * @param jwksOutageTolerance how long past {@code jwks_refresh} cached keys keep being used while every refresh
 *     fails (the JWKS endpoint down, hanging, or answering errors or garbage)
 */
public record IssuerConfig(
    String issuer,
    List<String> audience,
    Optional<URI> jwksUri,
    List<String> algorithms,
    List<String> tokenTypes,
    Duration clockSkew,
    int maxTokenBytes,
    Claims claims,
    Optional<String> sharedSecret,
    boolean allowHttp,
    Duration jwksRefresh,
    Duration jwksMinRefetchInterval,
    Duration jwksOutageTolerance) {

  /** Asymmetric algorithms any issuer may list (EdDSA and ES256K need extra providers, so they are not offered). */
  static final Set<String> ASYMMETRIC = Set.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512");
  /** HMAC algorithms with the minimum secret length each needs, in bytes. */
  static final Map<String, Integer> HMAC = Map.of("HS256", 32, "HS384", 48, "HS512", 64);

  public static final List<String> DEFAULT_ALGORITHMS = List.of("RS256", "PS256", "ES256");
  public static final List<String> DEFAULT_HMAC_ALGORITHMS = List.of("HS256");
  /** RFC 9068 access tokens. */
  public static final List<String> DEFAULT_TOKEN_TYPES = List.of("at+jwt");
  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);
  public static final int DEFAULT_MAX_TOKEN_BYTES = 16_384;
  public static final Duration DEFAULT_JWKS_REFRESH = Duration.ofMinutes(5);
  public static final Duration DEFAULT_JWKS_MIN_REFETCH_INTERVAL = Duration.ofSeconds(30);
  public static final Duration DEFAULT_JWKS_OUTAGE_TOLERANCE = Duration.ofHours(1);

  private static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(10);
  private static final int MIN_TOKEN_BYTES = 256;
  private static final int MAX_TOKEN_BYTES = 1 << 20;

  public IssuerConfig {
    issuer = Checks.required("issuer", issuer, "the issuer's exact iss value, e.g. https://idp.example.com/realms/acme");
    if (audience == null || audience.isEmpty()) {
      throw new IllegalArgumentException("audience: missing (expected: the audience this gateway's tokens carry, a string or a list)");
    }
    audience = Checks.strings("audience", audience, List.of());
    jwksUri = jwksUri == null ? Optional.empty() : jwksUri;
    sharedSecret = sharedSecret == null ? Optional.empty() : sharedSecret;
    algorithms = checkAlgorithms(algorithms, sharedSecret);
    tokenTypes = checkTokenTypes(tokenTypes);
    if (clockSkew == null || clockSkew.isNegative() || clockSkew.compareTo(MAX_CLOCK_SKEW) > 0) {
      throw new IllegalArgumentException("clock_skew: " + Checks.format(clockSkew) + " (expected: >= 0 and <= 10m)");
    }
    if (maxTokenBytes < MIN_TOKEN_BYTES || maxTokenBytes > MAX_TOKEN_BYTES) {
      throw new IllegalArgumentException(
          "max_token_bytes: " + maxTokenBytes + " (expected: " + MIN_TOKEN_BYTES + ".." + MAX_TOKEN_BYTES + ")");
    }
    if (claims == null) {
      throw new IllegalArgumentException("claims: missing (expected: a claim mapping, or leave the key out for the defaults)");
    }
    Checks.positive("jwks_refresh", jwksRefresh);
    Checks.positive("jwks_min_refetch_interval", jwksMinRefetchInterval);
    Checks.positive("jwks_outage_tolerance", jwksOutageTolerance);
    if (jwksRefresh.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("jwks_refresh: " + Checks.format(jwksRefresh) + " (expected: >= 1s)");
    }
    if (jwksMinRefetchInterval.compareTo(jwksRefresh) >= 0) {
      throw new IllegalArgumentException("jwks_min_refetch_interval: " + Checks.format(jwksMinRefetchInterval)
          + " (expected: < jwks_refresh, " + Checks.format(jwksRefresh) + ")");
    }
    if (sharedSecret.isPresent()) {
      if (jwksUri.isPresent()) {
        throw new IllegalArgumentException("jwks_uri: set together with shared_secret (expected: one of them)");
      }
      int bytes = sharedSecret.get().getBytes(StandardCharsets.UTF_8).length;
      for (String alg : algorithms) {
        int needed = HMAC.get(alg);
        if (bytes < needed) {
          throw new IllegalArgumentException(
              "shared_secret: " + bytes + " bytes (expected: >= " + needed + " bytes for " + alg + ")");
        }
      }
    } else if (jwksUri.isPresent()) {
      Checks.fetchableUrl("jwks_uri", jwksUri.get().toString(), allowHttp);
    } else {
      // Discovery derives the URL from the issuer, so then the issuer must be fetchable itself.
      Checks.fetchableUrl("issuer", issuer, allowHttp);
    }
  }

  /** An issuer with every default: discovery, RS256/PS256/ES256, {@code typ: at+jwt}, 60 s skew. */
  public static IssuerConfig of(String issuer, String audience) {
    return of(issuer, audience, false);
  }

  /**
   * An issuer with every default, and plain http allowed or not; even when allowed, only for a
   * loopback issuer (a test or a sidecar IdP).
   */
  public static IssuerConfig of(String issuer, String audience, boolean allowHttp) {
    return fromConfig(issuer, audience == null ? null : List.of(audience), null, null, null, null, null, null, null, allowHttp,
        null, null, null);
  }

  /**
   * The YAML form. Absent keys take their defaults: {@code algorithms} [RS256, PS256, ES256] ([HS256]
   * with a {@code shared_secret}), {@code token_types} [at+jwt], {@code clock_skew} 60s,
   * {@code max_token_bytes} 16384, {@code allow_http} false, {@code jwks_refresh} 5m,
   * {@code jwks_min_refetch_interval} 30s, {@code jwks_outage_tolerance} 1h, and the claim mapping of
   * {@link Claims#defaults()}.
   */
  @JsonCreator
  static IssuerConfig fromConfig(
      @JsonProperty("issuer") String issuer,
      @JsonProperty("audience") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> audience,
      @JsonProperty("jwks_uri") String jwksUri,
      @JsonProperty("algorithms") List<String> algorithms,
      @JsonProperty("token_types") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> tokenTypes,
      @JsonProperty("clock_skew") Duration clockSkew,
      @JsonProperty("max_token_bytes") Integer maxTokenBytes,
      @JsonProperty("claims") Claims claims,
      @JsonProperty("shared_secret") String sharedSecret,
      @JsonProperty("allow_http") Boolean allowHttp,
      @JsonProperty("jwks_refresh") Duration jwksRefresh,
      @JsonProperty("jwks_min_refetch_interval") Duration jwksMinRefetchInterval,
      @JsonProperty("jwks_outage_tolerance") Duration jwksOutageTolerance) {
    boolean http = allowHttp != null && allowHttp;
    Optional<String> secret = sharedSecret == null || sharedSecret.isEmpty() ? Optional.empty() : Optional.of(sharedSecret);
    Optional<URI> jwks = Optional.empty();
    if (jwksUri != null && !jwksUri.isBlank()) {
      jwks = Optional.of(Checks.fetchableUrl("jwks_uri", jwksUri, http));
    }
    return new IssuerConfig(
        issuer,
        audience,
        jwks,
        algorithms == null ? (secret.isPresent() ? DEFAULT_HMAC_ALGORITHMS : DEFAULT_ALGORITHMS) : algorithms,
        tokenTypes == null ? DEFAULT_TOKEN_TYPES : tokenTypes,
        clockSkew == null ? DEFAULT_CLOCK_SKEW : clockSkew,
        maxTokenBytes == null ? DEFAULT_MAX_TOKEN_BYTES : maxTokenBytes,
        claims == null ? Claims.defaults() : claims,
        secret,
        http,
        jwksRefresh == null ? DEFAULT_JWKS_REFRESH : jwksRefresh,
        jwksMinRefetchInterval == null ? DEFAULT_JWKS_MIN_REFETCH_INTERVAL : jwksMinRefetchInterval,
        jwksOutageTolerance == null ? DEFAULT_JWKS_OUTAGE_TOLERANCE : jwksOutageTolerance);
  }

  /** Whether tokens are verified with the shared secret rather than a JWKS. */
  public boolean hmac() {
    return sharedSecret.isPresent();
  }

  /** This issuer with another {@code audience}. */
  public IssuerConfig withAudience(List<String> audience) {
    return new IssuerConfig(issuer, audience, jwksUri, algorithms, tokenTypes, clockSkew, maxTokenBytes, claims, sharedSecret,
        allowHttp, jwksRefresh, jwksMinRefetchInterval, jwksOutageTolerance);
  }

  /** This issuer with another {@code jwks_uri}. */
  public IssuerConfig withJwksUri(URI jwksUri) {
    return new IssuerConfig(issuer, audience, Optional.of(jwksUri), algorithms, tokenTypes, clockSkew, maxTokenBytes, claims,
        sharedSecret, allowHttp, jwksRefresh, jwksMinRefetchInterval, jwksOutageTolerance);
  }

  /** This issuer with another {@code algorithms}. */
  public IssuerConfig withAlgorithms(List<String> algorithms) {
    return new IssuerConfig(issuer, audience, jwksUri, algorithms, tokenTypes, clockSkew, maxTokenBytes, claims, sharedSecret,
        allowHttp, jwksRefresh, jwksMinRefetchInterval, jwksOutageTolerance);
  }

  /** This issuer with another {@code token_types}. */
  public IssuerConfig withTokenTypes(List<String> tokenTypes) {
    return new IssuerConfig(issuer, audience, jwksUri, algorithms, tokenTypes, clockSkew, maxTokenBytes, claims, sharedSecret,
        allowHttp, jwksRefresh, jwksMinRefetchInterval, jwksOutageTolerance);
  }

  /** This issuer with another {@code clock_skew}. */
  public IssuerConfig withClockSkew(Duration clockSkew) {
    return new IssuerConfig(issuer, audience, jwksUri, algorithms, tokenTypes, clockSkew, maxTokenBytes, claims, sharedSecret,
        allowHttp, jwksRefresh, jwksMinRefetchInterval, jwksOutageTolerance);
  }

  /** This issuer with another {@code max_token_bytes}. */
  public IssuerConfig withMaxTokenBytes(int maxTokenBytes) {
    return new IssuerConfig(issuer, audience, jwksUri, algorithms, tokenTypes, clockSkew, maxTokenBytes, claims, sharedSecret,
        allowHttp, jwksRefresh, jwksMinRefetchInterval, jwksOutageTolerance);
  }

  /** This issuer with another {@code claims}. */
  public IssuerConfig withClaims(Claims claims) {
    return new IssuerConfig(issuer, audience, jwksUri, algorithms, tokenTypes, clockSkew, maxTokenBytes, claims, sharedSecret,
        allowHttp, jwksRefresh, jwksMinRefetchInterval, jwksOutageTolerance);
  }

  /** This issuer verifying HMAC tokens with {@code secret}: algorithms become [HS256] and no JWKS is used. */
  public IssuerConfig withSharedSecret(String secret) {
    return new IssuerConfig(issuer, audience, Optional.empty(), DEFAULT_HMAC_ALGORITHMS, tokenTypes, clockSkew, maxTokenBytes,
        claims, Optional.of(secret), allowHttp, jwksRefresh, jwksMinRefetchInterval, jwksOutageTolerance);
  }

  /** This issuer with another {@code allow_http}. */
  public IssuerConfig withAllowHttp(boolean allowHttp) {
    return new IssuerConfig(issuer, audience, jwksUri, algorithms, tokenTypes, clockSkew, maxTokenBytes, claims, sharedSecret,
        allowHttp, jwksRefresh, jwksMinRefetchInterval, jwksOutageTolerance);
  }

  /** This issuer with other JWKS cache timings (see the record's parameters). */
  public IssuerConfig withJwksTimings(Duration refresh, Duration minRefetchInterval, Duration outageTolerance) {
    return new IssuerConfig(issuer, audience, jwksUri, algorithms, tokenTypes, clockSkew, maxTokenBytes, claims, sharedSecret,
        allowHttp, refresh, minRefetchInterval, outageTolerance);
  }

  /** Like the record's, but the shared secret is never shown. */
  @Override
  public String toString() {
    return "IssuerConfig[issuer=" + issuer + ", audience=" + audience + ", jwksUri=" + jwksUri.map(URI::toString).orElse("(discovery)")
        + ", algorithms=" + algorithms + ", tokenTypes=" + tokenTypes + ", clockSkew=" + Checks.format(clockSkew)
        + ", maxTokenBytes=" + maxTokenBytes + ", claims=" + claims + ", sharedSecret=" + (sharedSecret.isPresent() ? "***" : "none")
        + ", allowHttp=" + allowHttp + ", jwksRefresh=" + Checks.format(jwksRefresh) + ", jwksMinRefetchInterval="
        + Checks.format(jwksMinRefetchInterval) + ", jwksOutageTolerance=" + Checks.format(jwksOutageTolerance) + "]";
  }

  private static List<String> checkAlgorithms(List<String> algorithms, Optional<String> secret) {
    if (algorithms == null || algorithms.isEmpty()) {
      throw new IllegalArgumentException("algorithms: empty (expected: e.g. [RS256, PS256, ES256])");
    }
    Set<String> out = new LinkedHashSet<>();
    for (int i = 0; i < algorithms.size(); i++) {
      String alg = algorithms.get(i);
      String field = "algorithms[" + i + "]";
      if (alg == null || alg.isBlank()) {
        throw new IllegalArgumentException(field + ": blank (expected: an algorithm name such as RS256)");
      }
      if (alg.strip().equalsIgnoreCase("none")) {
        throw new IllegalArgumentException(field + ": '" + alg + "' (expected: a signing algorithm; unsigned tokens are never accepted)");
      }
      if (HMAC.containsKey(alg)) {
        if (secret.isEmpty()) {
          throw new IllegalArgumentException(field + ": '" + alg
              + "' needs a shared_secret (expected: an asymmetric algorithm such as RS256, PS256 or ES256)");
        }
      } else if (ASYMMETRIC.contains(alg)) {
        if (secret.isPresent()) {
          throw new IllegalArgumentException(field + ": '" + alg
              + "' with a shared_secret (expected: only HS256, HS384 or HS512 for an issuer with a shared secret)");
        }
      } else {
        String upper = alg.toUpperCase(Locale.ROOT);
        String hint = ASYMMETRIC.contains(upper) || HMAC.containsKey(upper) ? " (did you mean " + upper + "?)" : "";
        throw new IllegalArgumentException(field + ": '" + alg + "'" + hint
            + " (expected one of: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, or HS256/HS384/HS512 with a shared_secret)");
      }
      out.add(alg);
    }
    return List.copyOf(out);
  }

  private static List<String> checkTokenTypes(List<String> types) {
    if (types == null || types.isEmpty()) {
      throw new IllegalArgumentException("token_types: empty (expected: e.g. [at+jwt], or [at+jwt, JWT] for IdPs that send JWT)");
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < types.size(); i++) {
      String t = types.get(i);
      if (t == null) {
        throw new IllegalArgumentException("token_types[" + i + "]: null (expected: a typ value, or \"\" for tokens without typ)");
      }
      String normal = TypePolicy.normalise(t);
      if (normal.equals("none")) {
        // "none" reads like "no typ", but a token could carry typ "none"; "" is the spelling for absent.
        throw new IllegalArgumentException("token_types[" + i + "]: 'none' (expected: \"\" to accept tokens without a typ header)");
      }
      if (!out.contains(t)) {
        out.add(t);
      }
    }
    return List.copyOf(out);
  }

  /**
   * How claims become the principal's fields. Paths are dotted ({@code realm_access.roles}); a
   * literal key containing dots (Auth0's {@code https://example.com/groups}) is matched first. A value
   * may be a string or an array of strings; scope values that are strings are split on spaces.
   *
   * @param subject the claim holding the subject, required in every token
   * @param tenant the claim holding the tenant, if any
   * @param groups claims holding group names, merged
   * @param roles claims holding role names, merged
   * @param scopes claims holding scopes, merged
   */
  public record Claims(String subject, Optional<String> tenant, List<String> groups, List<String> roles, List<String> scopes) {
    public static final List<String> DEFAULT_GROUPS = List.of("groups");
    public static final List<String> DEFAULT_ROLES = List.of("roles");
    public static final List<String> DEFAULT_SCOPES = List.of("scope", "scp");

    public Claims {
      subject = Checks.required("claims.subject", subject, "a claim path such as sub");
      tenant = tenant == null ? Optional.empty() : tenant;
      tenant.ifPresent(t -> Checks.required("claims.tenant", t, "a claim path such as tid, or leave the key out"));
      groups = Checks.strings("claims.groups", groups, List.of());
      roles = Checks.strings("claims.roles", roles, List.of());
      scopes = Checks.strings("claims.scopes", scopes, List.of());
    }

    /** {@code sub}; no tenant; groups from {@code groups}; roles from {@code roles}; scopes from {@code scope} and {@code scp}. */
    public static Claims defaults() {
      return new Claims("sub", Optional.empty(), DEFAULT_GROUPS, DEFAULT_ROLES, DEFAULT_SCOPES);
    }

    /** The YAML form; absent keys take the defaults, and a single path may stand for a list of one. */
    @JsonCreator
    static Claims fromConfig(
        @JsonProperty("subject") String subject,
        @JsonProperty("tenant") String tenant,
        @JsonProperty("groups") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> groups,
        @JsonProperty("roles") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> roles,
        @JsonProperty("scopes") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> scopes) {
      return new Claims(
          subject == null ? "sub" : subject,
          tenant == null || tenant.isBlank() ? Optional.empty() : Optional.of(tenant),
          groups == null ? DEFAULT_GROUPS : groups,
          roles == null ? DEFAULT_ROLES : roles,
          scopes == null ? DEFAULT_SCOPES : scopes);
    }

    /** This mapping with another {@code subject}. */
    public Claims withSubject(String subject) {
      return new Claims(subject, tenant, groups, roles, scopes);
    }

    /** This mapping with another {@code tenant}. */
    public Claims withTenant(String tenant) {
      return new Claims(subject, Optional.of(tenant), groups, roles, scopes);
    }

    /** This mapping with another {@code groups}. */
    public Claims withGroups(List<String> groups) {
      return new Claims(subject, tenant, groups, roles, scopes);
    }

    /** This mapping with another {@code roles}. */
    public Claims withRoles(List<String> roles) {
      return new Claims(subject, tenant, groups, roles, scopes);
    }

    /** This mapping with another {@code scopes}. */
    public Claims withScopes(List<String> scopes) {
      return new Claims(subject, tenant, groups, roles, scopes);
    }
  }
}
