package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.gatehouse.identity.IdentityConfig;
import dev.gatehouse.policy.PolicyEngine;
import dev.gatehouse.policy.PolicyRule;
import dev.gatehouse.registry.UpstreamConfig;
import dev.gatehouse.router.ProviderConfig;
import dev.gatehouse.router.RouterConfig;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The whole config file, as {@link ConfigLoader} reads it. Each top-level YAML section is one record
 * component with its snake_case key in {@code @JsonProperty}; an absent section takes its defaults,
 * so a new section is one more component (plus its default in the compact constructor).
 *
 * <p>{@code upstreams} keeps the file's order (it is the order tools are listed in) and its keys are
 * server names, checked with {@link UpstreamConfig#checkName} against the configured separator.
 * Equality is structural, which is what hot reload compares.
 */
public record GatewayConfig(
    @JsonProperty("server") ServerSettings server,
    @JsonProperty("upstreams") Map<String, UpstreamConfig> upstreams,
    @JsonProperty("identity") IdentityConfig identity,
    @JsonProperty("policies") List<PolicyRule> policies,
    @JsonProperty("access") AccessSettings access,
    @JsonProperty("audit") AuditSettings audit,
    @JsonProperty("providers") Map<String, ProviderConfig> providers,
    @JsonProperty("aliases") Map<String, String> aliases,
    @JsonProperty("prices") Map<String, RouterConfig.Price> prices,
    @JsonProperty("agent_mode") List<AgentModeSettings> agentMode) {

  public GatewayConfig {
    server = server == null ? ServerSettings.defaults() : server;
    upstreams = upstreams == null ? Map.of() : checkUpstreams(upstreams, server.toolNameSeparator());
    identity = identity == null ? IdentityConfig.none() : identity;
    policies = policies == null ? List.of() : List.copyOf(policies);
    access = access == null ? AccessSettings.defaults() : access;
    audit = audit == null ? AuditSettings.defaults() : audit;
    providers = providers == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(providers));
    aliases = aliases == null ? Map.of() : Map.copyOf(aliases);
    prices = prices == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(prices));
    agentMode = agentMode == null ? List.of() : List.copyOf(agentMode);
    router(providers, aliases, prices); // validates aliases against providers now, with the file's line
    // Compiles every rule (globs, regexes, CEL) now, so a bad policy is a config error with its line.
    PolicyEngine.create(policies);
  }

  /** Built-in defaults: loopback on port 8080, no upstreams, no identity, no policies. */
  public static GatewayConfig defaults() {
    return new GatewayConfig(null, null, null, null, null, null, null, null, null, null);
  }

  /** This config with other server settings, e.g. after command-line overrides. */
  public GatewayConfig withServer(ServerSettings server) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode);
  }

  /** This config with another set of upstreams (in iteration order). */
  public GatewayConfig withUpstreams(Map<String, UpstreamConfig> upstreams) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode);
  }

  public GatewayConfig withIdentity(IdentityConfig identity) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode);
  }

  public GatewayConfig withPolicies(List<PolicyRule> policies) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode);
  }

  public GatewayConfig withAccess(AccessSettings access) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode);
  }

  public GatewayConfig withAudit(AuditSettings audit) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode);
  }

  public GatewayConfig withProviders(Map<String, ProviderConfig> providers) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode);
  }

  public GatewayConfig withAgentMode(List<AgentModeSettings> agentMode) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode);
  }

  /** The model router's part of the config. */
  public RouterConfig router() {
    return router(providers, aliases, prices);
  }

  private static RouterConfig router(Map<String, ProviderConfig> providers, Map<String, String> aliases,
      Map<String, RouterConfig.Price> prices) {
    return RouterConfig.of(providers).withAliases(aliases).withPrices(prices);
  }

  // Messages start with the entry's path so ConfigLoader can point at the offending key.
  private static Map<String, UpstreamConfig> checkUpstreams(Map<String, UpstreamConfig> upstreams, String separator) {
    Map<String, UpstreamConfig> copy = new LinkedHashMap<>();
    upstreams.forEach(
        (name, upstream) -> {
          try {
            UpstreamConfig.checkName(name, separator);
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("upstreams." + name + ": " + e.getMessage());
          }
          // Tool names are split at the first separator, so a name must not run into it: with
          // separator "--" the name "a-" would make "a---tool" read as server "a".
          if ((name + separator).indexOf(separator) != name.length()) {
            throw new IllegalArgumentException(
                "upstreams." + name + ": upstream name: '" + name + "' runs into the tool-name separator '" + separator
                    + "' (expected: a name whose last characters do not form the separator with it)");
          }
          if (upstream == null) {
            throw new IllegalArgumentException(
                "upstreams." + name + ": no settings (expected: a map with 'transport' and its settings)");
          }
          copy.put(name, upstream);
        });
    return Collections.unmodifiableMap(copy);
  }
}
