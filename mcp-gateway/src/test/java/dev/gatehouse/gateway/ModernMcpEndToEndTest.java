package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * MCP 2026-07-28 at {@code /mcp} and {@code /mcp/<server>}, beside the session-based revisions: no
 * initialize and no session, headers checked against bodies (refusals recorded, nothing forwarded),
 * the same policies and audit as every other door, and {@code subscriptions/listen}.
 */
@Timeout(120)
class ModernMcpEndToEndTest {
  static final String AGENT = ApiKeys.generate();
  static final String AUDITOR = ApiKeys.generate();
  static final String V = "2026-07-28";
  @TempDir
  static Path dir;
  static RunningServer conformance;
  static Gateway gateway;
  static Path file;

  static String config(String deny) {
    return "server: { port: 0 }\nupstreams:\n" + samplesYaml("tools", "stdio-tools")
        + "  conf: { transport: streamable-http, url: \"" + conformance.url() + "\" }\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: agent, hash: \"" + ApiKeys.hash(AGENT) + "\", subject: agent-9, groups: [agents] }\n"
        + "    - { id: auditor, hash: \"" + ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor, gatehouse-metrics, gatehouse-admin] }\n"
        + "policies:\n"
        + "  - id: agents\n    when: { groups: [agents] }\n"
        + "    allow: { servers: [tools, conf] }\n"
        + "    deny: { tools: [" + deny + "] }\n";
  }

  @BeforeAll
  static void start() throws Exception {
    conformance = Samples.startConformance("127.0.0.1", 0);
    file = dir.resolve("g.yaml");
    Files.writeString(file, config("\"tools__hash\""));
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("upstreams", Duration.ofSeconds(60), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, conformance);
  }

  static JsonNode json(String s) throws Exception {
    return Json.MAPPER.readTree(s);
  }

  static String meta(String version) {
    return "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"" + version + "\",\"io.modelcontextprotocol/clientCapabilities\":{},"
        + "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"test\",\"version\":\"1\"}}";
  }

  /** A 2026-07-28 request as a conforming client sends it, as the agent, plus {@code extra} headers (name, value, …). */
  static HttpResponse<String> post(String path, String method, String name, String params, String... extra) {
    String[] headers = new String[extra.length + 2];
    headers[0] = "Authorization";
    headers[1] = "Bearer " + AGENT;
    System.arraycopy(extra, 0, headers, 2, extra.length);
    return McpHttp.modern(gateway.baseUri().resolve(path), 7, method, name, params, headers);
  }

  static List<JsonNode> steps(String chain) throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/" + chain))
        .header("Authorization", "Bearer " + AUDITOR).GET().build());
    assertEquals(200, r.statusCode(), chain + ": " + r.body());
    List<JsonNode> out = new ArrayList<>();
    json(r.body()).path("steps").forEach(out::add);
    return out;
  }

  @Test
  void discoverNamesBothRevisionsAndWhatTheGatewayOffersWithoutASession() throws Exception {
    HttpResponse<String> r = post("/mcp", "server/discover", null, "");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("Mcp-Session-Id").isEmpty(), "no session in 2026-07-28");
    JsonNode result = json(r.body()).path("result");
    assertEquals("complete", result.path("resultType").asText());
    assertEquals(V, result.path("supportedVersions").path(0).asText());
    assertTrue(result.path("supportedVersions").toString().contains("2025-11-25"), result.toString());
    assertTrue(result.path("capabilities").path("tools").path("listChanged").asBoolean(), result.toString());
    assertFalse(result.path("capabilities").has("tasks"), "2025-style tasks are not offered to 2026-07-28 clients");
    assertEquals("gatehouse", result.path("_meta").path("io.modelcontextprotocol/serverInfo").path("name").asText());
    assertTrue(result.path("ttlMs").asLong() > 0, result.toString());

    JsonNode single = json(post("/mcp/conf", "server/discover", null, "").body()).path("result");
    assertEquals(V, single.path("supportedVersions").path(0).asText());
    assertFalse(single.path("_meta").path("io.modelcontextprotocol/serverInfo").path("name").asText().equals("gatehouse"),
        "/mcp/<server> is the upstream, as it describes itself: " + single);
  }

  @Test
  void listsAreFilteredPerCallerSortedAndPrivatelyCacheable() throws Exception {
    JsonNode result = json(post("/mcp", "tools/list", null, "").body()).path("result");
    List<String> names = new ArrayList<>();
    result.path("tools").forEach(t -> names.add(t.path("name").asText()));
    assertFalse(names.contains("tools__hash"), "denied tools are not listed: " + names);
    assertTrue(names.contains("tools__base64"), names.toString());
    List<String> sorted = new ArrayList<>(names);
    sorted.sort(null);
    assertEquals(sorted, names, "a deterministic order");
    assertEquals("private", result.path("cacheScope").asText());
    assertEquals(ModernMcp.LIST_TTL_MS, result.path("ttlMs").asLong());
    assertEquals("complete", result.path("resultType").asText());
  }

  @Test
  void callsReadsAndPromptsRunThroughTheChainWithoutASession() throws Exception {
    HttpResponse<String> call = post("/mcp", "tools/call", "tools__base64", "\"name\":\"tools__base64\",\"arguments\":{\"text\":\"hi\"}",
        "X-Chain-Id", "modern-call");
    assertEquals(200, call.statusCode(), call.body());
    JsonNode result = json(call.body()).path("result");
    assertEquals("aGk=", result.path("content").path(0).path("text").asText(), call.body());
    assertEquals("complete", result.path("resultType").asText());
    List<JsonNode> steps = steps("modern-call");
    assertEquals(1, steps.size(), steps.toString());
    assertEquals("ok", steps.get(0).path("outcome").asText());
    assertEquals("mcp", steps.get(0).path("source").asText());
    assertEquals("agent-9", steps.get(0).path("subject").asText());
    String metrics = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/metrics"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build()).body();
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("gatehouse_calls_total{") && l.contains("name=\"base64\"")
        && l.contains("revision=\"2026-07-28\"") && l.contains("outcome=\"ok\"")), "calls are counted by revision");

    JsonNode read = json(post("/mcp", "resources/read", "conf+test://static-text", "\"uri\":\"conf+test://static-text\"").body());
    assertEquals("conf+test://static-text", read.path("result").path("contents").path(0).path("uri").asText(), read.toString());
    assertEquals(0, read.path("result").path("ttlMs").asLong());

    JsonNode prompt = json(post("/mcp/conf", "prompts/get", "test_simple_prompt", "\"name\":\"test_simple_prompt\"").body());
    assertTrue(prompt.path("result").path("messages").isArray(), prompt.toString());
  }

  @Test
  void aTraceparentInMetaJoinsTheChain() throws Exception {
    String trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    HttpResponse<String> r = post("/mcp", "tools/call", "tools__now", "\"name\":\"tools__now\",\"arguments\":{},"
        + "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"" + V + "\",\"io.modelcontextprotocol/clientCapabilities\":{},"
        + "\"traceparent\":\"00-" + trace + "-00f067aa0ba902b7-01\"}");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(trace, r.headers().firstValue("X-Chain-Id").orElse(""));
    assertEquals(1, steps(trace).size());
  }

  @Test
  void aDeniedCallIsRefusedAsOnEveryOtherDoor() throws Exception {
    JsonNode r = json(post("/mcp", "tools/call", "tools__hash", "\"name\":\"tools__hash\",\"arguments\":{\"text\":\"x\"}").body());
    assertEquals(-32003, r.path("error").path("code").asInt(), r.toString());
    assertEquals("agents", r.path("error").path("data").path("rule").asText());
  }

  /** A tools/call of a 2026-07-28 client that can be asked for input, with a progress token and what else {@code more} adds. */
  static HttpResponse<Stream<String>> callStreaming(String tool, String token, String more) throws Exception {
    String body = "{\"jsonrpc\":\"2.0\",\"id\":21,\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool
        + "\",\"arguments\":{}" + more + ",\"_meta\":{\"progressToken\":\"" + token + "\",\"io.modelcontextprotocol/protocolVersion\":\"" + V
        + "\",\"io.modelcontextprotocol/clientCapabilities\":{\"elicitation\":{}}}}}";
    HttpRequest r = HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp")).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").header("Authorization", "Bearer " + AGENT)
        .header("MCP-Protocol-Version", V).header("Mcp-Method", "tools/call").header("Mcp-Name", tool)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    return TestUpstreams.HTTP.send(r, HttpResponse.BodyHandlers.ofLines());
  }

  /** The JSON-RPC messages of a response, whether it came as JSON or as an event stream. */
  static List<JsonNode> messages(HttpResponse<Stream<String>> r) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    boolean sse = r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream");
    try (Stream<String> lines = r.body()) {
      for (String line : (Iterable<String>) lines::iterator) {
        if (sse && line.startsWith("data: ")) {
          out.add(json(line.substring(6)));
        } else if (!sse && !line.isBlank()) {
          out.add(json(line));
        }
      }
    }
    return out;
  }

  @Test
  void progressAfterAnInputRoundReachesTheRetryUnderItsOwnToken() throws Exception {
    List<JsonNode> first = messages(callStreaming("conf__test_elicitation_then_progress", "first", ""));
    JsonNode asked = first.get(first.size() - 1).path("result");
    assertEquals("input_required", asked.path("resultType").asText(), first.toString());
    String key = asked.path("inputRequests").fieldNames().next();
    String retry = ",\"inputResponses\":{\"" + key + "\":{\"action\":\"accept\",\"content\":{\"name\":\"Ann\"}}},\"requestState\":\""
        + asked.path("requestState").asText() + "\"";
    List<JsonNode> second = messages(callStreaming("conf__test_elicitation_then_progress", "second", retry));
    List<String> progress = new ArrayList<>();
    second.stream().filter(m -> "notifications/progress".equals(m.path("method").asText()))
        .forEach(m -> progress.add(m.path("params").path("progressToken").asText() + ":" + m.path("params").path("progress").asInt()));
    assertEquals(List.of("second:1", "second:2", "second:3"), progress, second.toString());
    assertEquals("Thanks, Ann", second.get(second.size() - 1).path("result").path("content").path(0).path("text").asText(), second.toString());
  }

  @Test
  void headersThatDisagreeWithTheBodyAreRefusedRecordedAndNeverForwarded() throws Exception {
    HttpResponse<String> name = post("/mcp", "tools/call", "tools__now", "\"name\":\"tools__base64\",\"arguments\":{\"text\":\"hi\"}",
        "X-Chain-Id", "modern-mismatch");
    assertEquals(400, name.statusCode(), name.body());
    JsonNode error = json(name.body()).path("error");
    assertEquals(-32020, error.path("code").asInt());
    assertEquals("Header mismatch: Mcp-Name header value 'tools__now' does not match body value 'tools__base64'", error.path("message").asText());
    assertEquals(7, json(name.body()).path("id").asInt());
    List<JsonNode> steps = steps("modern-mismatch");
    assertEquals(1, steps.size(), steps.toString());
    assertEquals("invalid", steps.get(0).path("outcome").asText());
    assertEquals("none", steps.get(0).path("decision").asText(), "refused before any policy was asked");
    assertEquals(-32020, steps.get(0).path("status").asInt());

    HttpRequest wrongMethod = HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp")).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").header("Authorization", "Bearer " + AGENT)
        .header("MCP-Protocol-Version", V).header("Mcp-Method", "prompts/list")
        .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" + meta(V) + "}}")).build();
    HttpResponse<String> m = TestUpstreams.send(wrongMethod);
    assertEquals(400, m.statusCode(), m.body());
    assertEquals(-32020, json(m.body()).path("error").path("code").asInt());

    // The schema of tools__base64 marks 'mode' with x-mcp-header: Mode.
    HttpResponse<String> param = post("/mcp", "tools/call", "tools__base64",
        "\"name\":\"tools__base64\",\"arguments\":{\"text\":\"aGk=\",\"mode\":\"decode\"}", "Mcp-Param-Mode", "encode", "X-Chain-Id", "modern-param");
    assertEquals(400, param.statusCode(), param.body());
    assertEquals("Header mismatch: Mcp-Param-Mode header value does not match argument 'mode'",
        json(param.body()).path("error").path("message").asText());
    assertEquals("invalid", steps("modern-param").get(0).path("outcome").asText());
    HttpResponse<String> missing = post("/mcp", "tools/call", "tools__base64",
        "\"name\":\"tools__base64\",\"arguments\":{\"text\":\"aGk=\",\"mode\":\"decode\"}");
    assertEquals(400, missing.statusCode(), missing.body());
    HttpResponse<String> mirrored = post("/mcp", "tools/call", "tools__base64",
        "\"name\":\"tools__base64\",\"arguments\":{\"text\":\"aGk=\",\"mode\":\"decode\"}", "Mcp-Param-Mode", "decode");
    assertEquals("hi", json(mirrored.body()).path("result").path("content").path(0).path("text").asText(), mirrored.body());
  }

  @Test
  void anUnsupportedVersionIsAnsweredWithTheVersionsServed() throws Exception {
    HttpRequest r = HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp")).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").header("Authorization", "Bearer " + AGENT)
        .header("MCP-Protocol-Version", "2099-01-01").header("Mcp-Method", "tools/list")
        .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" + meta("2099-01-01") + "}}"))
        .build();
    HttpResponse<String> answer = TestUpstreams.send(r);
    assertEquals(400, answer.statusCode(), answer.body());
    JsonNode error = json(answer.body()).path("error");
    assertEquals(-32022, error.path("code").asInt(), answer.body());
    assertEquals("2099-01-01", error.path("data").path("requested").asText());
    assertEquals(V, error.path("data").path("supported").path(0).asText());
  }

  @Test
  void methodsTheRevisionRemovedAreUnknownAndAnUnknownResourceIsInvalidParams() throws Exception {
    HttpResponse<String> ping = post("/mcp", "ping", null, "");
    assertEquals(404, ping.statusCode(), ping.body());
    assertEquals(-32601, json(ping.body()).path("error").path("code").asInt());
    HttpResponse<String> setLevel = post("/mcp", "logging/setLevel", null, "\"level\":\"info\"");
    assertEquals(404, setLevel.statusCode(), setLevel.body());
    HttpResponse<String> initialize = post("/mcp", "initialize", null, "\"protocolVersion\":\"2026-07-28\"");
    assertEquals(404, initialize.statusCode(), "a modern client's initialize is unknown: " + initialize.body());
    assertTrue(initialize.headers().firstValue("Mcp-Session-Id").isEmpty());

    HttpResponse<String> bare = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp"))
        .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
        .header("Authorization", "Bearer " + AGENT).header("MCP-Protocol-Version", V).header("Mcp-Method", "tools/list")
        .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/list\",\"params\":{}}")).build());
    assertEquals(400, bare.statusCode(), bare.body());
    assertEquals(-32602, json(bare.body()).path("error").path("code").asInt(), "a request without its _meta is invalid params");
    assertEquals(9, json(bare.body()).path("id").asInt());

    JsonNode unknown = json(post("/mcp", "resources/read", "nosuch+test://x", "\"uri\":\"nosuch+test://x\"").body());
    assertEquals(-32602, unknown.path("error").path("code").asInt(), unknown.toString());
  }

  @Test
  void adminShowsTheRevisionEachUpstreamIsSpokenTo() throws Exception {
    JsonNode admin = json(TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/admin/upstreams"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build()).body());
    java.util.Map<String, String> revisions = new java.util.HashMap<>();
    admin.path("upstreams").forEach(u -> revisions.put(u.path("name").asText(), u.path("protocol_version").asText("-")));
    // Both are session-based: the conformance fixture over HTTP answered server/discover as a 2025 server.
    assertEquals(java.util.Map.of("tools", "2025-11-25", "conf", "2025-11-25"), revisions, admin.toString());
  }

  @Test
  void theSessionBasedRevisionsStillWorkOnTheSameEndpoint() throws Exception {
    URI endpoint = gateway.baseUri().resolve("/mcp");
    String session = McpHttp.session(endpoint, McpHttp.bearer(AGENT));
    HttpResponse<String> r = McpHttp.post(endpoint, session, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", McpHttp.bearer(AGENT));
    assertEquals(200, r.statusCode(), r.body());
    assertFalse(json(r.body()).path("result").has("resultType"), "2025 results are unchanged");
  }

  @Test
  void listenAcknowledgesAndDeliversOnlyWhatWasAskedForTaggedWithItsSubscription() throws Exception {
    HttpRequest listen = HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp")).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").header("Authorization", "Bearer " + AGENT)
        .header("MCP-Protocol-Version", V).header("Mcp-Method", "subscriptions/listen")
        .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":\"sub-1\",\"method\":\"subscriptions/listen\",\"params\":{"
            + meta(V) + ",\"notifications\":{\"toolsListChanged\":true,\"resourceSubscriptions\":[\"conf+test://static-text\"]}}}"))
        .build();
    HttpResponse<Stream<String>> stream = TestUpstreams.HTTP.send(listen, HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, stream.statusCode());
    BlockingQueue<JsonNode> events = new ArrayBlockingQueue<>(100);
    Thread reader = Thread.ofVirtual().start(() -> {
      try (Stream<String> lines = stream.body()) {
        Iterator<String> it = lines.iterator();
        while (it.hasNext()) {
          String line = it.next();
          if (line.startsWith("data: ")) {
            events.add(json(line.substring(6)));
          }
        }
      } catch (Exception e) {
        // the stream ends with the test
      }
    });
    try {
      JsonNode ack = events.poll(30, TimeUnit.SECONDS);
      assertEquals("notifications/subscriptions/acknowledged", ack.path("method").asText(), String.valueOf(ack));
      assertEquals("sub-1", ack.path("params").path("_meta").path("io.modelcontextprotocol/subscriptionId").asText());
      assertTrue(ack.path("params").path("notifications").path("toolsListChanged").asBoolean());
      assertEquals("conf+test://static-text", ack.path("params").path("notifications").path("resourceSubscriptions").path(0).asText(),
          ack.toString());

      // A policy change that hides a tool from this caller is a tools list change for it.
      gateway.reload(new ConfigLoader().load(writeConfig("\"tools__hash\", \"tools__uuid\"")));
      JsonNode changed = events.poll(30, TimeUnit.SECONDS);
      assertEquals("notifications/tools/list_changed", changed.path("method").asText(), String.valueOf(changed));
      assertEquals("sub-1", changed.path("params").path("_meta").path("io.modelcontextprotocol/subscriptionId").asText());
      assertNull(events.poll(300, TimeUnit.MILLISECONDS), "nothing else was asked for");
    } finally {
      reader.interrupt();
      gateway.reload(new ConfigLoader().load(writeConfig("\"tools__hash\"")));
    }
  }

  static String metaWith(String capabilities) {
    return "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"" + V + "\",\"io.modelcontextprotocol/clientCapabilities\":"
        + capabilities + "}";
  }

  static HttpResponse<String> raw(String key, String path, String name, String body) {
    return TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(path)).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").header("Authorization", "Bearer " + key)
        .header("MCP-Protocol-Version", V).header("Mcp-Method", "tools/call").header("Mcp-Name", name)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  @Test
  void anUpstreamsElicitationBecomesAMultiRoundTripForAStatelessClient() throws Exception {
    String call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{" + metaWith("{\"elicitation\":{}}")
        + ",\"name\":\"test_elicitation\",\"arguments\":{\"message\":\"who are you?\"}}}";
    HttpResponse<String> first = raw(AGENT, "/mcp/conf", "test_elicitation", call);
    assertEquals(200, first.statusCode(), first.body());
    JsonNode interim = json(first.body());
    assertEquals(1, interim.path("id").asInt());
    JsonNode result = interim.path("result");
    assertEquals("input_required", result.path("resultType").asText(), first.body());
    String key = result.path("inputRequests").fieldNames().next();
    assertEquals("elicitation/create", result.path("inputRequests").path(key).path("method").asText());
    assertEquals("who are you?", result.path("inputRequests").path(key).path("params").path("message").asText());
    String state = result.path("requestState").asText();
    assertFalse(state.isEmpty());

    String retry = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{" + metaWith("{\"elicitation\":{}}")
        + ",\"name\":\"test_elicitation\",\"arguments\":{\"message\":\"who are you?\"},\"requestState\":\"" + state + "\","
        + "\"inputResponses\":{\"" + key + "\":{\"action\":\"accept\",\"content\":{\"username\":\"ann\",\"email\":\"ann@example.com\"}}}}}";

    // Somebody else cannot continue it, and a forged state is unknown.
    HttpResponse<String> stolen = raw(AUDITOR, "/mcp/conf", "test_elicitation", retry);
    assertEquals(-32602, json(stolen.body()).path("error").path("code").asInt(), stolen.body());
    HttpResponse<String> forged = raw(AGENT, "/mcp/conf", "test_elicitation", retry.replace(state, state + "x"));
    assertEquals(-32602, json(forged.body()).path("error").path("code").asInt(), forged.body());

    HttpResponse<String> done = raw(AGENT, "/mcp/conf", "test_elicitation", retry);
    JsonNode answer = json(done.body());
    assertEquals(2, answer.path("id").asInt(), done.body());
    assertEquals("complete", answer.path("result").path("resultType").asText(), done.body());
    assertTrue(answer.path("result").path("content").path(0).path("text").asText().contains("ann@example.com"), done.body());
    HttpResponse<String> again = raw(AGENT, "/mcp/conf", "test_elicitation", retry);
    assertEquals(-32602, json(again.body()).path("error").path("code").asInt(), "a finished round is gone: " + again.body());
  }

  @Test
  void withoutTheCapabilityTheClientIsToldWhichOneIsMissing() throws Exception {
    String call = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{" + metaWith("{}")
        + ",\"name\":\"test_elicitation\",\"arguments\":{\"message\":\"who are you?\"}}}";
    HttpResponse<String> r = raw(AGENT, "/mcp/conf", "test_elicitation", call);
    assertEquals(400, r.statusCode(), r.body());
    JsonNode error = json(r.body()).path("error");
    assertEquals(3, json(r.body()).path("id").asInt());
    assertEquals(-32021, error.path("code").asInt(), r.body());
    assertTrue(error.path("data").path("requiredCapabilities").path("elicitation").isObject(), r.body());
  }

  static Path writeConfig(String deny) throws Exception {
    Files.writeString(file, config(deny));
    return file;
  }
}
