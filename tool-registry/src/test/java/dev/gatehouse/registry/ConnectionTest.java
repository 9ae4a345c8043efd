package dev.gatehouse.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The JSON-RPC session layer against a hand-written fake transport. */
@Timeout(10)
class ConnectionTest {

  /** Records what we send; the test plays the upstream through {@link #deliver}. */
  static final class FakeTransport implements Transport {
    final List<ObjectNode> sent = new CopyOnWriteArrayList<>();
    Listener listener;

    @Override
    public void start(Listener listener, Duration timeout) {
      this.listener = listener;
    }

    @Override
    public java.util.concurrent.CompletableFuture<Void> send(ObjectNode message, long deadlineNanos) {
      sent.add(message);
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }

    void deliver(String json, JsonNode relatedId) throws Exception {
      listener.onMessage((ObjectNode) Json.MAPPER.readTree(json), relatedId);
    }

    ObjectNode lastWith(String method) {
      for (int i = sent.size() - 1; i >= 0; i--) {
        if (method.equals(sent.get(i).path("method").asText())) {
          return sent.get(i);
        }
      }
      throw new AssertionError("nothing sent with method " + method + ": " + sent);
    }

    @Override
    public void close() {}
  }

  /** A downstream call that records what is relayed to it. */
  static final class RecordingCall implements CallContext {
    final Object owner;
    final JsonNode token;
    final List<ObjectNode> notified = new CopyOnWriteArrayList<>();
    final List<String> requests = new CopyOnWriteArrayList<>();
    final List<Runnable> cancelHooks = new ArrayList<>();
    CompletableFuture<JsonNode> answer = new CompletableFuture<>();

    RecordingCall(Object owner, JsonNode token) {
      this.owner = owner;
      this.token = token;
    }

    @Override
    public Optional<JsonNode> progressToken() {
      return Optional.ofNullable(token);
    }

    @Override
    public void notify(String method, ObjectNode params) {
      notified.add(params);
    }

    @Override
    public CompletableFuture<JsonNode> request(String method, ObjectNode params) {
      requests.add(method);
      return answer;
    }

    @Override
    public Object owner() {
      return owner;
    }

    @Override
    public void onCancel(Runnable action) {
      cancelHooks.add(action);
    }
  }

  private final FakeTransport transport = new FakeTransport();
  private final Connection connection = new Connection("fake", transport, new Connection.Events() {
    @Override
    public void onNotification(Connection source, String method, ObjectNode params) {}

    @Override
    public void onClosed(Connection source, String reason) {}
  }, TIMERS);

  private static final java.util.concurrent.ScheduledExecutorService TIMERS =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "test-timers");
        t.setDaemon(true);
        return t;
      });

  ConnectionTest() throws Exception {
    transport.start(connection, Duration.ofSeconds(1));
  }

  private long send(CallContext ctx) {
    connection.request("tools/call", Json.object(), ctx, Duration.ofSeconds(5));
    return transport.lastWith("tools/call").get("id").asLong();
  }

  @Test
  void progressTokensAreRewrittenUpstreamAndRestoredForTheCaller() throws Exception {
    RecordingCall call = new RecordingCall("a", TextNode.valueOf("client-token"));
    long id = send(call);
    ObjectNode sent = transport.lastWith("tools/call");
    assertEquals(id, sent.path("params").path("_meta").path("progressToken").asLong(), "upstream sees our own token");
    transport.deliver("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":" + id + ",\"progress\":5}}", null);
    assertEquals(1, call.notified.size());
    assertEquals("client-token", call.notified.get(0).get("progressToken").asText());
  }

  @Test
  void cancellingTheCallTellsTheUpstream() {
    RecordingCall call = new RecordingCall("a", null);
    CompletableFuture<JsonNode> f = connection.request("tools/call", Json.object(), call, Duration.ofSeconds(5));
    long id = transport.lastWith("tools/call").get("id").asLong();
    call.cancelHooks.forEach(Runnable::run);
    assertTrue(f.isCancelled());
    TestWait.until(() -> transport.sent.stream().anyMatch(m -> m.path("method").asText().equals("notifications/cancelled")));
    assertEquals(id, transport.lastWith("notifications/cancelled").path("params").path("requestId").asLong());
  }

  @Test
  void timeoutCancelsUpstreamAndSaysWhatTimedOut() {
    CompletableFuture<JsonNode> f = connection.request("tools/call", Json.object(), CallContext.none(), Duration.ofMillis(50));
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class, f::join);
    McpException m = (McpException) e.getCause();
    assertEquals(McpException.UPSTREAM_TIMEOUT, m.code());
    assertTrue(m.getMessage().contains("'tools/call' within 50 ms"), m.getMessage());
    TestWait.until(() -> transport.sent.stream().anyMatch(x -> x.path("method").asText().equals("notifications/cancelled")));
  }

  @Test
  void samplingOnARelatedStreamGoesToThatCallEvenWithOthersInFlight() throws Exception {
    RecordingCall a = new RecordingCall("session-a", null);
    RecordingCall b = new RecordingCall("session-b", null);
    long idA = send(a);
    send(b);
    transport.deliver("{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"method\":\"sampling/createMessage\",\"params\":{}}",
        Json.MAPPER.getNodeFactory().numberNode(idA));
    assertEquals(List.of("sampling/createMessage"), a.requests);
    assertTrue(b.requests.isEmpty());
    a.answer.complete(Json.MAPPER.readTree("{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"hi\"}}"));
    TestWait.until(() -> transport.sent.stream().anyMatch(m -> "s1".equals(m.path("id").asText()) && m.has("result")));
  }

  @Test
  void unattributableSamplingIsRefusedRatherThanSentToAnotherClient() throws Exception {
    RecordingCall a = new RecordingCall("session-a", null);
    RecordingCall b = new RecordingCall("session-b", null);
    send(a);
    send(b);
    transport.deliver("{\"jsonrpc\":\"2.0\",\"id\":\"s2\",\"method\":\"elicitation/create\",\"params\":{}}", null);
    assertTrue(a.requests.isEmpty() && b.requests.isEmpty());
    TestWait.until(() -> transport.sent.stream().anyMatch(m -> "s2".equals(m.path("id").asText()) && m.has("error")));
  }

  @Test
  void singleCallInFlightReceivesUnrelatedSampling() throws Exception {
    RecordingCall a = new RecordingCall("session-a", null);
    send(a);
    transport.deliver("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"sampling/createMessage\",\"params\":{}}", null);
    assertEquals(List.of("sampling/createMessage"), a.requests);
  }

  @Test
  void upstreamErrorsKeepTheirCodeAndMessage() throws Exception {
    CompletableFuture<JsonNode> f = connection.request("tools/call", Json.object(), CallContext.none(), Duration.ofSeconds(5));
    long id = transport.lastWith("tools/call").get("id").asLong();
    transport.deliver("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"error\":{\"code\":-32602,\"message\":\"Unknown tool: x\"}}", null);
    McpException m = (McpException) org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class, f::join).getCause();
    assertEquals(-32602, m.code());
    assertEquals("Unknown tool: x", m.getMessage());
    assertFalse(connection.isClosed());
  }

  /** Polls a condition for up to two seconds. */
  static final class TestWait {
    static void until(java.util.function.BooleanSupplier c) {
      long end = System.nanoTime() + 2_000_000_000L;
      while (!c.getAsBoolean()) {
        if (System.nanoTime() > end) {
          throw new AssertionError("condition not met");
        }
        Thread.onSpinWait();
      }
    }
  }
}
