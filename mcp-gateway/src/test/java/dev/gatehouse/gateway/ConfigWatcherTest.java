package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ConfigWatcherTest {

  private static final Duration DEBOUNCE = Duration.ofMillis(50);
  // Long enough that the periodic re-check does not stand in for events, except where a test wants it.
  private static final Duration RECHECK = Duration.ofSeconds(30);
  private static final long QUIET_MILLIS = 400;
  private static final long WAIT_SECONDS = 3;

  @TempDir Path dir;

  // Every callback, in order: a GatewayConfig or a ConfigException.
  private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
  private ConfigWatcher watcher;

  @AfterEach
  void stop() {
    if (watcher != null) {
      watcher.close();
    }
  }

  private Path config(int port) throws IOException {
    Path file = dir.resolve("gatehouse.yaml");
    Files.writeString(file, yaml(port));
    return file;
  }

  private static String yaml(int port) {
    return "server:\n  port: " + port + "\n";
  }

  private void watch(Path file, Duration recheck) {
    watcher = ConfigWatcher.start(file, new ConfigLoader(Map.<String, String>of()::get), DEBOUNCE, recheck, events::add, events::add);
  }

  private Object next() throws InterruptedException {
    Object event = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
    assertNotNull(event, "no callback within " + WAIT_SECONDS + " s");
    return event;
  }

  private int nextPort() throws InterruptedException {
    return assertInstanceOf(GatewayConfig.class, next()).server().port();
  }

  private void assertQuiet() throws InterruptedException {
    assertNull(events.poll(QUIET_MILLIS, TimeUnit.MILLISECONDS), "unexpected callback");
  }

  @Test
  void startingDoesNotReportTheCurrentFile() throws Exception {
    watch(config(1000), RECHECK);

    assertQuiet();
  }

  @Test
  void editInPlaceIsReported() throws Exception {
    Path file = config(1000);
    watch(file, RECHECK);

    Files.writeString(file, yaml(1001));

    assertEquals(1001, nextPort());
    assertQuiet();
  }

  @Test
  void writesToOtherFilesInTheDirectoryNeverReadTheConfig() throws Exception {
    Path file = config(1000);
    watch(file, RECHECK);
    Path busy = dir.resolve("audit.db-wal"); // say, an audit store next to the config
    for (int i = 0; i < 200; i++) {
      Files.writeString(busy, "x".repeat(i));
    }
    assertQuiet();
    assertEquals(0, watcher.reads.get(), "writes to another file made the watcher read the config");
    Files.writeString(file, yaml(1001));
    assertEquals(1001, nextPort());
    assertEquals(1, watcher.reads.get());
  }

  @Test
  void replaceByRenameIsReported() throws Exception {
    Path file = config(1000);
    watch(file, RECHECK);

    // How many editors save: write a temporary file, then rename it over the original.
    Path temp = dir.resolve(".gatehouse.yaml.swp");
    Files.writeString(temp, yaml(1002));
    Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

    assertEquals(1002, nextPort());
    assertQuiet();
  }

  @Test
  void invalidEditIsReportedAsAnErrorAndTheFixAsAChange() throws Exception {
    Path file = config(1000);
    watch(file, RECHECK);

    Files.writeString(file, "server:\n  prot: 1003\n");
    ConfigException error = assertInstanceOf(ConfigException.class, next());
    assertTrue(error.getMessage().startsWith("config error at server (line 2, column 3): unknown key 'prot'"), error.getMessage());

    Files.writeString(file, yaml(1003));
    assertEquals(1003, nextPort());
  }

  @Test
  void revertToTheLastGoodContentAfterAnErrorIsReported() throws Exception {
    Path file = config(1000);
    watch(file, RECHECK);

    Files.writeString(file, "server: [");
    assertInstanceOf(ConfigException.class, next());
    // Same bytes as at start, but the running state now shows an error that must be cleared.
    Files.writeString(file, yaml(1000));

    assertEquals(1000, nextPort());
  }

  @Test
  void touchWithoutChangeIsIgnored() throws Exception {
    Path file = config(1000);
    watch(file, RECHECK);

    Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
    Files.writeString(file, yaml(1000));

    assertQuiet();
  }

  @Test
  void burstOfWritesIsReportedOnce() throws Exception {
    Path file = config(1000);
    watch(file, RECHECK);

    for (int port = 1001; port <= 1005; port++) {
      Files.writeString(file, yaml(port));
    }

    assertEquals(1005, nextPort());
    assertQuiet();
  }

  @Test
  void otherFilesInTheDirectoryAreIgnored() throws Exception {
    watch(config(1000), RECHECK);

    Files.writeString(dir.resolve("other.yaml"), yaml(2000));

    assertQuiet();
  }

  @Test
  void removedFileIsAnErrorAndItsReturnAChange() throws Exception {
    Path file = config(1000);
    watch(file, RECHECK);

    Files.delete(file);
    ConfigException error = assertInstanceOf(ConfigException.class, next());
    assertTrue(error.getMessage().endsWith("the file was removed; keeping the running config"), error.getMessage());

    Files.writeString(file, yaml(1000));
    assertEquals(1000, nextPort());
  }

  @Test
  void symlinkSwapWithoutAnEventForTheFileIsFoundByTheRecheck() throws Exception {
    // Kubernetes mounts a ConfigMap as gatehouse.yaml -> ..data/gatehouse.yaml and updates it by
    // swapping the ..data link: the directory sees events for ..data, never for gatehouse.yaml.
    Path v1 = Files.createDirectory(dir.resolve("v1"));
    Path v2 = Files.createDirectory(dir.resolve("v2"));
    Files.writeString(v1.resolve("gatehouse.yaml"), yaml(1000));
    Files.writeString(v2.resolve("gatehouse.yaml"), yaml(1006));
    Files.createSymbolicLink(dir.resolve("..data"), Path.of("v1"));
    Path file = Files.createSymbolicLink(dir.resolve("gatehouse.yaml"), Path.of("..data", "gatehouse.yaml"));
    watch(file, Duration.ofMillis(100));

    Path next = Files.createSymbolicLink(dir.resolve("..data_tmp"), Path.of("v2"));
    Files.move(next, dir.resolve("..data"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

    assertEquals(1006, nextPort());
  }

  @Test
  void closeStopsPromptlyAndForGood() throws Exception {
    Path file = config(1000);
    watch(file, RECHECK);

    long started = System.nanoTime();
    watcher.close();
    assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(1), "close took too long");

    Files.writeString(file, yaml(1007));
    assertQuiet();
  }
}
