package dev.gatehouse.registry;

import static dev.gatehouse.registry.Fixtures.await;
import static dev.gatehouse.registry.Fixtures.samples;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class ToolRegistryTest {
  private final AtomicInteger catalogChanges = new AtomicInteger();
  private final ToolRegistry registry = ToolRegistry.create("test", new ToolRegistry.Listener() {
    @Override
    public void onCatalogChanged(FederatedCatalog before, FederatedCatalog after) {
      catalogChanges.incrementAndGet();
    }
  });

  @AfterEach
  void close() {
    registry.close();
  }

  private static ObjectNode call(String tool, String argName, Object argValue) {
    ObjectNode p = Json.object();
    p.put("name", tool);
    ObjectNode args = p.putObject("arguments");
    if (argValue instanceof Number n) {
      args.put(argName, n.longValue());
    } else if (argValue != null) {
      args.put(argName, argValue.toString());
    }
    return p;
  }

  private static String text(JsonNode result) {
    return result.path("content").path(0).path("text").asText();
  }

  private long pid(String server) {
    return registry.status().stream().filter(s -> s.name().equals(server)).findFirst().orElseThrow().pid();
  }

  private UpstreamStatus status(String server) {
    return registry.status().stream().filter(s -> s.name().equals(server)).findFirst().orElseThrow();
  }

  @Test
  void stdioUpstreamIsFederatedUnderItsServerName() {
    registry.apply(Map.of("faulty", samples("faulty")), "__");
    await("connected", Duration.ofSeconds(30), () -> registry.catalog().tool("faulty__echo").isPresent());
    FederatedCatalog.Entry echo = registry.catalog().tool("faulty__echo").orElseThrow();
    assertEquals("echo", echo.originalName());
    assertEquals("faulty__echo", echo.definition().get("name").asText());
    JsonNode r = registry.call("faulty", "tools/call", call("echo", "text", "hi"), CallContext.none()).join();
    assertEquals("hi", text(r));
  }

  @Test
  void junkOnStdoutIsSkippedNotFatal() {
    registry.apply(Map.of("noisy", samples("faulty", "--noisy")), "__");
    await("connected despite junk", Duration.ofSeconds(30), () -> status("noisy").connected());
  }

  @Test
  void crashedUpstreamComesBackWhileOthersKeepServing() {
    Map<String, UpstreamConfig> ups = new LinkedHashMap<>();
    ups.put("a", samples("faulty"));
    ups.put("b", samples("faulty"));
    registry.apply(ups, "__");
    await("both connected", Duration.ofSeconds(30), () -> status("a").connected() && status("b").connected());
    long before = pid("a");

    CompletableFuture<JsonNode> crash = registry.call("a", "tools/call", call("crash", "code", 3), CallContext.none());
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class, crash::join);
    assertEquals(McpException.UPSTREAM_UNAVAILABLE, ((McpException) e.getCause()).code());

    // b answers while a is down or restarting
    assertEquals("still here", text(registry.call("b", "tools/call", call("echo", "text", "still here"), CallContext.none()).join()));

    await("a reconnected", Duration.ofSeconds(30), () -> status("a").connected() && pid("a") != before);
    assertFalse(ProcessHandle.of(before).map(ProcessHandle::isAlive).orElse(false));
    assertEquals("back", text(registry.call("a", "tools/call", call("echo", "text", "back"), CallContext.none()).join()));
  }

  @Test
  void slowCallTimesOutWithoutHoldingUpOtherUpstreams() {
    UpstreamConfig.Stdio slow = samples("faulty");
    slow = new UpstreamConfig.Stdio(slow.command(), slow.args(), slow.env(), null, true,
        slow.timeouts().withCall(Duration.ofMillis(700)));
    Map<String, UpstreamConfig> ups = new LinkedHashMap<>();
    ups.put("slow", slow);
    ups.put("fast", samples("faulty"));
    registry.apply(ups, "__");
    await("both connected", Duration.ofSeconds(30), () -> status("slow").connected() && status("fast").connected());

    CompletableFuture<JsonNode> sleeping = registry.call("slow", "tools/call", call("sleep", "ms", 5000), CallContext.none());
    long t0 = System.nanoTime();
    assertEquals("quick", text(registry.call("fast", "tools/call", call("echo", "text", "quick"), CallContext.none()).join()));
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class, sleeping::join);
    assertEquals(McpException.UPSTREAM_TIMEOUT, ((McpException) e.getCause()).code());
    assertTrue(e.getCause().getMessage().contains("did not answer 'tools/call'"), e.getCause().getMessage());
    assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 5, "timed out before the tool finished");
    // the slow upstream is still usable afterwards
    assertEquals("ok", text(registry.call("slow", "tools/call", call("echo", "text", "ok"), CallContext.none()).join()));
  }

  @Test
  void upstreamThatNeverAnswersInitializeDoesNotBlockTheOthers() {
    UpstreamConfig.Stdio hang = samples("faulty", "--hang-on-start");
    hang = new UpstreamConfig.Stdio(hang.command(), hang.args(), hang.env(), null, true,
        hang.timeouts().withConnect(Duration.ofMillis(1500)));
    Map<String, UpstreamConfig> ups = new LinkedHashMap<>();
    ups.put("hang", hang);
    ups.put("ok", samples("faulty"));
    registry.apply(ups, "__");
    await("ok connected", Duration.ofSeconds(30), () -> status("ok").connected());
    await("hang failed its first attempt", Duration.ofSeconds(30), () -> status("hang").lastError().isPresent());
    assertFalse(status("hang").connected());
    assertTrue(status("hang").lastError().orElseThrow().contains("initialize"), status("hang").lastError().orElseThrow());
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> registry.call("hang", "tools/call", call("echo", "text", "x"), CallContext.none()).join());
    assertEquals(McpException.UPSTREAM_UNAVAILABLE, ((McpException) e.getCause()).code());
  }

  @Test
  void removedUpstreamsChildProcessIsEnded() {
    registry.apply(Map.of("gone", samples("faulty"), "kept", samples("faulty")), "__");
    await("connected", Duration.ofSeconds(30), () -> status("gone").connected() && status("kept").connected());
    long gone = pid("gone");
    long kept = pid("kept");
    registry.apply(Map.of("kept", samples("faulty")), "__");
    assertFalse(ProcessHandle.of(gone).map(ProcessHandle::isAlive).orElse(false), "removed child still running");
    assertEquals(kept, pid("kept"), "an unchanged upstream must not be restarted");
    assertTrue(registry.catalog().tool("gone__echo").isEmpty());
    registry.close();
    assertFalse(ProcessHandle.of(kept).map(ProcessHandle::isAlive).orElse(false), "child still running after close");
  }

  @Test
  void listChangedRefreshesTheCatalog() {
    registry.apply(Map.of("grow", samples("faulty")), "__");
    await("connected", Duration.ofSeconds(30), () -> status("grow").connected());
    int changes = catalogChanges.get();
    registry.call("grow", "tools/call", call("add_tool", "name", "fresh"), CallContext.none()).join();
    await("new tool visible", Duration.ofSeconds(10), () -> registry.catalog().tool("grow__fresh").isPresent());
    assertTrue(catalogChanges.get() > changes);
  }

  @Test
  void streamableHttpUpstreamIsCalledOverHttp() throws Exception {
    try (RunningServer http = Samples.startHttpTools("127.0.0.1", 0)) {
      registry.apply(Map.of("web", new UpstreamConfig.StreamableHttp(http.url())), "__");
      // The federated catalog is rebuilt just after the upstream reports itself connected: wait for the tool.
      await("connected and listed", Duration.ofSeconds(30),
          () -> status("web").connected() && registry.catalog().tool("web__word_count").isPresent());
      JsonNode r = registry.call("web", "tools/call", call("word_count", "text", "one two three"), CallContext.none()).join();
      assertTrue(text(r).contains("3"), r.toString());
    }
  }

  @Test
  void unreachableHttpUpstreamReportsWhy() {
    registry.apply(Map.of("nowhere", new UpstreamConfig.StreamableHttp(URI.create("http://127.0.0.1:1/mcp"))), "__");
    await("failed", Duration.ofSeconds(30), () -> status("nowhere").lastError().isPresent());
    assertNotEquals(UpstreamStatus.State.CONNECTED, status("nowhere").state());
  }
}
