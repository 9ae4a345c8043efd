package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stateless means stateless: two gateway processes with the same config behind a round-robin split
 * serve one 2026-07-28 client's requests alternately, each answering as the other would. (The same
 * client on 2025-11-25 would get "session not found" from the replica that did not see its initialize.)
 */
@Timeout(180)
class StatelessReplicasTest {
  static final String KEY = ApiKeys.generate();
  @TempDir
  Path dir;

  @Test
  void twoReplicasServeOneClientAlternatelyWithoutErrors() throws Exception {
    try (RunningServer conformance = Samples.startConformance("127.0.0.1", 0)) {
      String yaml = "server: { port: 0 }\n"
          + "upstreams:\n  conf: { transport: streamable-http, url: \"" + conformance.url() + "\" }\n"
          + "identity:\n  api_keys:\n    - { id: agent, hash: \"" + ApiKeys.hash(KEY) + "\", subject: agent-1, groups: [agents] }\n"
          + "policies:\n  - id: agents\n    when: { groups: [agents] }\n    allow: { servers: [conf] }\n"
          + "audit: { enabled: false }\n";
      Path a = dir.resolve("a.yaml");
      Path b = dir.resolve("b.yaml");
      Files.writeString(a, yaml);
      Files.writeString(b, yaml);
      try (GatewayProcess first = GatewayProcess.start(a, List.of()); GatewayProcess second = GatewayProcess.start(b, List.of())) {
        first.awaitReady();
        second.awaitReady();
        List<URI> replicas = List.of(first.base.resolve("/mcp"), second.base.resolve("/mcp"));
        String[][] requests = {
            {"server/discover", null, ""},
            {"tools/list", null, ""},
            {"tools/call", "conf__test_simple_text", "\"name\":\"conf__test_simple_text\",\"arguments\":{}"},
            {"resources/list", null, ""},
            {"resources/read", "conf+test://static-text", "\"uri\":\"conf+test://static-text\""},
            {"prompts/list", null, ""},
            {"prompts/get", "conf__test_simple_prompt", "\"name\":\"conf__test_simple_prompt\""},
            {"tools/call", "conf__test_simple_text", "\"name\":\"conf__test_simple_text\",\"arguments\":{}"},
        };
        JsonNode[] lists = new JsonNode[2];
        for (int i = 0; i < requests.length; i++) {
          URI to = replicas.get(i % 2);
          HttpResponse<String> r = post(to, i, requests[i][0], requests[i][1], requests[i][2]);
          assertEquals(200, r.statusCode(), requests[i][0] + " on replica " + (i % 2) + ": " + r.body());
          JsonNode answer = Json.MAPPER.readTree(r.body());
          assertTrue(answer.has("result"), requests[i][0] + " on replica " + (i % 2) + ": " + r.body());
          assertEquals("complete", answer.path("result").path("resultType").asText(), r.body());
          assertTrue(r.headers().firstValue("Mcp-Session-Id").isEmpty());
        }
        // Both replicas list the same tools, in the same order.
        for (int i = 0; i < 2; i++) {
          lists[i] = Json.MAPPER.readTree(post(replicas.get(i), 100 + i, "tools/list", null, "").body()).path("result").path("tools");
        }
        assertEquals(lists[0], lists[1]);
      }
    }
  }

  static HttpResponse<String> post(URI endpoint, int id, String method, String name, String params) {
    return McpHttp.modern(endpoint, id, method, name, params, McpHttp.bearer(KEY));
  }
}
