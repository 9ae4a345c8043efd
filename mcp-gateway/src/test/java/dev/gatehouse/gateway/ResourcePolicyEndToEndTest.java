package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A resource deny rule against every respelling of a URI, through a running gateway with a real key and
 * the conformance fixture behind it: equivalent spellings are denied, ambiguous ones refused, and the
 * upstream is sent the normal form.
 */
@Timeout(120)
class ResourcePolicyEndToEndTest {
  static final String KEY = ApiKeys.generate();
  @TempDir
  static Path dir;
  static RunningServer fixture;
  static Gateway gateway;
  static String session;

  @BeforeAll
  static void start() throws Exception {
    fixture = Samples.startConformance("127.0.0.1", 0);
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n  conf: { transport: streamable-http, url: \"" + fixture.url() + "\" }\n"
        + "identity:\n  api_keys:\n    - { id: k, hash: \"" + ApiKeys.hash(KEY) + "\", subject: reader }\n"
        + "policies:\n  - { id: readers, allow: { servers: [conf] }, deny: { resources: [\"conf+test://static-text*\"] } }\n"
        + "audit: { enabled: false }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("fixture connected", Duration.ofSeconds(30), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
    session = McpHttp.session(gateway.baseUri().resolve("/mcp"), McpHttp.bearer(KEY));
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

  static HttpResponse<String> post(String sid, String body) {
    return McpHttp.post(gateway.baseUri().resolve("/mcp"), sid, body, McpHttp.bearer(KEY));
  }

  static JsonNode read(String uri) throws Exception {
    HttpResponse<String> r = post(session, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"resources/read\",\"params\":{\"uri\":"
        + Json.MAPPER.writeValueAsString(uri) + "}}");
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body());
  }

  @Test
  void everyEquivalentSpellingOfADeniedUriIsDenied() throws Exception {
    for (String uri : List.of("conf+test://static-text", "conf+TEST://static-text", "conf+test://%73tatic-text",
        "conf+Test://STATIC-TEXT", "conf+test://static%2Dtext", "conf+test:///static-text", "conf+test:/static-text")) {
      JsonNode answer = read(uri);
      assertEquals(-32003, answer.path("error").path("code").asInt(), uri + " -> " + answer);
      assertTrue(answer.path("error").path("data").path("rule").asText().equals("readers"), answer.toString());
    }
  }

  @Test
  void spellingsAnUpstreamWouldReadItsOwnWayAreRefused() throws Exception {
    for (String uri : List.of("conf+test://static-binary/../static-text", "conf+test://x/%2e%2e/static-text",
        "conf+test://x\\static-text", "conf+test://x/a%2Fb")) {
      JsonNode answer = read(uri);
      assertEquals(-32602, answer.path("error").path("code").asInt(), uri + " -> " + answer);
    }
  }

  @Test
  void theUpstreamIsSentTheNormalForm() throws Exception {
    JsonNode answer = read("conf+TEST://STATIC-%62inary");
    assertTrue(answer.has("result"), answer.toString());
    assertEquals("conf+test://static-binary", answer.path("result").path("contents").path(0).path("uri").asText());
  }
}
