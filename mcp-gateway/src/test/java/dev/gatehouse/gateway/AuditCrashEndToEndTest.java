package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditSettings;
import dev.gatehouse.audit.SqliteAuditStore;
import dev.gatehouse.audit.AuditVerifyResult;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.identity.ApiKeys;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway as a separate process on its default audit settings (durable: {@code commit}), killed
 * with SIGKILL right after N acknowledged calls: after a restart every one of the N steps is in the
 * store and the chain verifies.
 */
@Timeout(120)
class AuditCrashEndToEndTest {
  static final int N = 25;
  @TempDir
  Path dir;

  @Test
  void everyAcknowledgedCallSurvivesSigkill() throws Exception {
    String key = ApiKeys.generate();
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + samplesYaml("local", "faulty")
        + "identity:\n  api_keys:\n    - { id: a, hash: \"" + ApiKeys.hash(key) + "\", subject: agent }\n");
    // No audit section: the default config, whose audit is durable.
    GatewayProcess gateway = GatewayProcess.start(file, List.of());
    try {
      URI base = gateway.base;
      gateway.awaitReady();
      for (int i = 1; i <= N; i++) {
        HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(base.resolve(ExecuteHandler.PATH))
            .header("Content-Type", "application/json").header("Authorization", "Bearer " + key).header("X-Chain-Id", "crash-test")
            .POST(HttpRequest.BodyPublishers.ofString(ExecuteTest.chatCall("call_" + i, "local__echo", "{\"text\":\"" + i + "\"}"))).build());
        assertEquals(200, r.statusCode(), r.body()); // acknowledged
      }
    } finally {
      gateway.close(); // SIGKILL: no shutdown hook, no flush
    }
    Path db = dir.resolve(AuditSettings.defaults().sqlitePath());
    AuditVerifyResult verified = SqliteAuditStore.verify(db);
    assertTrue(verified.ok(), verified.message());
    try (SqliteAuditStore store = SqliteAuditStore.open(db, AuditSettings.defaults())) {
      assertEquals(N, store.chain("crash-test").size(), "every acknowledged call has its step");
    }
  }
}
