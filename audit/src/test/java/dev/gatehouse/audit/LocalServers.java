package dev.gatehouse.audit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Private PostgreSQL and Redis servers for tests: the Debian packages' binaries ({@code postgresql},
 * {@code redis-server}, installed by {@code scripts/services-setup}), each started on a free loopback
 * port with its own data directory under the temp directory, stopped and deleted by {@code close}.
 * When the tests run as root, PostgreSQL (which refuses root) runs as the {@code postgres} user.
 */
public final class LocalServers {
  private LocalServers() {}

  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean root() {
    return "root".equals(System.getProperty("user.name"));
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: the temp directory is cleaned by the machine anyway
    }
  }

  private static void awaitPort(int port, Process process, Path log) {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException e) {
        if (process != null && !process.isAlive()) {
          throw new IllegalStateException("the server exited with " + process.exitValue() + ": " + tail(log));
        }
        sleepQuietly(25);
      }
    }
    throw new IllegalStateException("the server did not listen on " + port + " within " + START_TIMEOUT + ": " + tail(log));
  }

  private static String tail(Path log) {
    try {
      String s = Files.readString(log);
      return s.length() > 2000 ? s.substring(s.length() - 2000) : s;
    } catch (IOException e) {
      return "(no log)";
    }
  }

  private static int run(List<String> command, Path log) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      if (!p.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("timed out: " + command);
      }
      return p.exitValue();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A private PostgreSQL cluster on 127.0.0.1; {@link #database} makes a fresh database per test. */
  public static final class Postgres implements AutoCloseable {
    private static final AtomicInteger databases = new AtomicInteger();
    private final Path dir;
    private final Path data;
    private final Path bin;
    private final Path log;
    private final int port;
    private Process process;

    private Postgres(Path dir, Path bin) {
      this.dir = dir;
      this.data = dir.resolve("data");
      this.bin = bin;
      this.log = dir.resolve("postgres.log");
      this.port = freePort();
    }

    /** initdb and start; fails with the reason when PostgreSQL is not installed. */
    public static Postgres start() {
      Path bin = binaries();
      try {
        Path dir = Files.createTempDirectory("gatehouse-pg-");
        Postgres pg = new Postgres(dir, bin);
        if (root()) {
          UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
          Files.setOwner(dir, users.lookupPrincipalByName("postgres"));
          Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
        Files.writeString(pg.log, "", StandardCharsets.UTF_8);
        if (root()) {
          Files.setOwner(pg.log, dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres"));
        }
        int rc = run(pg.asOwner(bin.resolve("initdb").toString(), "-D", pg.data.toString(), "-U", "gatehouse", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync"), pg.log);
        if (rc != 0) {
          throw new IllegalStateException("initdb failed (" + rc + "): " + tail(pg.log));
        }
        pg.startServer();
        return pg;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private static Path binaries() {
      Path root = Path.of("/usr/lib/postgresql");
      try (Stream<Path> versions = Files.isDirectory(root) ? Files.list(root) : Stream.empty()) {
        return versions.map(v -> v.resolve("bin"))
            .filter(b -> Files.isExecutable(b.resolve("postgres")) && Files.isExecutable(b.resolve("initdb")))
            .max(Comparator.comparing(b -> Integer.parseInt(b.getParent().getFileName().toString().replaceAll("\\D", "0"))))
            .orElseThrow(() -> new IllegalStateException(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): run scripts/services-setup"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private List<String> asOwner(String... command) {
      List<String> c = new ArrayList<>();
      if (root()) {
        c.addAll(List.of("runuser", "-u", "postgres", "--"));
      }
      c.addAll(List.of(command));
      return c;
    }

    private void startServer() {
      try {
        process = new ProcessBuilder(asOwner(bin.resolve("postgres").toString(), "-D", data.toString(), "-p", Integer.toString(port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir, "-c", "fsync=off",
            "-c", "max_connections=200", "-c", "shared_buffers=32MB"))
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      awaitPort(port, process, log);
      // Listening comes a moment before accepting logins: wait for a real one.
      long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
      while (true) {
        try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), "gatehouse", "")) {
          return;
        } catch (SQLException e) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("PostgreSQL did not accept connections: " + e.getMessage() + " " + tail(log));
          }
          sleepQuietly(25);
        }
      }
    }

    public int port() {
      return port;
    }

    /** {@code jdbc:postgresql://127.0.0.1:PORT/NAME}. */
    public String jdbcUrl(String database) {
      return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** Creates a new empty database; returns its {@code postgresql://gatehouse@127.0.0.1:PORT/NAME} URL. */
    public String database() {
      String name = "t" + ProcessHandle.current().pid() + "_" + databases.incrementAndGet();
      try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), "gatehouse", ""); Statement s = c.createStatement()) {
        s.execute("CREATE DATABASE " + name);
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
      return "postgresql://gatehouse@127.0.0.1:" + port + "/" + name;
    }

    /** Kills the server and its backends at once (SIGKILL: no shutdown), as a crash or a lost host would. */
    public void kill() {
      List<ProcessHandle> all = new ArrayList<>();
      ProcessHandle.of(postmasterPid()).ifPresent(pm -> {
        all.add(pm);
        pm.descendants().forEach(all::add);
      });
      if (process != null) {
        all.add(process.toHandle());
        process.descendants().forEach(all::add);
      }
      all.forEach(ProcessHandle::destroyForcibly);
      long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
      while (System.nanoTime() < deadline && all.stream().anyMatch(ProcessHandle::isAlive)) {
        sleepQuietly(10);
      }
      try {
        Files.deleteIfExists(data.resolve("postmaster.pid"));
        Files.deleteIfExists(dir.resolve(".s.PGSQL." + port + ".lock"));
        Files.deleteIfExists(dir.resolve(".s.PGSQL." + port));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** Starts the server again on the same port and data (after {@link #kill} or {@link #stop}). */
    public void restart() {
      startServer();
    }

    /** A fast shutdown: clients are disconnected, the server exits cleanly. */
    public void stop() {
      run(asOwner(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop"), log);
      if (process != null) {
        try {
          process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    private long postmasterPid() {
      try {
        return Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid")).get(0).strip());
      } catch (IOException | RuntimeException e) {
        return -1;
      }
    }

    @Override
    public void close() {
      if (process != null && process.isAlive()) {
        kill();
      }
      deleteTree(dir);
    }
  }

  /** A private Redis server on 127.0.0.1 without persistence. */
  public static final class Redis implements AutoCloseable {
    private final Path dir;
    private final Path log;
    private final int port;
    private Process process;

    private Redis(Path dir) {
      this.dir = dir;
      this.log = dir.resolve("redis.log");
      this.port = freePort();
    }

    public static Redis start() {
      Path server = Stream.of("/usr/bin/redis-server", "/usr/local/bin/redis-server").map(Path::of).filter(Files::isExecutable)
          .findFirst().orElseThrow(() -> new IllegalStateException("redis-server is not installed: run scripts/services-setup"));
      try {
        Redis r = new Redis(Files.createTempDirectory("gatehouse-redis-"));
        r.startServer(server);
        return r;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private Path server;

    private void startServer(Path server) {
      this.server = server;
      try {
        process = new ProcessBuilder(server.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", dir.toString(), "--protected-mode", "no")
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      awaitPort(port, process, log);
    }

    public int port() {
      return port;
    }

    /** {@code redis://127.0.0.1:PORT}. */
    public String url() {
      return "redis://127.0.0.1:" + port;
    }

    /** Stops the server at once (its data is gone: there is no persistence). */
    public void kill() {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    public void restart() {
      startServer(server);
    }

    @Override
    public void close() {
      if (process != null && process.isAlive()) {
        kill();
      }
      deleteTree(dir);
    }
  }

  static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
