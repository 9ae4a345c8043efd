package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.Json;
import dev.gatehouse.registry.UpstreamConfig;
import dev.gatehouse.registry.UpstreamStatus;
import dev.gatehouse.samples.Samples;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The gateway's client side of MCP 2026-07-28: an upstream built with the TypeScript SDK v2 server
 * package, configured with {@code protocol_version: 2026-07-28}, serves clients of both revisions. Its
 * multi round-trips pass through to a 2026-07-28 client (which answers and retries), and are turned into
 * requests of the session-based revision for a 2025 client (the gateway retries for it).
 */
@Timeout(120)
class StatelessUpstreamTest {
  static NodeTooling.Listening upstream;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    startWith(url -> new UpstreamConfig.StreamableHttp(url, Map.of(), true, UpstreamConfig.Timeouts.defaults(), null,
        UpstreamConfig.StreamableHttp.STATELESS));
  }

  /** Starts the gateway with {@code v2} (given the HTTP upstream's URL) as the upstream the tests call. */
  static void startWith(java.util.function.Function<URI, UpstreamConfig> v2Config) throws Exception {
    NodeTooling.require();
    upstream = NodeTooling.listening("ts-sdk-v2-upstream.mjs");
    URI url = upstream.url();
    UpstreamConfig v2 = v2Config.apply(url);
    web = Samples.startHttpTools("127.0.0.1", 0);
    Map<String, UpstreamConfig> ups = new java.util.LinkedHashMap<>();
    ups.put("v2", v2);
    ups.put("found", new UpstreamConfig.StreamableHttp(url)); // no protocol_version: server/discover decides
    ups.put("web", new UpstreamConfig.StreamableHttp(web.url())); // the same probe, answered by a 2025 server
    ups.put("strict", new UpstreamConfig.StreamableHttp(web.url(), Map.of(), true, UpstreamConfig.Timeouts.defaults(), null,
        UpstreamConfig.StreamableHttp.STATELESS));
    gateway = Gateway.start(TestUpstreams.noAudit().withServer(ServerSettings.defaults().withPort(0)).withUpstreams(ups),
        Optional.empty());
    await("upstreams connected", Duration.ofSeconds(30), () -> gateway.registry().status().stream()
        .filter(st -> !st.name().equals("strict")).allMatch(UpstreamStatus::connected));
  }

  static dev.gatehouse.samples.RunningServer web;

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, web, upstream);
  }

  @Test
  void eachUpstreamIsSpokenToInTheRevisionItServes() {
    assertEquals("2026-07-28", gateway.registry().catalog().server("found").orElseThrow().protocolVersion(),
        "a server that answers server/discover is spoken to statelessly without being configured so");
    assertEquals("2025-11-25", gateway.registry().catalog().server("web").orElseThrow().protocolVersion(),
        "a server that does not gets a session");
    UpstreamStatus strict = gateway.registry().status().stream().filter(st -> st.name().equals("strict")).findFirst().orElseThrow();
    assertTrue(!strict.connected(), "pinned to 2026-07-28, a 2025 server is not connected: " + strict);
    await("strict names why", Duration.ofSeconds(20), () -> gateway.registry().status().stream()
        .filter(st -> st.name().equals("strict")).findFirst().orElseThrow().lastError().orElse("").contains("server/discover"));
  }

  @Test
  void theUpstreamIsDiscoveredAndItsCatalogFederated() {
    assertEquals("2026-07-28", gateway.registry().catalog().server("v2").orElseThrow().protocolVersion());
    assertEquals("gatehouse-v2-upstream", gateway.registry().catalog().server("v2").orElseThrow().serverInfo().path("name").asText());
    assertTrue(gateway.registry().catalog().tool("v2__echo").isPresent());
    assertTrue(gateway.registry().catalog().prompt("v2__review").isPresent());
  }

  @Test
  void aToolListChangeArrivesThroughTheUpstreamsListenStream() throws Exception {
    assertTrue(gateway.registry().catalog().tool("v2__extra").isEmpty());
    HttpResponse<String> r = McpHttp.modern(gateway.baseUri().resolve("/mcp"), 5, "tools/call", "v2__toggle_extra",
        "\"name\":\"v2__toggle_extra\",\"arguments\":{}");
    assertEquals("extra added", Json.MAPPER.readTree(r.body()).path("result").path("content").path(0).path("text").asText(), r.body());
    await("v2__extra listed", Duration.ofSeconds(20), () -> gateway.registry().catalog().tool("v2__extra").isPresent());
    McpHttp.modern(gateway.baseUri().resolve("/mcp"), 6, "tools/call", "v2__toggle_extra", "\"name\":\"v2__toggle_extra\",\"arguments\":{}");
    await("v2__extra gone", Duration.ofSeconds(20), () -> gateway.registry().catalog().tool("v2__extra").isEmpty());
  }

  @Test
  void aStatelessClientGetsTheUpstreamsMultiRoundTripAsItIsAndRetriesThroughTheGateway() throws Exception {
    String calls = """
        [{"name":"v2__greet","arguments":{}},{"name":"v2__echo","arguments":{"text":"hi"}}]
        """;
    NodeTooling.Run run = NodeTooling.node(Duration.ofSeconds(60), "ts-sdk-v2-rounds-client.mjs",
        gateway.baseUri().resolve("/mcp").toString(), calls);
    assertEquals(0, run.exit(), run.stderr());
    JsonNode out = Json.MAPPER.readTree(run.stdout());
    assertEquals(1, out.path("seen").path("elicitation").asInt(), out.toString());
    assertEquals("Hello, Ann Example!", out.path("results").get(0).path("content").path(0).path("text").asText(), out.toString());
    assertEquals("echo: hi", out.path("results").get(1).path("content").path(0).path("text").asText(), out.toString());
  }

  @Test
  void aSessionClientIsAskedTheUpstreamsQuestionAsARequestAndTheGatewayRetriesForIt() throws Exception {
    URI endpoint = gateway.baseUri().resolve("/mcp");
    HttpResponse<String> init = McpHttp.post(endpoint, null, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
        + "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"elicitation\":{}},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    String session = init.headers().firstValue("Mcp-Session-Id").orElseThrow();
    HttpRequest call = HttpRequest.newBuilder(endpoint).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").header("Mcp-Session-Id", session)
        .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
            + "{\"name\":\"v2__greet\",\"arguments\":{}}}")).build();
    HttpResponse<Stream<String>> stream = TestUpstreams.HTTP.send(call, HttpResponse.BodyHandlers.ofLines());
    try (Stream<String> lines = stream.body()) {
      Iterator<String> it = lines.iterator();
      while (it.hasNext()) {
        String line = it.next();
        if (!line.startsWith("data: ")) {
          continue;
        }
        JsonNode m = Json.MAPPER.readTree(line.substring(6));
        if ("elicitation/create".equals(m.path("method").asText())) {
          assertEquals("What is your name?", m.path("params").path("message").asText());
          HttpResponse<String> answered = McpHttp.post(endpoint, session, "{\"jsonrpc\":\"2.0\",\"id\":" + m.get("id")
              + ",\"result\":{\"action\":\"accept\",\"content\":{\"name\":\"Bob\"}}}");
          assertEquals(202, answered.statusCode(), answered.body());
        } else if (m.path("id").asInt() == 2) {
          assertEquals("Hello, Bob!", m.path("result").path("content").path(0).path("text").asText(), m.toString());
          return;
        }
      }
    }
    throw new AssertionError("the call's stream ended without its answer");
  }

  @Test
  void theUpstreamsProgressReachesASessionClientWithItsOwnToken() throws Exception {
    URI endpoint = gateway.baseUri().resolve("/mcp");
    String session = McpHttp.session(endpoint);
    HttpRequest call = HttpRequest.newBuilder(endpoint).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").header("Mcp-Session-Id", session)
        .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":"
            + "{\"name\":\"v2__count\",\"arguments\":{},\"_meta\":{\"progressToken\":\"mine\"}}}")).build();
    HttpResponse<Stream<String>> stream = TestUpstreams.HTTP.send(call, HttpResponse.BodyHandlers.ofLines());
    List<Integer> progress = new java.util.ArrayList<>();
    try (Stream<String> lines = stream.body()) {
      Iterator<String> it = lines.iterator();
      while (it.hasNext()) {
        String line = it.next();
        if (!line.startsWith("data: ")) {
          continue;
        }
        JsonNode m = Json.MAPPER.readTree(line.substring(6));
        if ("notifications/progress".equals(m.path("method").asText())) {
          assertEquals("mine", m.path("params").path("progressToken").asText(), m.toString());
          progress.add(m.path("params").path("progress").asInt());
        } else if (m.path("id").asInt() == 8) {
          assertEquals("counted to 3", m.path("result").path("content").path(0).path("text").asText(), m.toString());
          assertEquals(List.of(1, 2, 3), progress);
          return;
        }
      }
    }
    throw new AssertionError("the call's stream ended without its answer; progress seen: " + progress);
  }

  static String lastSlow() throws Exception {
    return Json.MAPPER.readTree(McpHttp.modern(gateway.baseUri().resolve("/mcp"), 9, "tools/call", "v2__last_slow",
        "\"name\":\"v2__last_slow\",\"arguments\":{}").body()).path("result").path("content").path(0).path("text").asText();
  }

  @Test
  void aSessionClientsCancellationClosesTheUpstreamsExchange() throws Exception {
    URI endpoint = gateway.baseUri().resolve("/mcp");
    String session = McpHttp.session(endpoint);
    java.util.concurrent.CompletableFuture<HttpResponse<String>> slow = TestUpstreams.HTTP.sendAsync(HttpRequest.newBuilder(endpoint)
        .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
        .header("Mcp-Session-Id", session).POST(HttpRequest.BodyPublishers.ofString(
            "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"v2__slow\",\"arguments\":{}}}")).build(),
        HttpResponse.BodyHandlers.ofString());
    await("slow running", Duration.ofSeconds(10), () -> call(StatelessUpstreamTest::lastSlow).equals("running"));
    HttpResponse<String> cancel = McpHttp.post(endpoint, session,
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":7,\"reason\":\"changed my mind\"}}");
    assertEquals(202, cancel.statusCode());
    await("the upstream saw the cancellation", Duration.ofSeconds(10), () -> call(StatelessUpstreamTest::lastSlow).equals("cancelled"));
    assertTrue(slow.get(10, java.util.concurrent.TimeUnit.SECONDS).body().contains("-32012"), "the client hears its call was cancelled");
  }

  @Test
  @Timeout(30)
  void aSessionClientsResourceSubscriptionBecomesAListenUpstream() throws Exception {
    URI endpoint = gateway.baseUri().resolve("/mcp");
    String session = McpHttp.session(endpoint);
    HttpRequest get = HttpRequest.newBuilder(endpoint).header("Accept", "text/event-stream").header("Mcp-Session-Id", session).GET().build();
    HttpResponse<Stream<String>> events = TestUpstreams.HTTP.send(get, HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, events.statusCode());
    HttpResponse<String> sub = McpHttp.post(endpoint, session,
        "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"resources/subscribe\",\"params\":{\"uri\":\"v2+note://today\"}}");
    assertTrue(Json.MAPPER.readTree(sub.body()).has("result"), "2026-07-28 has no resources/subscribe; the gateway listens instead: " + sub.body());
    HttpResponse<String> touched = McpHttp.post(endpoint, session,
        "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"tools/call\",\"params\":{\"name\":\"v2__touch_note\",\"arguments\":{}}}");
    assertTrue(touched.body().contains("revision"), touched.body());
    try (Stream<String> lines = events.body()) {
      Iterator<String> it = lines.iterator();
      while (it.hasNext()) {
        String line = it.next();
        if (line.startsWith("data: ") && line.contains("notifications/resources/updated")) {
          assertEquals("v2+note://today", Json.MAPPER.readTree(line.substring(6)).path("params").path("uri").asText(), line);
          break;
        }
      }
    }
    HttpResponse<String> unsub = McpHttp.post(endpoint, session,
        "{\"jsonrpc\":\"2.0\",\"id\":13,\"method\":\"resources/unsubscribe\",\"params\":{\"uri\":\"v2+note://today\"}}");
    assertTrue(Json.MAPPER.readTree(unsub.body()).has("result"), unsub.body());
  }

  @Test
  void anMcpAppsUiResourceIsNamedSoTheHostCanReadItAtEitherPath() throws Exception {
    URI federated = gateway.baseUri().resolve("/mcp");
    JsonNode tools = Json.MAPPER.readTree(McpHttp.modern(federated, 14, "tools/list", null, "").body()).path("result").path("tools");
    JsonNode clock = null;
    for (JsonNode t : tools) {
      clock = t.path("name").asText().equals("v2__clock") ? t : clock;
    }
    assertEquals("v2+ui://clock/app.html", clock.path("_meta").path("ui").path("resourceUri").asText(), tools.toString());
    HttpResponse<String> read = McpHttp.modern(federated, 15, "resources/read", "v2+ui://clock/app.html", "\"uri\":\"v2+ui://clock/app.html\"");
    JsonNode contents = Json.MAPPER.readTree(read.body()).path("result").path("contents").path(0);
    assertEquals("text/html;profile=mcp-app", contents.path("mimeType").asText(), read.body());
    assertTrue(contents.path("_meta").path("ui").path("prefersBorder").asBoolean(), "the UI resource's own _meta is kept: " + read.body());
    JsonNode discover = Json.MAPPER.readTree(McpHttp.modern(federated, 16, "server/discover", null, "").body()).path("result");
    assertTrue(discover.path("capabilities").path("extensions").has("io.modelcontextprotocol/ui"), discover.toString());

    URI single = gateway.baseUri().resolve("/mcp/v2");
    JsonNode own = Json.MAPPER.readTree(McpHttp.modern(single, 17, "tools/list", null, "").body()).path("result").path("tools");
    assertTrue(own.toString().contains("\"resourceUri\":\"ui://clock/app.html\""), "the upstream's own URI at its own path: " + own);
  }

  static String call(java.util.concurrent.Callable<String> c) {
    try {
      return c.call();
    } catch (Exception e) {
      return e.toString();
    }
  }

  @Test
  void theOneUpstreamIsTransparentAtItsOwnPath() throws Exception {
    HttpResponse<String> r = McpHttp.modern(gateway.baseUri().resolve("/mcp/v2"), 3, "tools/call", "echo",
        "\"name\":\"echo\",\"arguments\":{\"text\":\"direct\"}");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("echo: direct", Json.MAPPER.readTree(r.body()).path("result").path("content").path(0).path("text").asText(), r.body());
    List<String> prompts = List.of(Json.MAPPER.readTree(McpHttp.modern(gateway.baseUri().resolve("/mcp/v2"), 4, "prompts/list", null, "")
        .body()).path("result").path("prompts").get(0).path("name").asText());
    assertEquals(List.of("review"), prompts);
  }
}
