package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.gatehouse.registry.Json;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of message the gateway sends a 2026-07-28 client, validated against the revision's own
 * JSON schema (vendored in {@code src/test/resources/mcp-schema}, with its source and commit).
 */
@Timeout(120)
class ModernMcpSchemaTest {
  static final String V = ModernMcp.REVISION;
  @TempDir
  static Path dir;
  static RunningServer conformance;
  static Gateway gateway;
  static JsonNode schema;
  static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

  /** A vendored schema from {@code src/test/resources/mcp-schema}. */
  static JsonNode vendored(String path) throws java.io.IOException {
    try (InputStream in = ModernMcpSchemaTest.class.getResourceAsStream("/mcp-schema/" + path)) {
      return Json.MAPPER.readTree(in);
    }
  }

  @BeforeAll
  static void start() throws Exception {
    schema = vendored("2026-07-28/schema.json");
    conformance = Samples.startConformance("127.0.0.1", 0);
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + samplesYaml("tools", "stdio-tools")
        + "  conf: { transport: streamable-http, url: \"" + conformance.url() + "\" }\naudit: { enabled: false }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("upstreams", Duration.ofSeconds(60), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, conformance);
  }

  /** Fails with every violation unless {@code message} is a valid {@code definition} of the schema. */
  static void assertValid(String definition, JsonNode message) {
    assertValid(schema, definition, message);
  }

  /** The same against another vendored schema, e.g. an extension's. */
  static void assertValid(JsonNode schema, String definition, JsonNode message) {
    assertTrue(schema.path("$defs").has(definition), "no such definition: " + definition);
    ObjectNode root = schema.deepCopy();
    root.put("$ref", "#/$defs/" + definition);
    Schema s = REGISTRY.getSchema(root);
    List<com.networknt.schema.Error> errors = s.validate(message);
    assertTrue(errors.isEmpty(), definition + ": " + errors + "\n" + message);
  }

  static HttpResponse<String> post(String path, String method, String name, String version, String params) {
    return McpHttp.modernAt(version, gateway.baseUri().resolve(path), 1, method, name, params);
  }

  static JsonNode answer(String path, String method, String name, String params) throws Exception {
    HttpResponse<String> r = post(path, method, name, V, params);
    return Json.MAPPER.readTree(r.body());
  }

  @Test
  void resultsMatchTheSchema() throws Exception {
    assertValid("DiscoverResultResponse", answer("/mcp", "server/discover", null, ""));
    assertValid("DiscoverResultResponse", answer("/mcp/conf", "server/discover", null, ""));
    assertValid("ListToolsResultResponse", answer("/mcp", "tools/list", null, ""));
    assertValid("ListToolsResultResponse", answer("/mcp/conf", "tools/list", null, ""));
    assertValid("ListPromptsResultResponse", answer("/mcp", "prompts/list", null, ""));
    assertValid("ListResourcesResultResponse", answer("/mcp", "resources/list", null, ""));
    assertValid("ListResourceTemplatesResultResponse", answer("/mcp", "resources/templates/list", null, ""));
    assertValid("CallToolResultResponse", answer("/mcp", "tools/call", "tools__calc", "\"name\":\"tools__calc\",\"arguments\":{\"expression\":\"6*7\"}"));
    assertValid("CallToolResultResponse", answer("/mcp/conf", "tools/call", "test_image_content", "\"name\":\"test_image_content\",\"arguments\":{}"));
    assertValid("ReadResourceResultResponse", answer("/mcp", "resources/read", "conf+test://static-text", "\"uri\":\"conf+test://static-text\""));
    assertValid("GetPromptResultResponse", answer("/mcp/conf", "prompts/get", "test_simple_prompt", "\"name\":\"test_simple_prompt\""));
    assertValid("CompleteResultResponse", answer("/mcp/conf", "completion/complete", null,
        "\"ref\":{\"type\":\"ref/prompt\",\"name\":\"test_prompt_with_arguments\"},\"argument\":{\"name\":\"arg1\",\"value\":\"a\"}"));
  }

  @Test
  void errorsMatchTheSchema() throws Exception {
    HttpResponse<String> mismatch = post("/mcp", "tools/call", "tools__now", V, "\"name\":\"tools__calc\",\"arguments\":{}");
    assertEquals(400, mismatch.statusCode());
    assertValid("HeaderMismatchError", Json.MAPPER.readTree(mismatch.body()));
    HttpResponse<String> version = post("/mcp", "tools/list", null, "2099-01-01", "");
    assertEquals(400, version.statusCode());
    assertValid("UnsupportedProtocolVersionError", Json.MAPPER.readTree(version.body()));
    HttpResponse<String> ping = post("/mcp", "ping", null, V, "");
    assertEquals(404, ping.statusCode());
    assertValid("JSONRPCErrorResponse", Json.MAPPER.readTree(ping.body()));
    assertValid("JSONRPCErrorResponse", answer("/mcp", "resources/read", "conf+test://nope", "\"uri\":\"conf+test://nope\""));
  }

  @Test
  void multiRoundTripMessagesMatchTheSchema() throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp/conf")).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").header("MCP-Protocol-Version", V).header("Mcp-Method", "tools/call")
        .header("Mcp-Name", "test_elicitation");
    String call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"_meta\":{"
        + "\"io.modelcontextprotocol/protocolVersion\":\"" + V + "\",\"io.modelcontextprotocol/clientCapabilities\":%s},"
        + "\"name\":\"test_elicitation\",\"arguments\":{\"message\":\"hi\"}}}";
    JsonNode interim = Json.MAPPER.readTree(TestUpstreams.send(b.POST(HttpRequest.BodyPublishers.ofString(call.formatted("{\"elicitation\":{}}"))).build()).body());
    assertEquals("input_required", interim.path("result").path("resultType").asText(), interim.toString());
    assertValid("InputRequiredResult", interim.path("result"));
    HttpResponse<String> missing = TestUpstreams.send(b.POST(HttpRequest.BodyPublishers.ofString(call.formatted("{}"))).build());
    assertEquals(400, missing.statusCode());
    assertValid("MissingRequiredClientCapabilityError", Json.MAPPER.readTree(missing.body()));
  }

  @Test
  void theListenAcknowledgmentMatchesTheSchema() throws Exception {
    HttpRequest listen = HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp")).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").header("MCP-Protocol-Version", V).header("Mcp-Method", "subscriptions/listen")
        .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"subscriptions/listen\",\"params\":{\"_meta\":{"
            + "\"io.modelcontextprotocol/protocolVersion\":\"" + V + "\",\"io.modelcontextprotocol/clientCapabilities\":{}},"
            + "\"notifications\":{\"toolsListChanged\":true,\"promptsListChanged\":true}}}"))
        .build();
    HttpResponse<Stream<String>> r = TestUpstreams.HTTP.send(listen, HttpResponse.BodyHandlers.ofLines());
    try (Stream<String> lines = r.body()) {
      Iterator<String> it = lines.iterator();
      while (it.hasNext()) {
        String line = it.next();
        if (line.startsWith("data: ")) {
          JsonNode ack = Json.MAPPER.readTree(line.substring(6));
          assertValid("SubscriptionsAcknowledgedNotification", ack);
          return;
        }
      }
    }
    throw new AssertionError("no acknowledgment");
  }
}
