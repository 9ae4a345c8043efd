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
 */
public record AccessSettings(
    @JsonProperty("required_scopes") List<String> requiredScopes,
    @JsonProperty("admin_roles") List<String> adminRoles,
    @JsonProperty("admin_groups") List<String> adminGroups) {

  public AccessSettings {
    requiredScopes = requiredScopes == null ? List.of() : List.copyOf(requiredScopes);
    adminRoles = adminRoles == null ? List.of("gatehouse-admin") : List.copyOf(adminRoles);
    adminGroups = adminGroups == null ? List.of() : List.copyOf(adminGroups);
  }

  public static AccessSettings defaults() {
    return new AccessSettings(null, null, null);
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
