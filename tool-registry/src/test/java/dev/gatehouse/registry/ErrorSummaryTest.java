package dev.gatehouse.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ErrorSummaryTest {
  @Test
  void aJsonErrorBodyIsReducedToItsMessage() {
    assertEquals("Session not found", StreamableHttpTransport.summary(
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32001,\"message\":\"Session not found\"}}"));
    assertEquals("token expired", StreamableHttpTransport.summary("{\"error\":\"token expired\"}"));
    assertEquals("Bad request: no session", StreamableHttpTransport.summary(
        "{\"message\":\"Bad request: no session\",\"stackTrace\":[{\"methodName\":\"build\",\"lineNumber\":81}]}"));
  }

  @Test
  void anythingElseIsOneClippedLine() {
    assertEquals("line one line two", StreamableHttpTransport.summary("  line one\n\tline two  "));
    String long_ = "x".repeat(1000);
    String s = StreamableHttpTransport.summary(long_);
    assertTrue(s.length() <= 301 && s.endsWith("…"), s);
    assertEquals("{not json", StreamableHttpTransport.summary("{not json"));
  }
}
