package dev.gatehouse.identity;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One gateway API key, as the config stores it: only the key's SHA-256 hash, never the key. The YAML
 * form is an entry under {@code identity.api_keys}; {@link ApiKeys#mint} prints one ready to paste.
 *
 * @param id a short name for the key, shown in logs and audit (never the key itself)
 * @param hash {@code sha256:} and 64 lowercase hex digits, as {@link ApiKeys#hash} returns
 * @param subject the principal's subject
 * @param groups the principal's groups
 * @param roles the principal's roles
 * @param scopes the principal's scopes
 * @param tenant the principal's tenant, if any
 * @param expires when the key stops working, if ever
 * @param enabled whether the key works at all; a disabled key is refused with {@code KEY_DISABLED}
 */
public record ApiKeyConfig(
    String id,
    String hash,
    String subject,
    List<String> groups,
    List<String> roles,
    List<String> scopes,
    Optional<String> tenant,
    Optional<Instant> expires,
    boolean enabled) {

  static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  static final Pattern HASH = Pattern.compile("sha256:[0-9a-f]{64}");

  public ApiKeyConfig {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "id: '" + id + "' (expected: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)");
    }
    if (hash == null) {
      throw new IllegalArgumentException("hash: missing (expected: sha256:<64 hex digits>, as 'gatehouse keys create' prints)");
    }
    hash = hash.strip().toLowerCase(Locale.ROOT);
    if (!HASH.matcher(hash).matches()) {
      // The value is a hash, not a secret, but a pasted plaintext key would land here: never echo it.
      String hint = hash.startsWith("gk_") ? " (this looks like the key itself: store only its hash)" : "";
      throw new IllegalArgumentException("hash: not a sha256 hash" + hint + " (expected: sha256:<64 hex digits>)");
    }
    subject = Checks.required("subject", subject, "the subject the key authenticates as");
    groups = Checks.strings("groups", groups, List.of());
    roles = Checks.strings("roles", roles, List.of());
    scopes = Checks.strings("scopes", scopes, List.of());
    tenant = tenant == null ? Optional.empty() : tenant;
    tenant.ifPresent(t -> Checks.required("tenant", t, "a tenant name, or leave the key out"));
    expires = expires == null ? Optional.empty() : expires;
  }

  /** A key with no groups, roles, scopes, tenant or expiry; enabled. */
  public static ApiKeyConfig of(String id, String hash, String subject) {
    return new ApiKeyConfig(id, hash, subject, List.of(), List.of(), List.of(), Optional.empty(), Optional.empty(), true);
  }

  /**
   * The YAML form. {@code expires} is an ISO-8601 instant such as {@code 2026-01-31T00:00:00Z} (an
   * offset such as {@code +02:00} is accepted too); {@code enabled} defaults to true; lists default to empty.
   */
  @JsonCreator
  static ApiKeyConfig fromConfig(
      @JsonProperty("id") String id,
      @JsonProperty("hash") String hash,
      @JsonProperty("subject") String subject,
      @JsonProperty("groups") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> groups,
      @JsonProperty("roles") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> roles,
      @JsonProperty("scopes") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> scopes,
      @JsonProperty("tenant") String tenant,
      @JsonProperty("expires") String expires,
      @JsonProperty("enabled") Boolean enabled) {
    Optional<Instant> until = Optional.empty();
    if (expires != null && !expires.isBlank()) {
      try {
        until = Optional.of(Instant.parse(expires.strip()));
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("expires: '" + expires + "' (expected: an ISO-8601 instant such as 2026-01-31T00:00:00Z)");
      }
    }
    return new ApiKeyConfig(id, hash, subject, groups, roles, scopes,
        tenant == null || tenant.isBlank() ? Optional.empty() : Optional.of(tenant), until, enabled == null || enabled);
  }

  /** This key with another {@code groups}. */
  public ApiKeyConfig withGroups(List<String> groups) {
    return new ApiKeyConfig(id, hash, subject, groups, roles, scopes, tenant, expires, enabled);
  }

  /** This key with another {@code roles}. */
  public ApiKeyConfig withRoles(List<String> roles) {
    return new ApiKeyConfig(id, hash, subject, groups, roles, scopes, tenant, expires, enabled);
  }

  /** This key with another {@code scopes}. */
  public ApiKeyConfig withScopes(List<String> scopes) {
    return new ApiKeyConfig(id, hash, subject, groups, roles, scopes, tenant, expires, enabled);
  }

  /** This key with another {@code tenant}. */
  public ApiKeyConfig withTenant(String tenant) {
    return new ApiKeyConfig(id, hash, subject, groups, roles, scopes, Optional.of(tenant), expires, enabled);
  }

  /** This key with another {@code expires}. */
  public ApiKeyConfig withExpires(Instant expires) {
    return new ApiKeyConfig(id, hash, subject, groups, roles, scopes, tenant, Optional.of(expires), enabled);
  }

  /** This key with another {@code enabled}. */
  public ApiKeyConfig withEnabled(boolean enabled) {
    return new ApiKeyConfig(id, hash, subject, groups, roles, scopes, tenant, expires, enabled);
  }

  /** The principal this key authenticates as. */
  public Principal principal() {
    return new Principal(subject, Principal.API_KEY_ISSUER, tenant, java.util.Set.copyOf(groups), java.util.Set.copyOf(roles),
        java.util.Set.copyOf(scopes), java.util.Map.of(), Principal.Kind.API_KEY, java.util.Optional.of(id));
  }
}
