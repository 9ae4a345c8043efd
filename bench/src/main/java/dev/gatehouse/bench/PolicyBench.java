package dev.gatehouse.bench;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.Action;
import dev.gatehouse.policy.Decision;
import dev.gatehouse.policy.PolicyEngine;
import dev.gatehouse.policy.PolicyRule;
import dev.gatehouse.registry.Json;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The policy decision every call makes ({@code PolicyEngine.decide}) and the visibility check
 * {@code tools/list} makes per tool, through the public API, with rules read from YAML as the gateway
 * reads them. Rule sets: {@code bench} (the load scenarios' two rules: a group-scoped allow with an
 * argument check and a rate limit, and a deny), {@code 30} (the same plus 28 rules for other groups and
 * servers, so matching has to skip them), {@code cel} ({@code bench} plus a rule with a CEL condition
 * over the principal and the arguments).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PolicyBench {
  static final String BENCH_RULES = """
      - id: bench-agents
        when: { groups: [bench] }
        allow: { tools: ["bench__*"], models: ["mock/*"] }
        arguments:
          bench__echo:
            text: { max_length: 4096 }
        limits: { requests_per_minute: 100000000 }
      - id: no-destructive-tools
        deny: { tools: ["*__delete_*", "*__drop_*"] }
      """;

  @Param({"bench", "30", "cel"})
  public String rules;

  private PolicyEngine engine;
  private Principal principal;
  private Action.Tool call;
  private Action.Tool listed;

  @Setup
  public void setup() throws Exception {
    StringBuilder yaml = new StringBuilder(BENCH_RULES);
    if (rules.equals("30")) {
      for (int i = 0; i < 28; i++) {
        yaml.append("- id: team-").append(i).append("\n  when: { groups: [team-").append(i).append("] }\n")
            .append("  allow: { tools: [\"srv").append(i).append("__read_*\", \"srv").append(i).append("__list_*\"] }\n")
            .append("  deny: { tools: [\"srv").append(i).append("__write_*\"] }\n");
      }
    } else if (rules.equals("cel")) {
      yaml.append("""
          - id: cel-guard
            condition: principal.kind == "api_key" && (!has(args.n) || args.n < 1000)
            allow: { servers: [bench] }
          """);
    }
    List<PolicyRule> list = new ObjectMapper(new YAMLFactory()).readValue(yaml.toString(), new TypeReference<List<PolicyRule>>() {});
    engine = PolicyEngine.create(list);
    principal = new Principal("bench-agent", Principal.API_KEY_ISSUER, Optional.empty(), Set.of("bench"), Set.of(), Set.of(), Map.of(),
        Principal.Kind.API_KEY, Optional.of("bench"));
    JsonNode args = Json.MAPPER.readTree("{\"text\":\"hello bench\",\"n\":42}");
    call = new Action.Tool("bench", "bench__echo", args);
    listed = new Action.Tool("bench", "bench__echo");
    if (!(engine.decide(principal, call) instanceof Decision.Allow)) {
      throw new IllegalStateException("the bench principal must be allowed: " + engine.decide(principal, call));
    }
  }

  @Benchmark
  public Decision decide() {
    return engine.decide(principal, call);
  }

  @Benchmark
  public boolean visible() {
    return engine.visible(principal, listed);
  }
}
