package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.registry.UpstreamConfig;
import dev.gatehouse.registry.UpstreamStatus;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
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

  /**
   * The scenarios of {@code --requirements 2026-07-28} (conformance 0.2.0-alpha, pinned as
   * {@code conformance-next}) that pass through {@code /mcp/<server>} when the client speaks 2026-07-28
   * to the gateway and the gateway 2025-11-25 to this fixture: 27 of the 37 scored and two pending ones.
   * The others call tools of a 2026-07-28 fixture (multi round-trip tools naming their own input keys,
   * task tools): {@link StatelessConformanceTest} runs every scenario against such a fixture.
   */
  static final List<String> STATELESS_PASSING = List.of("server-stateless", "http-custom-header-server-validation", "completion-complete", "tools-list", "tools-call-simple-text",
      "tools-call-image", "tools-call-audio", "tools-call-embedded-resource", "tools-call-mixed-content", "tools-call-error",
      "tools-call-with-progress", "server-sse-multiple-streams", "resources-list", "resources-read-text", "resources-read-binary",
      "resources-templates-read", "sep-2164-resource-not-found", "prompts-list", "prompts-get-simple", "prompts-get-with-args",
      "prompts-get-embedded-resource", "prompts-get-with-image", "dns-rebinding-protection", "caching",
      "input-required-result-missing-input-response", "input-required-result-unsupported-methods",
      "input-required-result-ignore-extra-params", "input-required-result-validate-input", "http-header-validation");

  @Test
  void theStatelessRevisionsRequirementsPassThroughTheGateway() throws Exception {
    String url = gateway.baseUri().resolve("/mcp/fixture").toString();
    Map<String, String> results = statelessSuite(url, "conformance-2026-07-28");
    for (String scenario : STATELESS_PASSING) {
      assertEquals("pass", results.get(scenario), scenario + " through the gateway; results: " + results);
    }
  }

  /**
   * Runs {@code --requirements 2026-07-28} of the pinned 0.2.0-alpha suite against {@code url}: each
   * scenario run (scored or not) mapped to {@code pass} (no failed check, at least one passed) or to
   * {@code fail} and the failed checks.
   */
  static Map<String, String> statelessSuite(String url, String outDir) throws Exception {
    Path out = NodeTooling.ROOT.resolve("mcp-gateway/target").resolve(outDir);
    if (Files.exists(out)) {
      try (Stream<Path> old = Files.walk(out)) {
        old.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
    NodeTooling.Run run = NodeTooling.run(List.of(NodeTooling.NODE.toString(),
        NodeTooling.MODULES.resolve("conformance-next/dist/index.js").toString(), "server", "--url", url,
        "--requirements", "2026-07-28", "--output-dir", out.toString()), NodeTooling.ROOT, Duration.ofMinutes(4));
    Map<String, String> results = new TreeMap<>();
    try (Stream<Path> dirs = Files.list(out)) {
      for (Path d : dirs.filter(Files::isDirectory).toList()) {
        String scenario = d.getFileName().toString().replaceFirst("^server-", "").replaceFirst("-\\d{4}-\\d{2}-\\d{2}T[\\d-]+Z$", "");
        JsonNode checks = Json.MAPPER.readTree(d.resolve("checks.json").toFile());
        List<String> failed = new ArrayList<>();
        int passed = 0;
        for (JsonNode c : checks) {
          switch (c.path("status").asText()) {
            case "SUCCESS" -> passed++;
            case "FAILURE" -> failed.add(c.path("id").asText() + ": " + c.path("errorMessage").asText());
            default -> { }
          }
        }
        results.put(scenario, failed.isEmpty() && passed > 0 ? "pass" : "fail " + failed);
      }
    }
    assertTrue(!results.isEmpty(), "no scenario ran against " + url + ":\n" + run.stdout() + run.stderr());
    return results;
  }

  @Test
  void jsonSchema202012ToolSurvivesTheGatewayUnchanged() throws Exception {
    NodeTooling.Run run = suite("pending", "conformance-pending");
    assertTrue(run.stdout().contains("json-schema-2020-12: 4 passed, 0 failed"), run.stdout() + run.stderr());
  }
}
