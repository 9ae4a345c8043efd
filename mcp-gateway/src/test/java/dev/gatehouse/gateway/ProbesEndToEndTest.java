package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** /readyz answers 200 only when the gateway can serve, and shows strangers nothing when identity is on. */
@Timeout(120)
class ProbesEndToEndTest {
  static final String ADMIN = ApiKeys.generate();
  @TempDir
  Path dir;

  Gateway start(String yaml) throws Exception {
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server:\n  port: 0\n" + yaml + "audit: { enabled: false }\n");
    return Gateway.start(new ConfigLoader().load(file), Optional.of(file));
  }

  static HttpResponse<String> readyz(Gateway g, String key) {
    HttpRequest.Builder b = HttpRequest.newBuilder(g.baseUri().resolve("/readyz")).GET();
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    return TestUpstreams.send(b.build());
  }

  static JsonNode json(HttpResponse<String> r) throws Exception {
    return Json.MAPPER.readTree(r.body());
  }

  static final String DEAD = "  dead:\n    transport: stdio\n    command: \"" + TestUpstreams.java() + "\"\n"
      + "    args: [\"-version\"]\n    timeouts: { connect: 5s, call: 5s, health: 0s }\n";
  static final String HANGING = "  slow:\n    transport: stdio\n    command: \"" + TestUpstreams.java() + "\"\n"
      + "    args: [\"-cp\", \"" + System.getProperty("java.class.path") + "\", \"dev.gatehouse.samples.Samples\", \"faulty\", \"--hang-on-start\"]\n"
      + "    timeouts: { connect: 60s, call: 5s, health: 0s }\n";

  @Test
  void notReadyWhileAnUpstreamIsDownThenReadyWithReadinessNone() throws Exception {
    try (Gateway g = start("upstreams:\n" + samplesYaml("good", "faulty") + DEAD)) {
      await("good connected", Duration.ofSeconds(30), () -> g.registry().catalog().tool("good__echo").isPresent());
      await("dead failed its first attempt", Duration.ofSeconds(30),
          () -> g.registry().status().stream().anyMatch(s -> s.name().equals("dead") && s.lastError().isPresent()));
      HttpResponse<String> r = readyz(g, null);
      assertEquals(503, r.statusCode(), r.body());
      assertEquals("degraded", json(r).path("status").asText());
      assertEquals(200, TestUpstreams.get(g.baseUri().resolve("/healthz")).statusCode(), "still alive");
    }
    try (Gateway g = start("  readiness: none\nupstreams:\n" + DEAD)) {
      assertEquals(200, readyz(g, null).statusCode());
    }
  }

  @Test
  void startingUntilEveryUpstreamFinishedItsFirstAttempt() throws Exception {
    try (Gateway g = start("  readiness: any_upstream\nupstreams:\n" + samplesYaml("good", "faulty") + HANGING)) {
      await("good connected", Duration.ofSeconds(30), () -> g.registry().catalog().tool("good__echo").isPresent());
      HttpResponse<String> r = readyz(g, null);
      assertEquals(503, r.statusCode(), r.body());
      assertEquals("starting", json(r).path("status").asText());
    }
  }

  @Test
  void withIdentityStrangersSeeOnlyTheStatusAndMetricsNeedACredential() throws Exception {
    String identity = "identity:\n  api_keys:\n    - { id: admin, hash: \"" + ApiKeys.hash(ADMIN) + "\", subject: root, roles: [gatehouse-admin] }\n";
    try (Gateway g = start("upstreams:\n" + samplesYaml("secret-server", "faulty") + identity)) {
      await("ready", Duration.ofSeconds(30), () -> readyz(g, null).statusCode() == 200);
      HttpResponse<String> stranger = readyz(g, null);
      assertEquals("{\"status\":\"ready\"}", stranger.body());
      HttpResponse<String> admin = readyz(g, ADMIN);
      assertTrue(admin.body().contains("secret-server") && admin.body().contains("g.yaml"), admin.body());
      assertEquals(401, TestUpstreams.get(g.baseUri().resolve("/metrics")).statusCode());
      assertEquals(200, TestUpstreams.send(HttpRequest.newBuilder(g.baseUri().resolve("/metrics"))
          .header("Authorization", "Bearer " + ADMIN).GET().build()).statusCode());
    }
    try (Gateway g = start("upstreams:\n" + samplesYaml("open-server", "faulty") + identity + "access: { public_probes: true }\n")) {
      await("ready", Duration.ofSeconds(30), () -> readyz(g, null).statusCode() == 200);
      assertTrue(readyz(g, null).body().contains("open-server"));
      assertEquals(200, TestUpstreams.get(g.baseUri().resolve("/metrics")).statusCode());
    }
  }

  @Test
  void withoutIdentityTheProbesArePublic() throws Exception {
    try (Gateway g = start("upstreams: {}\n")) {
      HttpResponse<String> r = readyz(g, null);
      assertEquals(200, r.statusCode());
      assertTrue(r.body().contains("\"upstreams\""), r.body());
      assertFalse(TestUpstreams.get(g.baseUri().resolve("/metrics")).body().isEmpty());
    }
  }

  @Test
  void theOpenApiDocumentDescribesEveryHttpApi() throws Exception {
    try (Gateway g = start("upstreams: {}\n")) {
      HttpResponse<String> r = TestUpstreams.get(g.baseUri().resolve("/openapi.json"));
      assertEquals(200, r.statusCode());
      JsonNode doc = json(r);
      assertEquals("3.1.0", doc.path("openapi").asText());
      assertFalse(doc.path("info").path("version").asText().contains("${"), "the version is filled in");
      for (String path : java.util.List.of(ChatHandler.COMPLETIONS, ChatHandler.MODELS, ChatHandler.EMBEDDINGS, ChatHandler.MESSAGES,
          ChatHandler.RESPONSES, ChatHandler.RESPONSES + "/{id}", ExecuteHandler.PATH,
          AuditHandler.PREFIX + "chains/{id}", AuditHandler.PREFIX + "steps", AuditHandler.PREFIX + "export",
          AuditHandler.PREFIX + "summary", AuditHandler.PREFIX + "verify", "/admin/config", "/admin/config/reload",
          "/admin/upstreams/{name}/reconnect", "/console/", "/v1/upstreams/{name}/consent", "/oauth/client-metadata.json",
          "/oauth/consent", "/oauth/callback", "/admin/upstreams/{name}/consents",
          "/admin/policy/explain", "/admin/upstreams", "/admin/catalog", "/healthz", "/readyz", "/metrics",
          EdgeAuth.METADATA_PATH, "/openapi.json")) {
        assertTrue(doc.path("paths").has(path), path + " is not documented");
      }
    }
  }
}
