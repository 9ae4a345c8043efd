package dev.gatehouse.registry;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/** Reads a {@code text/event-stream} body event by event (WHATWG server-sent events rules). */
final class SseReader implements AutoCloseable {
  /** One event; {@code event} defaults to "message". */
  record Event(String id, String event, String data) {}

  private final BufferedReader in;
  private String lastEventId = "";

  SseReader(InputStream body) {
    this.in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8), 65536);
  }

  /** The next event, or {@code null} at the end of the stream. */
  Event next() throws IOException {
    StringBuilder data = null;
    String event = null;
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isEmpty()) {
        if (data != null) {
          return new Event(lastEventId, event == null ? "message" : event, data.toString());
        }
        event = null;
        continue;
      }
      if (line.charAt(0) == ':') {
        continue; // comment / keep-alive
      }
      int colon = line.indexOf(':');
      String field = colon < 0 ? line : line.substring(0, colon);
      String value = colon < 0 ? "" : line.substring(colon + 1);
      if (value.startsWith(" ")) {
        value = value.substring(1);
      }
      switch (field) {
        case "data" -> {
          if (data == null) {
            data = new StringBuilder(value);
          } else {
            data.append('\n').append(value);
          }
        }
        case "event" -> event = value;
        case "id" -> {
          if (value.indexOf('\0') < 0) {
            lastEventId = value;
          }
        }
        default -> {
          // "retry" and unknown fields are ignored
        }
      }
    }
    return null;
  }

  String lastEventId() {
    return lastEventId;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
