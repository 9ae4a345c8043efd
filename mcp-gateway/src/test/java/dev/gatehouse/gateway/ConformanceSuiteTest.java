package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.registry.UpstreamConfig;
import dev.gatehouse.registry.UpstreamStatus;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The MCP conformance suite (0.1.16) run through the gateway against the samples' conformance
 * fixture behind it. {@code scripts/conformance} reads every scenario's checks.json and fails on any
 * failed check, a missing scenario, or a scenario without checks: the suite's exit code alone is lenient.
 */
@Timeout(300)
class ConformanceSuiteTest {
  static RunningServer fixture;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    fixture = Samples.startConformance("127.0.0.1", 0);
    gateway = Gateway.start(TestUpstreams.noAudit()
        .withServer(ServerSettings.defaults().withPort(0))
        .withUpstreams(Map.of("fixture", new UpstreamConfig.StreamableHttp(fixture.url()))), Optional.empty());
    await("fixture connected", Duration.ofSeconds(30),
        () -> gateway.registry().status().stream().allMatch(UpstreamStatus::connected));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (fixture != null) {
      fixture.close();
    }
  }

  private static NodeTooling.Run suite(String suite, String out) throws Exception {
    String url = gateway.baseUri().resolve("/mcp/fixture").toString();
    Path dir = NodeTooling.ROOT.resolve("mcp-gateway/target").resolve(out);
    return NodeTooling.run(List.of("bash", NodeTooling.ROOT.resolve("scripts/conformance").toString(),
        "--suite", suite, "--out", dir.toString(), url), NodeTooling.ROOT, Duration.ofMinutes(4));
  }

  @Test
  void everyActiveScenarioPassesThroughTheGateway() throws Exception {
    NodeTooling.Run run = suite("active", "conformance");
    assertEquals(0, run.exit(), run.stdout() + run.stderr());
    assertTrue(run.stdout().contains(" 0 failed"), run.stdout());
    assertTrue(run.stdout().contains("tools-call-sampling") && run.stdout().contains("tools-call-elicitation"), run.stdout());
  }

  @Test
  void jsonSchema202012ToolSurvivesTheGatewayUnchanged() throws Exception {
    NodeTooling.Run run = suite("pending", "conformance-pending");
    assertTrue(run.stdout().contains("json-schema-2020-12: 4 passed, 0 failed"), run.stdout() + run.stderr());
  }
}
