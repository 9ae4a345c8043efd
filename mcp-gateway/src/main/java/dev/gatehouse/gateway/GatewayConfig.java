package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditSettings;
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
    @JsonProperty("agent_mode") List<AgentModeSettings> agentMode,
    @JsonProperty("logging") LogSettings logging,
    @JsonProperty("limits") LimitsSettings limits,
    @JsonProperty("integrity") IntegritySettings integrity,
    @JsonProperty("tracing") TracingSettings tracing,
    @JsonProperty("console") ConsoleSettings console) {

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
    logging = logging == null ? LogSettings.defaults() : logging;
    limits = limits == null ? LimitsSettings.defaults() : limits;
    integrity = integrity == null ? IntegritySettings.defaults() : integrity;
    tracing = tracing == null ? TracingSettings.defaults() : tracing;
    console = console == null ? ConsoleSettings.defaults() : console;
    IdentityConfig trusted = identity;
    console.oidc().ifPresent(o -> {
      if (trusted.issuers().stream().noneMatch(i -> i.issuer().equals(o.issuer()))) {
        throw new IllegalArgumentException("console.oidc.issuer: '" + o.issuer() + "' is not one of identity.issuers (the console's "
            + "tokens are checked like every other caller's)");
      }
    });
    router(providers, aliases, prices); // validates aliases against providers now, with the file's line
    // Compiles every rule (globs, regexes, CEL) now, so a bad policy is a config error with its line.
    PolicyEngine.create(policies);
  }

  /** Built-in defaults: loopback on port 8080, no upstreams, no identity, no policies. */
  public static GatewayConfig defaults() {
    return new GatewayConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
  }

  /** This config with other server settings, e.g. after command-line overrides. */
  public GatewayConfig withServer(ServerSettings server) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode, logging, limits, integrity, tracing, console);
  }

  /** This config with another set of upstreams (in iteration order). */
  public GatewayConfig withUpstreams(Map<String, UpstreamConfig> upstreams) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode, logging, limits, integrity, tracing, console);
  }

  public GatewayConfig withIdentity(IdentityConfig identity) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode, logging, limits, integrity, tracing, console);
  }

  public GatewayConfig withPolicies(List<PolicyRule> policies) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode, logging, limits, integrity, tracing, console);
  }

  public GatewayConfig withAccess(AccessSettings access) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode, logging, limits, integrity, tracing, console);
  }

  public GatewayConfig withAudit(AuditSettings audit) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode, logging, limits, integrity, tracing, console);
  }

  public GatewayConfig withProviders(Map<String, ProviderConfig> providers) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode, logging, limits, integrity, tracing, console);
  }

  public GatewayConfig withAgentMode(List<AgentModeSettings> agentMode) {
    return new GatewayConfig(server, upstreams, identity, policies, access, audit, providers, aliases, prices, agentMode, logging, limits, integrity, tracing, console);
  }

  /**
   * What in this config is valid but almost certainly not meant, in words for a log line: an
   * {@code agent_mode} entry that no policy rule's allowed model calls can reach (no rule id matches its
   * {@code rules}, e.g. {@code none} once policies exist; or the rules it names grant no models).
   */
  public List<String> warnings() {
    List<String> out = new java.util.ArrayList<>();
    for (int i = 0; i < agentMode.size(); i++) {
      AgentModeSettings a = agentMode.get(i);
      if (policies.isEmpty()) {
        if (!a.appliesTo("none")) {
          out.add("agent_mode[" + i + "]: rules " + a.rules().sources() + " match no rule: with no policies every call is "
              + "allowed by the rule id 'none'; this entry is never used");
        }
        continue;
      }
      List<dev.gatehouse.policy.PolicyRule> matching = policies.stream().filter(r -> a.appliesTo(r.id())).toList();
      if (matching.isEmpty()) {
        out.add("agent_mode[" + i + "]: rules " + a.rules().sources() + " match none of the policy rule ids "
            + policies.stream().map(dev.gatehouse.policy.PolicyRule::id).toList()
            + (a.appliesTo("none") ? " ('none' is the rule id only while no policies are configured)" : "")
            + "; this entry is never used");
      } else if (matching.stream().allMatch(r -> r.allow().models().isEmpty())) {
        out.add("agent_mode[" + i + "]: the rules it names " + matching.stream().map(dev.gatehouse.policy.PolicyRule::id).toList()
            + " allow no models (allow.models), so no model call is ever allowed by them; this entry is never used");
      }
    }
    return out;
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
