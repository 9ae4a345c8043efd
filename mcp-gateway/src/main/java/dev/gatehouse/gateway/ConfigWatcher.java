package dev.gatehouse.gateway;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the config file when its content changes, for hot reload.
 *
 * <p>It watches the file's directory rather than the file, so editors that save by writing a new file
 * and renaming it over the old one are seen. Events are debounced (a save is often several events)
 * and a reload happens only when the file's bytes differ from the last ones read, so a touch or a
 * save without changes does nothing. The directory is also re-checked every couple of seconds, for
 * file systems and setups where events go missing (network mounts, Kubernetes ConfigMap symlink
 * swaps).
 *
 * <p>A valid new config goes to {@code onChange}; an unusable one (invalid, unreadable, deleted) goes
 * to {@code onError} and the watcher keeps going, so fixing the file is picked up. The content the
 * watcher starts with is the baseline and is not reported: load the file first, then start the
 * watcher. Callbacks run on the watcher's own daemon thread, one at a time.
 */
public final class ConfigWatcher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ConfigWatcher.class);
  private static final Duration DEBOUNCE = Duration.ofMillis(200);
  private static final Duration RECHECK = Duration.ofSeconds(2);

  private final Path file;
  private final ConfigLoader loader;
  private final Consumer<GatewayConfig> onChange;
  private final Consumer<ConfigException> onError;
  private final Duration debounce;
  private final Duration recheck;
  private final WatchService watchService;
  private final Thread thread;
  private volatile boolean closed;
  // What the file held when last handled (reported either way): a digest of its bytes, MISSING or
  // UNREADABLE. Only the watcher thread touches it after start.
  private byte[] lastDigest;

  private static final byte[] MISSING = new byte[0];
  private static final byte[] UNREADABLE = new byte[1];

  private ConfigWatcher(
      Path file,
      ConfigLoader loader,
      Duration debounce,
      Duration recheck,
      Consumer<GatewayConfig> onChange,
      Consumer<ConfigException> onError)
      throws IOException {
    this.file = file;
    this.loader = loader;
    this.debounce = debounce;
    this.recheck = recheck;
    this.onChange = onChange;
    this.onError = onError;
    this.watchService = file.getFileSystem().newWatchService();
    try {
      // Registered before the baseline is taken, so a change right after start is not missed.
      file.getParent()
          .register(
              watchService,
              StandardWatchEventKinds.ENTRY_CREATE,
              StandardWatchEventKinds.ENTRY_MODIFY,
              StandardWatchEventKinds.ENTRY_DELETE);
    } catch (IOException | RuntimeException e) {
      watchService.close();
      throw e;
    }
    this.lastDigest = fingerprint();
    this.thread = Thread.ofPlatform().daemon().name("gatehouse-config-watcher").unstarted(this::run);
  }

  /**
   * Watches {@code file} with the default debounce (200 ms), resolving {@code ${env:…}} with {@code
   * loader}.
   *
   * @throws ConfigException if the file's directory cannot be watched
   */
  public static ConfigWatcher start(
      Path file, ConfigLoader loader, Consumer<GatewayConfig> onChange, Consumer<ConfigException> onError) {
    return start(file, loader, DEBOUNCE, RECHECK, onChange, onError);
  }

  /** As {@link #start(Path, ConfigLoader, Consumer, Consumer)} with other timings (tests use short ones). */
  static ConfigWatcher start(
      Path file,
      ConfigLoader loader,
      Duration debounce,
      Duration recheck,
      Consumer<GatewayConfig> onChange,
      Consumer<ConfigException> onError) {
    Objects.requireNonNull(loader, "loader");
    Objects.requireNonNull(onChange, "onChange");
    Objects.requireNonNull(onError, "onError");
    if (debounce.isNegative() || !recheck.isPositive()) {
      throw new IllegalArgumentException("debounce: " + debounce + ", recheck: " + recheck + " (expected: >= 0 and > 0)");
    }
    Path absolute = file.toAbsolutePath().normalize();
    ConfigWatcher watcher;
    try {
      watcher = new ConfigWatcher(absolute, loader, debounce, recheck, onChange, onError);
    } catch (IOException e) {
      throw new ConfigException(absolute.toString(), "cannot watch the file's directory for changes (" + e.getClass().getSimpleName() + ")");
    }
    watcher.thread.start();
    return watcher;
  }

  /** Stops watching; returns once the watcher thread has ended (unless called from a callback). */
  @Override
  public void close() {
    closed = true;
    try {
      watchService.close();
    } catch (IOException e) {
      log.debug("closing the config watch service failed", e);
    }
    if (Thread.currentThread() != thread) {
      try {
        thread.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void run() {
    long recheckNanos = recheck.toNanos();
    long nextRecheck = System.nanoTime() + recheckNanos;
    long settleAt = 0; // when pending, the time the file is read, pushed back by each new event
    boolean pending = false;
    boolean watching = true;
    try {
      while (!closed) {
        long now = System.nanoTime();
        long wakeAt = pending ? settleAt : nextRecheck;
        WatchKey key = null;
        if (watching) {
          key = watchService.poll(Math.max(0, wakeAt - now), TimeUnit.NANOSECONDS);
        } else {
          // Short naps, so close() is noticed promptly without interrupting anyone.
          Thread.sleep(Math.clamp(TimeUnit.NANOSECONDS.toMillis(wakeAt - now), 1, 100));
        }
        if (key != null) {
          if (concernsFile(key)) {
            pending = true;
            settleAt = System.nanoTime() + debounce.toNanos();
          }
          if (!key.reset()) {
            // The directory went away or was replaced; fall back to periodic checks.
            log.warn("config directory {} can no longer be watched; checking it every {} s", file.getParent(), recheck.toSeconds());
            watching = false;
          }
          continue;
        }
        now = System.nanoTime();
        if (pending && now - settleAt >= 0) {
          pending = false;
          check();
        } else if (!pending && now - nextRecheck >= 0) {
          nextRecheck = now + recheckNanos;
          // Only a real difference starts the settle time, as an event would.
          if (!Arrays.equals(fingerprint(), lastDigest)) {
            pending = true;
            settleAt = now + debounce.toNanos();
          }
        }
      }
    } catch (ClosedWatchServiceException | InterruptedException e) {
      // close() was called
    } catch (RuntimeException | Error e) {
      log.error("config watcher stopped; config changes are no longer picked up", e);
    }
  }

  private boolean concernsFile(WatchKey key) {
    boolean relevant = false;
    for (WatchEvent<?> event : key.pollEvents()) {
      if (event.kind() == StandardWatchEventKinds.OVERFLOW || file.getFileName().equals(event.context())) {
        relevant = true;
      }
    }
    return relevant;
  }

  /** How often the file has been read since the watcher started (tests). */
  final java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();

  private void check() {
    reads.incrementAndGet();
    byte[] bytes;
    byte[] fingerprint;
    try {
      bytes = Files.readAllBytes(file);
      fingerprint = sha256(bytes);
    } catch (NoSuchFileException e) {
      bytes = null;
      fingerprint = MISSING;
    } catch (IOException e) {
      bytes = null;
      fingerprint = UNREADABLE;
    }
    if (Arrays.equals(fingerprint, lastDigest)) {
      return;
    }
    lastDigest = fingerprint;
    if (fingerprint == MISSING) {
      deliverError(new ConfigException(file.toString(), "the file was removed; keeping the running config"));
      return;
    }
    if (fingerprint == UNREADABLE) {
      deliverError(new ConfigException(file.toString(), "cannot read the file; keeping the running config"));
      return;
    }
    GatewayConfig config;
    try {
      config = loader.parse(bytes, file.toString());
    } catch (ConfigException e) {
      deliverError(e);
      return;
    }
    try {
      onChange.accept(config);
    } catch (RuntimeException e) {
      log.error("applying the reloaded config failed", e);
    }
  }

  private void deliverError(ConfigException e) {
    try {
      onError.accept(e);
    } catch (RuntimeException failure) {
      log.error("reporting a config error failed", failure);
    }
  }

  /** A digest of the file's bytes, or MISSING or UNREADABLE. */
  private byte[] fingerprint() {
    try {
      return sha256(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      return MISSING;
    } catch (IOException e) {
      return UNREADABLE;
    }
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
