package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.gatehouse.identity.Principal;
import java.util.List;

/**
 * Gateway-level access rules that are not policies: the OAuth scopes every caller of {@code /mcp}
 * and {@code /v1} must hold, and who may use the admin API. YAML section {@code access:}.
 *
 * @param requiredScopes scopes a caller must have (all of them); a token without one is answered
 *     403 {@code insufficient_scope}. API keys are exempt unless they list scopes.
 * @param adminRoles a principal holding any of these roles may use {@code /admin}
 * @param adminGroups a principal in any of these groups may use {@code /admin}
 * @param auditorRoles a principal holding any of these roles (or an admin) may read the audit trail
 * @param auditorGroups a principal in any of these groups (or an admin) may read the audit trail
 */
public record AccessSettings(
    @JsonProperty("required_scopes") List<String> requiredScopes,
    @JsonProperty("admin_roles") List<String> adminRoles,
    @JsonProperty("admin_groups") List<String> adminGroups,
    @JsonProperty("auditor_roles") List<String> auditorRoles,
    @JsonProperty("auditor_groups") List<String> auditorGroups) {

  public AccessSettings {
    requiredScopes = requiredScopes == null ? List.of() : List.copyOf(requiredScopes);
    adminRoles = adminRoles == null ? List.of("gatehouse-admin") : List.copyOf(adminRoles);
    adminGroups = adminGroups == null ? List.of() : List.copyOf(adminGroups);
    auditorRoles = auditorRoles == null ? List.of("gatehouse-auditor") : List.copyOf(auditorRoles);
    auditorGroups = auditorGroups == null ? List.of() : List.copyOf(auditorGroups);
  }

  public static AccessSettings defaults() {
    return new AccessSettings(null, null, null, null, null);
  }

  boolean isAuditor(Principal p) {
    return isAdmin(p) || p.kind() != Principal.Kind.ANONYMOUS
        && (auditorRoles.stream().anyMatch(p.roles()::contains) || auditorGroups.stream().anyMatch(p.groups()::contains));
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
