package dev.gatehouse.identity;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The {@code identity:} section: which OIDC issuers and gateway API keys are trusted, and whether a
 * request without credentials is let through as {@link Principal#anonymous()}.
 *
 * <p>With nothing configured ({@link #none()}), identity is off and every request is anonymous. Once
 * an issuer or a key is configured, credentials are required unless {@code allow_anonymous} is true;
 * invalid credentials are refused either way.
 *
 * @param issuers trusted OIDC issuers; each {@code issuer} string at most once
 * @param apiKeys gateway API keys (hashes only); each id and hash at most once
 * @param allowAnonymous whether a request with no credentials at all is accepted as anonymous
 */
public record IdentityConfig(List<IssuerConfig> issuers, List<ApiKeyConfig> apiKeys, boolean allowAnonymous) {

  public IdentityConfig {
    issuers = issuers == null ? List.of() : List.copyOf(issuers);
    apiKeys = apiKeys == null ? List.of() : List.copyOf(apiKeys);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < issuers.size(); i++) {
      if (!seen.add(issuers.get(i).issuer())) {
        throw new IllegalArgumentException(
            "issuers[" + i + "].issuer: '" + issuers.get(i).issuer() + "' is configured twice (expected: each issuer once)");
      }
    }
    Set<String> ids = new HashSet<>();
    Set<String> hashes = new HashSet<>();
    for (int i = 0; i < apiKeys.size(); i++) {
      ApiKeyConfig k = apiKeys.get(i);
      if (!ids.add(k.id())) {
        throw new IllegalArgumentException("api_keys[" + i + "].id: '" + k.id() + "' is used twice (expected: unique ids)");
      }
      if (!hashes.add(k.hash())) {
        throw new IllegalArgumentException("api_keys[" + i + "].hash: same hash as another key (expected: one entry per key)");
      }
    }
  }

  /** Nothing configured: identity is off and every caller is anonymous. */
  public static IdentityConfig none() {
    return new IdentityConfig(List.of(), List.of(), false);
  }

  /** The YAML form: absent lists are empty, {@code allow_anonymous} defaults to false. */
  @JsonCreator
  static IdentityConfig fromConfig(
      @JsonProperty("issuers") List<IssuerConfig> issuers,
      @JsonProperty("api_keys") List<ApiKeyConfig> apiKeys,
      @JsonProperty("allow_anonymous") Boolean allowAnonymous) {
    return new IdentityConfig(issuers, apiKeys, allowAnonymous != null && allowAnonymous);
  }

  /** Whether any issuer or API key is configured, i.e. whether credentials are checked at all. */
  public boolean enabled() {
    return !issuers.isEmpty() || !apiKeys.isEmpty();
  }

  /** This config with another {@code issuers}. */
  public IdentityConfig withIssuers(List<IssuerConfig> issuers) {
    return new IdentityConfig(issuers, apiKeys, allowAnonymous);
  }

  /** This config with another {@code api_keys}. */
  public IdentityConfig withApiKeys(List<ApiKeyConfig> apiKeys) {
    return new IdentityConfig(issuers, apiKeys, allowAnonymous);
  }

  /** This config with another {@code allow_anonymous}. */
  public IdentityConfig withAllowAnonymous(boolean allowAnonymous) {
    return new IdentityConfig(issuers, apiKeys, allowAnonymous);
  }
}
