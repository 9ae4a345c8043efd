package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.UpstreamConfig;
import dev.gatehouse.registry.UpstreamStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The false positives of the poisoning checks on honest definitions: the reference MCP servers
 * (server-everything, server-filesystem) and the samples' servers, all fingerprinted, none flagged.
 */
@Timeout(120)
class IntegrityReferenceServersTest {
  @TempDir
  Path dir;

  @Test
  void theReferenceServersDefinitionsRaiseNoFinding() throws Exception {
    NodeTooling.require();
    Map<String, UpstreamConfig> ups = new LinkedHashMap<>();
    ups.put("everything", NodeTooling.server("@modelcontextprotocol/server-everything", "stdio"));
    ups.put("files", NodeTooling.server("@modelcontextprotocol/server-filesystem", dir.toString()));
    ups.put("tools", TestUpstreams.samples("stdio-tools"));
    try (Gateway gateway = Gateway.start(TestUpstreams.noAudit().withServer(ServerSettings.defaults().withPort(0)).withUpstreams(ups),
        Optional.empty())) {
      await("upstreams", Duration.ofSeconds(60), () -> gateway.registry().status().stream().allMatch(UpstreamStatus::connected));
      JsonNode[] report = {null};
      await("every definition fingerprinted", Duration.ofSeconds(20), () -> {
        report[0] = gateway.integrity().report();
        return report[0].path("fingerprints").asInt() == gateway.registry().catalog().tools().size()
            + gateway.registry().catalog().prompts().size() + gateway.registry().catalog().resourceTemplates().size();
      });
      assertTrue(report[0].path("fingerprints").asInt() > 30, report[0].toString());
      System.out.println("integrity: " + report[0].path("findings").size() + " findings (false positives) on "
          + report[0].path("fingerprints").asInt() + " reference definitions");
      assertEquals(0, report[0].path("findings").size(), "false positives on " + report[0].path("fingerprints").asInt()
          + " reference definitions: " + report[0].path("findings"));
    }
  }
}
