package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.audit.LocalServers;
import dev.gatehouse.registry.Json;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Task ids of the 2026-07-28 tasks extension across replicas: with a shared session store every
 * gateway seals them with the same key (kept in Redis), so a task created through one is polled
 * through another; without one, each gateway's key is its own.
 */
@Timeout(120)
class TaskHandlesReplicasTest {
  static final String TASKS = "io.modelcontextprotocol/tasks";
  @TempDir
  static Path dir;
  static LocalServers.Redis redis;
  static NodeTooling.Listening fixture;
  static Gateway shared1;
  static Gateway shared2;
  static Gateway alone;

  static Gateway start(String name, String sessions) throws Exception {
    Path f = dir.resolve(name + ".yaml");
    Files.writeString(f, "server: { port: 0" + sessions + " }\nupstreams:\n"
        + "  jobs: { transport: streamable-http, url: \"" + fixture.url() + "\" }\naudit: { enabled: false }\n");
    Gateway g = Gateway.start(new ConfigLoader().load(f), Optional.of(f));
    await(name + " connected", Duration.ofSeconds(30), () -> g.registry().status().stream().allMatch(s -> s.connected()));
    return g;
  }

  @BeforeAll
  static void startAll() throws Exception {
    NodeTooling.require();
    redis = LocalServers.Redis.start();
    fixture = NodeTooling.listening("conformance-2026-fixture.mjs");
    shared1 = start("shared1", ", sessions: { store: \"" + redis.url() + "\" }");
    shared2 = start("shared2", ", sessions: { store: \"" + redis.url() + "\" }");
    alone = start("alone", "");
  }

  @AfterAll
  static void stopAll() throws Exception {
    TestUpstreams.closeAll(shared1, shared2, alone, fixture, redis);
  }

  static JsonNode post(Gateway g, String method, String name, String params) throws Exception {
    String body = "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"" + method + "\",\"params\":{\"_meta\":{"
        + "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{"
        + "\"extensions\":{\"" + TASKS + "\":{}}}}," + params + "}}";
    HttpResponse<String> r = McpHttp.post(g.baseUri().resolve(URI.create("/mcp")), null, body, "MCP-Protocol-Version", "2026-07-28",
        "Mcp-Method", method, "Mcp-Name", name);
    return Json.MAPPER.readTree(r.body());
  }

  static String create(Gateway g) throws Exception {
    JsonNode created = post(g, "tools/call", "jobs__slow_compute", "\"name\":\"jobs__slow_compute\",\"arguments\":{\"seconds\":0}");
    assertEquals("task", created.path("result").path("resultType").asText(), created.toString());
    return created.path("result").path("taskId").asText();
  }

  @Test
  void aTaskCreatedThroughOneReplicaIsPolledThroughAnother() throws Exception {
    String taskId = create(shared1);
    await("completed through the other replica", Duration.ofSeconds(20), () -> {
      try {
        return post(shared2, "tasks/get", taskId, "\"taskId\":\"" + taskId + "\"").path("result").path("status").asText().equals("completed");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void withoutASharedStoreAnotherGatewayDoesNotKnowTheTask() throws Exception {
    String taskId = create(shared1);
    assertEquals(-32602, post(alone, "tasks/get", taskId, "\"taskId\":\"" + taskId + "\"").path("error").path("code").asInt());
  }
}
