package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A session's queue for its stream: answers are never dropped; a client that does not read loses the session. */
@Timeout(10)
class McpSessionTest {
  static McpSession session() {
    return new McpSession("s1", new McpSession.Federated(), true, Principal.anonymous());
  }

  static ObjectNode answer(int id) {
    return JsonRpc.result(dev.gatehouse.registry.Json.MAPPER.getNodeFactory().numberNode(id), dev.gatehouse.registry.Json.object());
  }

  @Test
  void aFullQueueClosesTheSessionInsteadOfDroppingAnswers() throws Exception {
    McpSession s = session();
    long stream = s.attachStream();
    for (int i = 0; i < McpSession.MAX_QUEUED; i++) {
      assertTrue(s.enqueue(answer(i)));
    }
    assertFalse(s.enqueue(answer(McpSession.MAX_QUEUED)), "the 1001st answer is not silently queued over the first");
    assertTrue(s.closed() && s.overflowed());
    assertTrue(s.closeReason().contains("waited for the client"), s.closeReason());
    // What was queued is still delivered in order to the stream that is draining it.
    assertEquals(0, s.poll(0, stream).path("id").asInt());
  }

  @Test
  void aListChangedNotificationWaitingAlreadyIsNotQueuedTwice() throws Exception {
    McpSession s = session();
    long stream = s.attachStream();
    for (int i = 0; i < 5000; i++) {
      assertTrue(s.enqueue(JsonRpc.notification("notifications/tools/list_changed", null)));
    }
    assertFalse(s.closed());
    assertEquals("notifications/tools/list_changed", s.poll(0, stream).path("method").asText());
    assertNull(s.poll(0, stream));
  }

  @Test
  void aReplacedStreamTakesNoMoreMessages() throws Exception {
    McpSession s = session();
    long first = s.attachStream();
    long second = s.attachStream();
    s.enqueue(answer(1));
    assertNull(s.poll(0, first));
    assertFalse(s.streamCurrent(first));
    assertEquals(1, s.poll(0, second).path("id").asInt());
  }
}
