package dev.gatehouse.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The SSE reader and the stream assembler on their own. */
@Timeout(10)
class StreamPartsTest {

  @Test
  void sseReadsEventsAcrossLineEndingsCommentsAndMultiLineData() throws IOException {
    String text = ": comment\r\nevent: a\r\ndata: one\r\ndata: two\r\n\r\ndata:no-space\n\n\rdata: cr\r\r\ndata: last-without-blank";
    Sse sse = new Sse(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
    assertEquals(new Sse.Event("a", "one\ntwo"), sse.next());
    assertEquals(new Sse.Event("", "no-space"), sse.next());
    assertEquals(new Sse.Event("", "cr"), sse.next());
    assertEquals(new Sse.Event("", "last-without-blank"), sse.next());
    assertNull(sse.next());
  }

  @Test
  void translatedEventsBecomeOpenAiChunksWithRoleFirstAndFinishLast() throws IOException {
    List<ObjectNode> out = new ArrayList<>();
    StreamState s = new StreamState(out::add, new Route("p", "m", "k"), 1, true, "chatcmpl-x", "m", 7);
    s.text(0, "a");
    s.toolStart(0, 0, "call_1", "f");
    s.toolArguments(0, 0, "{\"x\":");
    s.toolArguments(0, 0, "1}");
    s.finish(0, "stop");
    s.usage(Usage.of(3, 4, 0, 0));
    s.complete();
    s.end();
    assertEquals("assistant", out.get(0).path("choices").path(0).path("delta").path("role").asText());
    assertEquals("", out.get(0).path("choices").path(0).path("delta").path("content").asText());
    assertTrue(out.get(1).path("usage").isNull(), "with include_usage every chunk carries usage: null");
    ObjectNode finish = out.get(out.size() - 2);
    assertEquals("tool_calls", finish.path("choices").path(0).path("finish_reason").asText(), "a tool call is never a plain stop");
    assertEquals(7, out.get(out.size() - 1).path("usage").path("total_tokens").asInt());
    ObjectNode whole = s.assembled();
    assertEquals("{\"x\":1}", whole.path("choices").path(0).path("message").path("tool_calls").path(0).path("function").path("arguments").asText());
    assertEquals("chat.completion", whole.path("object").asText());
  }

  @Test
  void aStreamThatNeverSaysItIsDoneIsAnError() {
    StreamState s = new StreamState(c -> { }, new Route("p", "m", "k"), 1, false, "id", "m", 1);
    s.text(0, "partial");
    assertThrows(IOException.class, s::end);
  }
}
