package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.gatehouse.registry.UpstreamConfig;
import dev.gatehouse.registry.UpstreamStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The conformance suite's 2026-07-28 requirements ({@code @modelcontextprotocol/conformance}
 * 0.2.0-alpha, pinned as {@code conformance-next}) against a fixture that speaks 2026-07-28 natively
 * ({@code node-tests/conformance-2026-fixture.mjs}, on the TypeScript SDK v2 server package): run
 * directly and through {@code /mcp/<server>}, every scenario comes out the same, and every one passes:
 * the 37 scored, the tasks extension's (SEP-2663) and the pending ones. The gateway finds the fixture's
 * revision with {@code server/discover}; nothing is configured.
 */
@Timeout(300)
class StatelessConformanceTest {
  static NodeTooling.Listening fixture;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    fixture = NodeTooling.listening("conformance-2026-fixture.mjs");
    gateway = Gateway.start(TestUpstreams.noAudit()
        .withServer(ServerSettings.defaults().withPort(0))
        .withUpstreams(Map.of("fixture", new UpstreamConfig.StreamableHttp(fixture.url()))), Optional.empty());
    await("fixture connected", Duration.ofSeconds(30),
        () -> gateway.registry().status().stream().allMatch(UpstreamStatus::connected));
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, fixture);
  }

  /** The scenarios the revision's frozen requirements score ({@code server:} in requirements/2026-07-28.yaml). */
  static List<String> scored() throws Exception {
    JsonNode req = new ObjectMapper(new YAMLFactory()).readTree(
        NodeTooling.MODULES.resolve("conformance-next/requirements/2026-07-28.yaml").toFile());
    List<String> scored = new ArrayList<>();
    req.path("server").forEach(s -> scored.add(s.asText()));
    assertTrue(scored.size() >= 37, "the frozen list has 37 server scenarios: " + scored);
    return scored;
  }

  @Test
  void everyScenarioComesOutTheSameThroughTheGatewayAsDirectly() throws Exception {
    assertEquals("2026-07-28", gateway.registry().catalog().server("fixture").orElseThrow().protocolVersion());
    Map<String, String> direct = ConformanceSuiteTest.statelessSuite(fixture.url().toString(), "conformance-2026-direct");
    Map<String, String> through = ConformanceSuiteTest.statelessSuite(
        gateway.baseUri().resolve("/mcp/fixture").toString(), "conformance-2026-gateway");
    for (String scenario : scored()) {
      assertEquals("pass", direct.get(scenario), scenario + " directly: the fixture is incomplete; " + direct);
      assertEquals("pass", through.get(scenario), scenario + " through the gateway; " + through);
    }
    assertEquals(outcomes(direct), outcomes(through), "scored or not, each scenario passes or fails on both paths alike");
    // No scenario the suite runs fails a check, the tasks extension's and the pending ones included
    // (tasks-status-notifications checks nothing when no server sends the optional notifications).
    assertTrue(through.values().stream().allMatch(v -> v.equals("pass") || v.equals("fail []")), "through the gateway: " + through);
    assertEquals("pass", through.get("tasks-lifecycle"), through.toString());
  }

  private static Map<String, Boolean> outcomes(Map<String, String> results) {
    Map<String, Boolean> m = new TreeMap<>();
    results.forEach((k, v) -> m.put(k, v.equals("pass")));
    return m;
  }
}
