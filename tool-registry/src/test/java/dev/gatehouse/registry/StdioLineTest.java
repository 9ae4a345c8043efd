package dev.gatehouse.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Lines from a stdio child: kept up to the limit; past it, only enough to find which request they answer. */
@Timeout(10)
class StdioLineTest {
  static StdioTransport.Line read(String json, int max) {
    StdioTransport.Line line = new StdioTransport.Line(max);
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < b.length; i += 1000) {
      line.append(b, i, Math.min(1000, b.length - i));
    }
    return line;
  }

  static String big(int n) {
    return "x".repeat(n);
  }

  @Test
  void aLineWithinTheLimitIsKeptWhole() {
    StdioTransport.Line line = read("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", 1024);
    assertFalse(line.oversized());
    assertEquals("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", new String(line.buffer(), 0, line.length(), StandardCharsets.UTF_8));
  }

  @Test
  void theIdOfAnOversizedAnswerIsFoundBeforeOrAfterTheResult() {
    // Java and Python SDKs: the id first.
    StdioTransport.Line first = read("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"text\":\"" + big(300_000) + "\"}}", 100_000);
    assertTrue(first.oversized());
    assertEquals(7, first.id().asInt());
    assertTrue(first.buffer().length <= StdioTransport.ID_WINDOW + 1, "nothing beyond the window is held");
    // The TypeScript SDK: the id last, after the result.
    StdioTransport.Line last = read("{\"result\":{\"content\":[{\"id\":99,\"text\":\"" + big(300_000) + "\"}]},\"jsonrpc\":\"2.0\",\"id\":\"req-8\"}",
        100_000);
    assertEquals("req-8", last.id().asText());
  }

  @Test
  void anIdInsideTheResultIsNeverTakenForTheAnswersId() {
    // No top-level id at either end: no request is failed by guess.
    StdioTransport.Line line = read("{\"result\":{\"items\":[{\"id\":3,\"v\":\"" + big(300_000) + "\"}],\"more\":{\"id\":4}},\"jsonrpc\":\"2.0\"}",
        100_000);
    assertNull(line.id());
  }
}
