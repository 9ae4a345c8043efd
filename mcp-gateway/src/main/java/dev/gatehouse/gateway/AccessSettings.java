package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.gatehouse.identity.Principal;
import java.util.List;
import java.util.Optional;

/**
 * Gateway-level access rules that are not policies: the OAuth scopes every caller of {@code /mcp}
 * and {@code /v1} must hold, who may use the admin API and read the audit trail, and who may see the
 * operational endpoints. YAML section {@code access:}.
 *
 * @param requiredScopes scopes a caller must have (all of them); a token without one is answered
 *     403 {@code insufficient_scope}. API keys are exempt unless they list scopes.
 * @param adminRoles a principal holding any of these roles may use {@code /admin}
 * @param adminGroups a principal in any of these groups may use {@code /admin}
 * @param auditorRoles a principal holding any of these roles (or an admin) may read the audit trail
 * @param auditorGroups a principal in any of these groups (or an admin) may read the audit trail
 * @param publicProbes whether {@code /readyz} shows its details and {@code /metrics} answers without
 *     credentials; unset means yes when identity is not configured and no when it is (then
 *     {@code /readyz} shows only its status to anyone but admins, and {@code /metrics} needs a
 *     credential with a role in {@code metricsRoles} or an admin role)
 * @param metricsRoles a principal holding any of these roles (or an admin) may scrape {@code /metrics}
 */
public record AccessSettings(
    List<String> requiredScopes,
    List<String> adminRoles,
    List<String> adminGroups,
    List<String> auditorRoles,
    List<String> auditorGroups,
    Optional<Boolean> publicProbes,
    List<String> metricsRoles) {

  public AccessSettings {
    requiredScopes = requiredScopes == null ? List.of() : List.copyOf(requiredScopes);
    adminRoles = adminRoles == null ? List.of("gatehouse-admin") : List.copyOf(adminRoles);
    adminGroups = adminGroups == null ? List.of() : List.copyOf(adminGroups);
    auditorRoles = auditorRoles == null ? List.of("gatehouse-auditor") : List.copyOf(auditorRoles);
    auditorGroups = auditorGroups == null ? List.of() : List.copyOf(auditorGroups);
    publicProbes = publicProbes == null ? Optional.empty() : publicProbes;
    metricsRoles = metricsRoles == null ? List.of("gatehouse-metrics") : List.copyOf(metricsRoles);
  }

  @JsonCreator
  static AccessSettings fromConfig(
      @JsonProperty("required_scopes") List<String> requiredScopes,
      @JsonProperty("admin_roles") List<String> adminRoles,
      @JsonProperty("admin_groups") List<String> adminGroups,
      @JsonProperty("auditor_roles") List<String> auditorRoles,
      @JsonProperty("auditor_groups") List<String> auditorGroups,
      @JsonProperty("public_probes") Boolean publicProbes,
      @JsonProperty("metrics_roles") List<String> metricsRoles) {
    return new AccessSettings(requiredScopes, adminRoles, adminGroups, auditorRoles, auditorGroups,
        Optional.ofNullable(publicProbes), metricsRoles);
  }

  public static AccessSettings defaults() {
    return fromConfig(null, null, null, null, null, null, null);
  }

  boolean isAuditor(Principal p) {
    return isAdmin(p) || p.kind() != Principal.Kind.ANONYMOUS
        && (auditorRoles.stream().anyMatch(p.roles()::contains) || auditorGroups.stream().anyMatch(p.groups()::contains));
  }

  /** Whether the probes are open to anyone, given whether identity is configured. */
  boolean probesPublic(boolean identityEnabled) {
    return publicProbes.orElse(!identityEnabled);
  }

  boolean mayScrapeMetrics(Principal p) {
    return isAdmin(p) || p.kind() != Principal.Kind.ANONYMOUS && metricsRoles.stream().anyMatch(p.roles()::contains);
  }

  /** Scopes the principal lacks, in config order; empty if it has them all. */
  List<String> missingScopes(Principal p) {
    if (p.kind() == Principal.Kind.API_KEY && p.scopes().isEmpty()) {
      return List.of();
    }
    return requiredScopes.stream().filter(s -> !p.scopes().contains(s)).toList();
  }

  boolean isAdmin(Principal p) {
    return p.kind() != Principal.Kind.ANONYMOUS
        && (adminRoles.stream().anyMatch(p.roles()::contains) || adminGroups.stream().anyMatch(p.groups()::contains));
  }
}
