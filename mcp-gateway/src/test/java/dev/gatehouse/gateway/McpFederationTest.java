package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samples;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.registry.UpstreamConfig;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientSseClientTransport;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpSchema;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The gateway federating a stdio server and two Streamable HTTP servers, driven by the MCP Java SDK client. */
@Timeout(120)
class McpFederationTest {
  static RunningServer httpTools;
  static RunningServer conformance;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    httpTools = Samples.startHttpTools("127.0.0.1", 0);
    conformance = Samples.startConformance("127.0.0.1", 0);
    Map<String, UpstreamConfig> ups = new LinkedHashMap<>();
    ups.put("local", samples("faulty"));
    ups.put("web", new UpstreamConfig.StreamableHttp(httpTools.url()));
    ups.put("conf", new UpstreamConfig.StreamableHttp(conformance.url()));
    GatewayConfig config = TestUpstreams.noAudit()
        .withServer(ServerSettings.defaults().withPort(0))
        .withUpstreams(ups);
    gateway = Gateway.start(config, Optional.empty());
    await("upstreams connected", Duration.ofSeconds(60),
        () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (httpTools != null) {
      httpTools.close();
    }
    if (conformance != null) {
      conformance.close();
    }
  }

  static McpClient.SyncSpec client(String path) {
    return McpClient.sync(HttpClientStreamableHttpTransport.builder(gateway.baseUri().toString()).endpoint(path).build())
        .requestTimeout(Duration.ofSeconds(30));
  }

  @Test
  void toolsOfEveryUpstreamAreListedUnderNamespacedNames() {
    try (McpSyncClient c = client("/mcp").build()) {
      c.initialize();
      List<String> names = c.listTools().tools().stream().map(McpSchema.Tool::name).toList();
      assertTrue(names.contains("local__echo"), names.toString());
      assertTrue(names.contains("web__word_count"), names.toString());
      assertTrue(names.contains("conf__test_simple_text"), names.toString());
      names.forEach(n -> assertTrue(n.matches("^[a-zA-Z0-9_-]{1,64}$"), n));
    }
  }

  @Test
  void callsAreRoutedToTheOwningUpstream() {
    try (McpSyncClient c = client("/mcp").build()) {
      c.initialize();
      McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("local__echo", Map.of("text", "via gateway")));
      assertEquals("via gateway", ((McpSchema.TextContent) r.content().get(0)).text());
      McpSchema.CallToolResult w = c.callTool(new McpSchema.CallToolRequest("web__word_count", Map.of("text", "a b c d")));
      assertTrue(((McpSchema.TextContent) w.content().get(0)).text().contains("4"), w.toString());
    }
  }

  @Test
  void unknownToolIsAJsonRpcErrorNamingIt() {
    try (McpSyncClient c = client("/mcp").build()) {
      c.initialize();
      Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> c.callTool(new McpSchema.CallToolRequest("nope__missing", Map.of())));
      assertTrue(e.getMessage().contains("Unknown tool: nope__missing"), e.getMessage());
    }
  }

  @Test
  void perServerEndpointKeepsOriginalNames() {
    try (McpSyncClient c = client("/mcp/conf").build()) {
      McpSchema.InitializeResult init = c.initialize();
      assertNotNull(init.capabilities().tools());
      List<String> names = c.listTools().tools().stream().map(McpSchema.Tool::name).toList();
      assertTrue(names.contains("test_simple_text"), names.toString());
      assertFalse(names.stream().anyMatch(n -> n.startsWith("local__")), names.toString());
      McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("test_simple_text", Map.of()));
      assertFalse(r.content().isEmpty());
    }
  }

  @Test
  void resourcesAreFederatedWithUrisThatRouteBack() {
    try (McpSyncClient c = client("/mcp").build()) {
      c.initialize();
      List<String> uris = c.listResources().resources().stream().map(McpSchema.Resource::uri).toList();
      assertTrue(uris.contains("conf+test://static-text"), uris.toString());
      McpSchema.ReadResourceResult r = c.readResource(new McpSchema.ReadResourceRequest("conf+test://static-text"));
      assertEquals("conf+test://static-text", r.contents().get(0).uri());
      List<String> templates = c.listResourceTemplates().resourceTemplates().stream().map(McpSchema.ResourceTemplate::uriTemplate).toList();
      assertTrue(templates.contains("conf+test://template/{id}/data"), templates.toString());
      McpSchema.ReadResourceResult t = c.readResource(new McpSchema.ReadResourceRequest("conf+test://template/42/data"));
      assertTrue(t.contents().get(0).uri().endsWith("test://template/42/data"), t.toString());
    }
  }

  @Test
  void promptsAndCompletionsAreFederated() {
    try (McpSyncClient c = client("/mcp").build()) {
      c.initialize();
      List<String> prompts = c.listPrompts().prompts().stream().map(McpSchema.Prompt::name).toList();
      assertTrue(prompts.contains("conf__test_prompt_with_arguments"), prompts.toString());
      McpSchema.GetPromptResult p = c.getPrompt(new McpSchema.GetPromptRequest("conf__test_prompt_with_arguments",
          Map.of("arg1", "x", "arg2", "y")));
      assertFalse(p.messages().isEmpty());
      McpSchema.CompleteResult done = c.completeCompletion(new McpSchema.CompleteRequest(
          new McpSchema.PromptReference("conf__test_prompt_with_arguments"), new McpSchema.CompleteRequest.CompleteArgument("arg1", "")));
      assertNotNull(done.completion());
    }
  }

  @Test
  void samplingFromAnUpstreamReachesTheCallingClientAndTheAnswerGoesBack() {
    AtomicReference<McpSchema.CreateMessageRequest> seen = new AtomicReference<>();
    try (McpSyncClient c = client("/mcp")
        .capabilities(McpSchema.ClientCapabilities.builder().sampling().build())
        .sampling(req -> {
          seen.set(req);
          return new McpSchema.CreateMessageResult(McpSchema.Role.ASSISTANT,
              new McpSchema.TextContent("forty-two"), "test-model", McpSchema.CreateMessageResult.StopReason.END_TURN);
        })
        .build()) {
      c.initialize();
      McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("conf__test_sampling", Map.of("prompt", "meaning of life?")));
      assertNotNull(seen.get(), "sampling request never reached the client");
      assertTrue(r.content().toString().contains("forty-two"), r.toString());
    }
  }

  @Test
  void elicitationFromAnUpstreamReachesTheCallingClientAndTheAnswerGoesBack() {
    try (McpSyncClient c = client("/mcp/conf")
        .capabilities(McpSchema.ClientCapabilities.builder().elicitation().build())
        .elicitation(req -> new McpSchema.ElicitResult(McpSchema.ElicitResult.Action.ACCEPT,
            Map.of("username", "ada", "email", "ada@example.com")))
        .build()) {
      c.initialize();
      McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("test_elicitation", Map.of("message", "who are you?")));
      assertTrue(r.content().toString().contains("ada"), r.toString());
    }
  }

  @Test
  void progressNotificationsReachTheCallerWithItsOwnToken() {
    List<McpSchema.ProgressNotification> progress = new CopyOnWriteArrayList<>();
    try (McpSyncClient c = client("/mcp").progressConsumer(progress::add).build()) {
      c.initialize();
      c.callTool(McpSchema.CallToolRequest.builder().name("conf__test_tool_with_progress").arguments(Map.of())
          .progressToken("my-token").build());
      await("progress", Duration.ofSeconds(5), () -> progress.size() >= 3);
      progress.forEach(p -> assertEquals("my-token", p.progressToken()));
    }
  }

  @Test
  void loggingDuringACallReachesTheCaller() {
    List<McpSchema.LoggingMessageNotification> logs = new CopyOnWriteArrayList<>();
    try (McpSyncClient c = client("/mcp").loggingConsumer(logs::add).build()) {
      c.initialize();
      c.callTool(new McpSchema.CallToolRequest("conf__test_tool_with_logging", Map.of()));
      await("log messages", Duration.ofSeconds(5), () -> !logs.isEmpty());
    }
  }

  @Test
  void toolListChangeReachesAConnectedClient() {
    List<List<McpSchema.Tool>> changes = new CopyOnWriteArrayList<>();
    try (McpSyncClient c = client("/mcp").toolsChangeConsumer(changes::add).build()) {
      c.initialize();
      c.callTool(new McpSchema.CallToolRequest("local__add_tool", Map.of("name", "grown")));
      await("list_changed delivered", Duration.ofSeconds(10),
          () -> changes.stream().anyMatch(l -> l.stream().anyMatch(t -> t.name().equals("local__grown"))));
    }
  }

  @Test
  void legacySseTransportListsAndCalls() {
    try (McpSyncClient c = McpClient.sync(HttpClientSseClientTransport.builder(gateway.baseUri().toString()).sseEndpoint("/sse").build())
        .requestTimeout(Duration.ofSeconds(30)).build()) {
      c.initialize();
      assertTrue(c.listTools().tools().stream().anyMatch(t -> t.name().equals("web__word_count")));
      McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("local__echo", Map.of("text", "old school")));
      assertEquals("old school", ((McpSchema.TextContent) r.content().get(0)).text());
    }
  }

  @Test
  void clientCancellationEndsTheCallAndReachesTheUpstream() throws Exception {
    java.net.URI mcp = gateway.baseUri().resolve("/mcp");
    java.util.function.Function<String, java.net.http.HttpRequest.Builder> post = body -> java.net.http.HttpRequest.newBuilder(mcp)
        .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body));
    var init = TestUpstreams.send(post.apply(McpHttp.INIT).build());
    String sid = init.headers().firstValue("Mcp-Session-Id").orElseThrow();
    var pending = TestUpstreams.HTTP.sendAsync(post.apply(
            "{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"tools/call\",\"params\":{\"name\":\"local__sleep\",\"arguments\":{\"ms\":15000}}}")
        .header("Mcp-Session-Id", sid).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    await("call in flight upstream", Duration.ofSeconds(5), () -> gateway.dispatcher().session(sid).map(x -> !x.inFlight.isEmpty()).orElse(false));
    var cancel = TestUpstreams.send(post.apply(
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":77,\"reason\":\"changed my mind\"}}")
        .header("Mcp-Session-Id", sid).build());
    assertEquals(202, cancel.statusCode());
    String body = pending.get(10, java.util.concurrent.TimeUnit.SECONDS).body();
    assertTrue(body.contains("-32012") && body.contains("cancelled"), body);
  }

  @Test
  void readinessShowsEveryUpstream() {
    var resp = TestUpstreams.get(gateway.baseUri().resolve("/readyz"));
    assertEquals(200, resp.statusCode());
    assertTrue(resp.body().contains("\"name\":\"local\""), resp.body());
    assertTrue(resp.body().contains("\"state\":\"connected\""), resp.body());
    assertEquals(200, TestUpstreams.get(gateway.baseUri().resolve("/healthz")).statusCode());
  }
}
