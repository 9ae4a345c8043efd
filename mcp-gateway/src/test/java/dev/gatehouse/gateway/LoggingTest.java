package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The gateway's log: JSON lines when asked, and levels per logger from the config file. */
@Timeout(120)
class LoggingTest {
  @TempDir
  Path dir;

  @Test
  void jsonLogsAreOneObjectPerLineAndLevelsApplyPerLogger() throws Exception {
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + TestUpstreams.samplesYaml("local", "faulty")
        + "audit: { enabled: false }\n"
        + "logging:\n  format: json\n  level: info\n  levels: { gatehouse.calls: debug, org.eclipse.jetty: warn }\n");
    try (GatewayProcess g = GatewayProcess.start(file, List.of())) {
      g.awaitReady();
      assertEquals(200, StdioUpstreamEndToEndTest.execute(g.base, "local__echo", "{\"text\":\"logged\"}").statusCode());
      TestUpstreams.await("the call's debug line", java.time.Duration.ofSeconds(10), () -> g.output().contains("gatehouse.calls"));
      for (String line : g.output().lines().filter(l -> !l.isBlank()).toList()) {
        JsonNode event = Json.MAPPER.readTree(line);
        for (String field : List.of("ts", "level", "thread", "logger", "msg")) {
          assertTrue(event.hasNonNull(field), field + " missing in " + line);
        }
        assertFalse(event.path("logger").asText().startsWith("org.eclipse.jetty") && event.path("level").asText().equals("INFO"),
            "org.eclipse.jetty is at warn: " + line);
      }
      assertTrue(g.output().contains("\"level\":\"DEBUG\",\"thread\""), "gatehouse.calls logs at debug");
    }
  }
}
