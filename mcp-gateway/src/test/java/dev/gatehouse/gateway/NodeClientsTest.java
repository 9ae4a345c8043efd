package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.Json;
import dev.gatehouse.registry.UpstreamConfig;
import dev.gatehouse.registry.UpstreamStatus;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real clients and real upstreams from npm: the official MCP TypeScript SDK client and the Inspector
 * CLI list and call tools through {@code /mcp}, with {@code server-everything} and
 * {@code server-filesystem} (stdio, Node 22) and the samples' Streamable HTTP server behind it.
 */
@Timeout(180)
class NodeClientsTest {
  @TempDir
  static Path files;
  static RunningServer web;
  static Gateway gateway;
  static String mcpUrl;

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    Files.writeString(files.resolve("hello.txt"), "hello from the filesystem server");
    web = Samples.startHttpTools("127.0.0.1", 0);
    Map<String, UpstreamConfig> ups = new LinkedHashMap<>();
    ups.put("everything", NodeTooling.server("@modelcontextprotocol/server-everything", "stdio"));
    // A second one for the 2026-07-28 client: server-everything keeps the first roots it is given per
    // connection (the gateway's one connection serves every client), so each roots test gets its own.
    ups.put("rounds", NodeTooling.server("@modelcontextprotocol/server-everything", "stdio"));
    ups.put("filesystem", NodeTooling.server("@modelcontextprotocol/server-filesystem", files.toString()));
    ups.put("web", new UpstreamConfig.StreamableHttp(web.url()));
    gateway = Gateway.start(TestUpstreams.noAudit().withServer(ServerSettings.defaults().withPort(0)).withUpstreams(ups), Optional.empty());
    await("upstreams connected", Duration.ofSeconds(90),
        () -> gateway.registry().status().stream().allMatch(UpstreamStatus::connected));
    mcpUrl = gateway.baseUri().resolve("/mcp").toString();
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (web != null) {
      web.close();
    }
  }

  @Test
  void typescriptSdkClientListsAndCallsToolsOfEveryUpstream() throws Exception {
    String calls = """
        [{"name":"everything__echo","arguments":{"message":"hello from ts"}},
         {"name":"filesystem__read_text_file","arguments":{"path":"%s"}},
         {"name":"web__word_count","arguments":{"text":"one two"}}]
        """.formatted(files.resolve("hello.txt").toString().replace("\\", "\\\\"));
    NodeTooling.Run run = NodeTooling.node(Duration.ofSeconds(60), "ts-sdk-client.mjs", mcpUrl, calls);
    assertEquals(0, run.exit(), run.stderr());
    JsonNode out = Json.MAPPER.readTree(run.stdout());
    List<String> tools = Json.MAPPER.convertValue(out.get("tools"), List.class);
    assertTrue(tools.contains("everything__echo"), tools.toString());
    assertTrue(tools.contains("filesystem__read_text_file"), tools.toString());
    assertTrue(tools.contains("web__word_count"), tools.toString());
    JsonNode results = out.get("results");
    assertTrue(results.get(0).toString().contains("hello from ts"), results.get(0).toString());
    assertTrue(results.get(1).toString().contains("hello from the filesystem server"), results.get(1).toString());
    assertTrue(results.get(2).toString().contains("2"), results.get(2).toString());
    assertFalse(results.get(1).path("isError").asBoolean(false), results.get(1).toString());
  }

  @Test
  void typescriptSdkV2ClientPinnedTo20260728ListsCallsReadsAndGetsPromptsStatelessly() throws Exception {
    String calls = """
        [{"name":"everything__echo","arguments":{"message":"hello from v2"}},
         {"name":"web__word_count","arguments":{"text":"one two three"}}]
        """;
    NodeTooling.Run run = NodeTooling.node(Duration.ofSeconds(60), "ts-sdk-v2-client.mjs", mcpUrl, "-", calls,
        "everything+demo://resource/static/document/architecture.md", "everything__simple-prompt");
    assertEquals(0, run.exit(), run.stderr());
    JsonNode out = Json.MAPPER.readTree(run.stdout());
    assertEquals("2026-07-28", out.path("protocolVersion").asText(), out.toString());
    assertEquals("gatehouse", out.path("server").path("name").asText(), out.toString());
    List<String> tools = Json.MAPPER.convertValue(out.get("tools"), List.class);
    assertTrue(tools.contains("everything__echo") && tools.contains("web__word_count"), tools.toString());
    assertTrue(out.path("results").get(0).toString().contains("hello from v2"), out.path("results").toString());
    assertTrue(out.path("results").get(1).toString().contains("3"), out.path("results").toString());
    assertTrue(out.path("read").path("contents").path(0).path("text").asText().length() > 0, out.path("read").toString());
    assertTrue(out.path("prompt").path("messages").size() > 0, out.path("prompt").toString());
    assertTrue(out.path("listen").path("honored").path("toolsListChanged").asBoolean(), out.path("listen").toString());

    // /mcp/<server>: the upstream's own names, still without a session.
    NodeTooling.Run single = NodeTooling.node(Duration.ofSeconds(60), "ts-sdk-v2-client.mjs",
        gateway.baseUri().resolve("/mcp/everything").toString(), "-", "[{\"name\":\"echo\",\"arguments\":{\"message\":\"direct\"}}]",
        "demo://resource/static/document/architecture.md", "simple-prompt");
    assertEquals(0, single.exit(), single.stderr());
    JsonNode one = Json.MAPPER.readTree(single.stdout());
    assertEquals("2026-07-28", one.path("protocolVersion").asText());
    assertTrue(one.path("tools").toString().contains("\"echo\""), one.path("tools").toString());
    assertTrue(one.path("results").get(0).toString().contains("direct"), one.toString());
    assertTrue(one.path("read").path("contents").size() > 0, one.toString());
  }

  @Test
  void anUpstreamsElicitationSamplingAndRootsReachATypescriptSdkV2ClientAsMultiRoundTrips() throws Exception {
    String calls = """
        [{"name":"rounds__trigger-elicitation-request","arguments":{}},
         {"name":"rounds__trigger-sampling-request","arguments":{"prompt":"hello","maxTokens":10}},
         {"name":"rounds__get-roots-list","arguments":{}}]
        """;
    NodeTooling.Run run = NodeTooling.node(Duration.ofSeconds(60), "ts-sdk-v2-rounds-client.mjs", mcpUrl, calls);
    assertEquals(0, run.exit(), run.stderr());
    JsonNode out = Json.MAPPER.readTree(run.stdout());
    assertEquals("2026-07-28", out.path("protocolVersion").asText());
    assertEquals(1, out.path("seen").path("elicitation").asInt(), out.toString());
    assertEquals(1, out.path("seen").path("sampling").asInt(), out.toString());
    assertTrue(out.path("seen").path("roots").asInt() >= 1, out.toString());
    JsonNode results = out.path("results");
    assertTrue(results.get(0).toString().contains("ann@example.com"), results.get(0).toString());
    assertTrue(results.get(1).toString().contains("sampled: 1 message"), results.get(1).toString());
    assertTrue(results.get(2).toString().contains("file:///srv/gatehouse-v2-root"), results.get(2).toString());
  }

  @Test
  void rootsUrlElicitationAndTasksOfAnUpstreamWorkThroughTheGateway() throws Exception {
    NodeTooling.Run run = NodeTooling.node(Duration.ofSeconds(90), "ts-sdk-relay-client.mjs", mcpUrl);
    assertEquals(0, run.exit(), run.stderr());
    JsonNode out = Json.MAPPER.readTree(run.stdout());
    List<String> tools = Json.MAPPER.convertValue(out.get("tools"), List.class);
    for (String t : List.of("everything__get-roots-list", "everything__trigger-url-elicitation", "everything__simulate-research-query")) {
      assertTrue(tools.contains(t), t + " missing from " + tools);
    }
    assertTrue(out.path("roots").toString().contains("file:///srv/gatehouse-test-root"), out.path("roots").toString());
    assertEquals(1, out.path("seen").path("roots").asInt());
    assertEquals("https://example.com/consent", out.path("seen").path("urlElicitations").path(0).asText(), out.toString());
    assertFalse(out.path("urlElicitation").path("isError").asBoolean(false), out.path("urlElicitation").toString());
    assertTrue(out.path("taskEvents").toString().contains("taskCreated"), out.path("taskEvents").toString());
    assertTrue(out.has("taskResult") && !out.path("taskResult").path("isError").asBoolean(false), out.toString());
    assertTrue(out.path("taskResult").toString().toLowerCase().contains("gateways"), out.path("taskResult").toString());
  }

  @Test
  void inspectorCliListsAndCallsTools() throws Exception {
    // Run from the package's build/ directory: inspector-cli finds its own package.json relative to
    // the working directory (a bug of the published package when used outside its monorepo).
    Path build = NodeTooling.MODULES.resolve("@modelcontextprotocol/inspector-cli/build");
    String cli = build.resolve("cli.js").toString();
    NodeTooling.Run list = NodeTooling.nodeIn(build, Duration.ofSeconds(60), cli, "--cli", mcpUrl, "--transport", "http", "--method", "tools/list");
    assertEquals(0, list.exit(), list.stderr());
    assertTrue(list.stdout().contains("\"everything__echo\""), list.stdout());
    assertTrue(list.stdout().contains("\"filesystem__list_directory\""), list.stdout());

    NodeTooling.Run call = NodeTooling.nodeIn(build, Duration.ofSeconds(60), cli, "--cli", mcpUrl, "--transport", "http",
        "--method", "tools/call", "--tool-name", "filesystem__list_directory", "--tool-arg", "path=" + files);
    assertEquals(0, call.exit(), call.stderr());
    assertTrue(call.stdout().contains("hello.txt"), call.stdout());
  }

  @Test
  void stdioChildrenAreEndedWhenTheGatewayStops() throws Exception {
    Map<String, UpstreamConfig> ups = new LinkedHashMap<>();
    ups.put("everything", NodeTooling.server("@modelcontextprotocol/server-everything", "stdio"));
    ups.put("filesystem", NodeTooling.server("@modelcontextprotocol/server-filesystem", files.toString()));
    Gateway g = Gateway.start(TestUpstreams.noAudit().withServer(ServerSettings.defaults().withPort(0)).withUpstreams(ups), Optional.empty());
    List<ProcessHandle> children;
    try {
      await("connected", Duration.ofSeconds(90), () -> g.registry().status().stream().allMatch(UpstreamStatus::connected));
      List<Long> pids = g.registry().status().stream().map(UpstreamStatus::pid).toList();
      children = pids.stream().map(ProcessHandle::of).flatMap(Optional::stream)
          .flatMap(h -> java.util.stream.Stream.concat(java.util.stream.Stream.of(h), h.descendants())).toList();
      assertEquals(2, pids.size());
      assertTrue(children.stream().allMatch(ProcessHandle::isAlive));
    } finally {
      g.close();
    }
    for (ProcessHandle h : children) {
      assertFalse(h.isAlive(), "process " + h.pid() + " " + h.info().commandLine().orElse("") + " outlived the gateway");
    }
  }
}
