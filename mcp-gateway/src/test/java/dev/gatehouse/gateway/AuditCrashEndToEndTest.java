package dev.gatehouse.gateway;

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
 * The gateway as a separate process, killed with SIGKILL right after N acknowledged calls: after a
 * restart every one of the N steps is in the store and the chain verifies.
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
        + "identity:\n  api_keys:\n    - { id: a, hash: \"" + ApiKeys.hash(key) + "\", subject: agent }\n"
        + "audit: { store: \"sqlite:crash.db\", durability: commit }\n");
    List<String> cmd = List.of(TestUpstreams.java(), "-cp", System.getProperty("java.class.path"),
        "dev.gatehouse.gateway.Main", "--config", file.toString());
    Process gateway = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      URI base = awaitListening(gateway);
      awaitReady(base);
      for (int i = 1; i <= N; i++) {
        HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(base.resolve(ExecuteHandler.PATH))
            .header("Content-Type", "application/json").header("Authorization", "Bearer " + key).header("X-Chain-Id", "crash-test")
            .POST(HttpRequest.BodyPublishers.ofString(ExecuteTest.chatCall("call_" + i, "local__echo", "{\"text\":\"" + i + "\"}"))).build());
        assertEquals(200, r.statusCode(), r.body()); // acknowledged
      }
    } finally {
      gateway.descendants().forEach(ProcessHandle::destroyForcibly);
      gateway.destroyForcibly(); // SIGKILL: no shutdown hook, no flush
      gateway.waitFor(10, TimeUnit.SECONDS);
    }
    Path db = dir.resolve("crash.db");
    AuditVerifyResult verified = AuditStore.verify(db);
    assertTrue(verified.ok(), verified.message());
    try (AuditStore store = AuditStore.open(db, AuditSettings.defaults())) {
      assertEquals(N, store.chain("crash-test").size(), "every acknowledged call has its step");
    }
  }

  private static URI awaitListening(Process p) throws Exception {
    Pattern listening = Pattern.compile("listening on (http://\\S+)");
    CompletableFuture<URI> found = new CompletableFuture<>();
    StringBuilder seen = new StringBuilder();
    Thread.ofVirtual().start(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          synchronized (seen) {
            seen.append(line).append('\n');
          }
          Matcher m = listening.matcher(line);
          if (m.find()) {
            found.complete(URI.create(m.group(1)));
          }
        }
        found.completeExceptionally(new AssertionError("gateway exited: " + seen));
      } catch (Exception e) {
        found.completeExceptionally(e);
      }
    });
    return found.get(60, TimeUnit.SECONDS);
  }

  private static void awaitReady(URI base) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (TestUpstreams.get(base.resolve("/readyz")).statusCode() == 200) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("upstream never connected");
  }
}
