package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.policy.PolicyEngine;
import dev.gatehouse.registry.ToolRegistry;
import dev.gatehouse.router.Router;
import dev.gatehouse.registry.UpstreamStatus;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway. The whole object graph is built here, with plain {@code new}, in one place:
 * registry, dispatcher, pipeline, HTTP edge, config watcher.
 */
public final class Gateway implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Gateway.class);

  /** The OpenAPI document of the HTTP APIs besides MCP, served at {@code /openapi.json}. */
  private static final byte[] OPENAPI = openApi();

  private final Server server;
  private final ToolRegistry registry;
  private final McpDispatcher dispatcher;
  private final Optional<Path> configFile;
  private final Instant started = Instant.now();
  private final Thread reaper;
  private volatile GatewayConfig config;
  private volatile HttpPolicy httpPolicy;
  private volatile String configError;
  private volatile Instant configLoadedAt = Instant.now();
  private volatile ConfigWatcher watcher;
  private volatile EdgeAuth auth;
  private final GatewayMetrics metrics = new GatewayMetrics();
  private final AuditRecorder audit;
  private volatile Router router;
  private final Budgets budgets;
  /** Rate limits and budgets in Redis when {@code limits.store} names one; null counts in this process. */
  private final SharedLimits shared;
  /** 2025-11-25 sessions in Redis when {@code server.sessions.store} names one; null keeps them in this process. */
  private final SharedSessions sharedSessions;
  /** user_consent upstreams: the users' tokens, consent links, the redirect back. */
  private final UserConsent userConsent;
  /** Tool integrity: fingerprints, changes, findings, decisions. */
  private final Integrity integrity;
  private volatile boolean stopping;
  private final HttpConfiguration httpConfig;
  /** Work that blocks (audit queries, admin, probes, long-lived streams): a virtual thread each. */
  private final java.util.concurrent.ExecutorService blocking = Executors.newThreadPerTaskExecutor(
      Thread.ofVirtual().name("gatehouse-blocking-", 0).factory());
  /** The gateway's timers (stream keep-alives); stopped on close. */
  private final java.util.concurrent.ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().name("gatehouse-timers").daemon(true).factory());

  /** Traces of the chain's steps; built at start from {@code tracing:} and OTEL_*, closed on stop. */
  private Tracing tracing = Tracing.OFF;

  /** The tracing in force (tests flush it). */
  Tracing tracing() {
    return tracing;
  }

  private Gateway(GatewayConfig config, Optional<Path> configFile) {
    this.config = config;
    this.configFile = configFile;
    this.httpPolicy = policyOf(config.server());
    this.audit = AuditRecorder.open(config.audit(), configFile.map(f -> f.toAbsolutePath().getParent())
        .orElse(Path.of("").toAbsolutePath()), metrics);
    this.dispatcher = new McpDispatcher(Cli.version(), metrics);
    dispatcher.onUpstreamTokens((server, event) -> audit.upstreamToken(server, event));
    this.registry = ToolRegistry.create(Cli.version(), dispatcher);
    metrics.bindUpstreams(registry);
    metrics.gauge("gatehouse.sessions", "Open MCP sessions", dispatcher::sessionCount);
    this.auth = new EdgeAuth(config.identity(), config.access(), config.server().publicBaseUrl(), metrics, () -> audit);
    this.router = Router.create(config.router());
    this.shared = config.limits().store().isPresent() ? SharedLimits.connect(config.limits(), metrics) : null;
    this.budgets = new Budgets(java.time.Clock.systemUTC(), () -> audit.store(), shared, blocking);
    // authenticate (EdgeAuth, at each door) → resolve → decide → execute → record (CallChain)
    Access access = new Access(PolicyEngine.create(config.policies()), metrics, shared);
    TaskHandles tasks = TaskHandles.random();
    CallChain chain = new CallChain(registry, access, () -> router, () -> this.config, budgets,
        new TokenLimits(System::nanoTime, shared), () -> audit, metrics, blocking, tasks);
    dispatcher.bind(registry, chain);
    this.tracing = Tracing.create(config.tracing(), System.getenv(), Cli.version());
    chain.tracing(tracing);
    this.integrity = new Integrity(() -> this.config, () -> audit, metrics,
        configFile.map(f -> f.toAbsolutePath().getParent()).orElse(Path.of("").toAbsolutePath()));
    access.integrity(integrity);
    dispatcher.integrity(integrity);
    McpHttpHandler mcp = new McpHttpHandler(dispatcher, () -> httpPolicy, () -> this.config.upstreams().keySet(), () -> auth,
        blocking, timers);
    this.sharedSessions = config.server().sessions().store()
        .map(u -> SharedSessions.connect(u, config.server().sessions().idleTimeout(),
            id -> dispatcher.session(id).ifPresent(dispatcher::close))).orElse(null);
    if (sharedSessions != null) {
      tasks.use(sharedSessions.secret("task-handles")); // a task created through one replica is polled through any
      mcp.shared(sharedSessions);
      dispatcher.changed = sharedSessions::saveQuietly;
    }
    Path configDir = configFile.map(f -> f.toAbsolutePath().getParent()).orElse(Path.of("").toAbsolutePath());
    java.util.concurrent.atomic.AtomicReference<TokenSeal> seal = new java.util.concurrent.atomic.AtomicReference<>();
    this.userConsent = new UserConsent(() -> this.config,
        () -> this.config.server().publicBaseUrl().map(u -> URI.create(u.endsWith("/") ? u : u + "/")).orElseGet(this::baseUri),
        () -> audit.userTokens(),
        () -> seal.updateAndGet(k -> k != null ? k : TokenSeal.load(System.getenv(), configDir)), // made on first use only
        (server, event) -> audit.upstreamToken(server, event),
        // A first consent lets an upstream that waited for one connect now; a connected one is left alone.
        server -> registry.status().stream().filter(s -> s.name().equals(server) && !s.connected()).findFirst()
            .ifPresent(s -> registry.reconnect(server)),
        java.time.Clock.systemUTC());
    registry.userTokens(userConsent);
    ConsentHandler consents = new ConsentHandler(userConsent, () -> auth);
    Operations operations = new Operations();
    AdminHandler admin = new AdminHandler(dispatcher, registry, () -> auth, () -> httpPolicy, integrity, chain::unpricedModels,
        operations, userConsent);
    ExecuteHandler execute = new ExecuteHandler(registry, chain, () -> auth, () -> httpPolicy);
    ChatHandler chat = new ChatHandler(() -> router, () -> this.config, chain, registry, execute, () -> auth, () -> httpPolicy,
        () -> audit);
    AuditHandler auditApi = new AuditHandler(() -> audit, () -> auth, () -> httpPolicy);
    ConsoleHandler console = new ConsoleHandler(() -> this.config, () -> auth, () -> httpPolicy);
    ProbesHandler probes = new ProbesHandler(operations, registry, dispatcher, metrics, () -> audit, () -> auth);

    QueuedThreadPool threads = new QueuedThreadPool();
    threads.setName("gatehouse-http");
    server = new Server(threads);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(false);
    http.setRequestHeaderSize(requestHeaderBytes(config));
    this.httpConfig = http;
    ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setHost(config.server().host());
    connector.setPort(config.server().port());
    server.addConnector(connector);
    // The root never blocks: calls continue from completions (body read, upstream answer, audit commit).
    // What has to block (audit queries, admin, probes and metrics, long-lived streams) runs on virtual threads.
    server.setHandler(new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        if (McpHttpHandler.owns(path)) {
          mcp.handle(request, response, callback, path);
        } else if (path.equals(ExecuteHandler.PATH)) {
          execute.handle(request, response, callback);
        } else if (ChatHandler.owns(path)) {
          chat.handle(request, response, callback, path);
        } else if (ProbesHandler.owns(path)) {
          blocking.execute(() -> probes.handle(request, response, callback, path));
        } else if (path.equals("/openapi.json")) {
          response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
          response.write(true, ByteBuffer.wrap(OPENAPI), callback);
        } else if (path.equals(EdgeAuth.METADATA_PATH) || path.startsWith(EdgeAuth.METADATA_PATH + "/")) {
          String resource = path.substring(EdgeAuth.METADATA_PATH.length());
          if (!resource.isEmpty() && !McpHttpHandler.owns(resource)) {
            notFound(request, response, callback, path);
          } else {
            McpHttpHandler.writeJson(response, callback, 200, auth.metadata(request, resource), null);
          }
        } else if (path.startsWith(AuditHandler.PREFIX)) {
          blocking.execute(() -> auditApi.handle(request, response, callback, path));
        } else if (path.startsWith("/admin/")) {
          blocking.execute(() -> admin.handle(request, response, callback, path));
        } else if (ConsentHandler.owns(path)) {
          blocking.execute(() -> consents.handle(request, response, callback, path));
        } else if (ConsoleHandler.owns(path)) {
          blocking.execute(() -> console.handle(request, response, callback, path));
        } else {
          notFound(request, response, callback, path);
        }
        return true;
      }
    });
    server.setErrorHandler((request, response, callback) -> {
      // Jetty's own errors (malformed HTTP, bad URIs): JSON, never an HTML page or a stack trace.
      Object status = request.getAttribute(org.eclipse.jetty.server.handler.ErrorHandler.ERROR_STATUS);
      int code = status instanceof Integer i ? i : 500;
      response.setStatus(code);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
      String msg = code == 500 ? "internal error" : "bad request";
      response.write(true, ByteBuffer.wrap(("{\"error\":{\"type\":\"http_error\",\"code\":" + code + ",\"message\":\"" + msg + "\"}}")
          .getBytes(java.nio.charset.StandardCharsets.UTF_8)), callback);
      return true;
    });
    reaper = Thread.ofVirtual().name("session-reaper").unstarted(this::reapSessions);
  }

  /** The process's state as the probes and the admin API see it: stopping, the config in force, reload on demand. */
  private final class Operations implements ProbesHandler.State, AdminHandler.ConfigControl {
    @Override
    public boolean stopping() {
      return stopping;
    }

    @Override
    public Optional<String> configError() {
      return Optional.ofNullable(configError);
    }

    @Override
    public Instant configLoadedAt() {
      return configLoadedAt;
    }

    @Override
    public Optional<String> configFile() {
      return configFile.map(Path::toString);
    }

    @Override
    public ServerSettings.Readiness readiness() {
      return config.server().readiness();
    }

    @Override
    public Optional<String> reloadNow() {
      return Gateway.this.reloadNow();
    }
  }

  private static byte[] openApi() {
    try (java.io.InputStream in = Gateway.class.getResourceAsStream("/openapi.json")) {
      return in == null ? "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8) : in.readAllBytes();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void notFound(Request request, Response response, Callback callback, String path) {
    ObjectNode body = Json.object();
    ObjectNode err = body.putObject("error");
    err.put("type", "not_found");
    err.put("message", "No such endpoint: " + request.getMethod() + " " + path);
    McpHttpHandler.writeJson(response, callback, 404, body, null);
  }

  /** Starts a gateway on {@code config}; watches {@code configFile} for changes when given. */
  public static Gateway start(GatewayConfig config, Optional<Path> configFile) throws Exception {
    LogProvider.apply(config.logging());
    Gateway g = new Gateway(config, configFile);
    g.server.start();
    g.registry.apply(config.upstreams(), config.server().toolNameSeparator());
    g.reaper.start();
    config.warnings().forEach(w -> log.warn("config: {}", w));
    configFile.ifPresent(f -> g.watcher = ConfigWatcher.start(f, new ConfigLoader(), g::reload, g::reloadFailed));
    log.info("gatehouse {} listening on {} ({} upstreams)", Cli.version(), g.baseUri(), config.upstreams().size());
    return g;
  }

  /** Reads the config file and applies it now (the admin API's reload); why it was refused, if it was. */
  synchronized Optional<String> reloadNow() {
    if (configFile.isEmpty()) {
      return Optional.of("the gateway was started without a config file");
    }
    GatewayConfig next;
    try {
      next = new ConfigLoader().load(configFile.get());
    } catch (ConfigException e) {
      reloadFailed(e);
      return Optional.of(e.getMessage());
    }
    log.info("config reload asked for through the admin API");
    reload(next);
    return Optional.empty();
  }

  /** Applies a new config: upstreams and edge policy change live; host and port need a restart. */
  synchronized void reload(GatewayConfig next) {
    GatewayConfig current = config;
    ServerSettings s = next.server();
    if (!s.host().equals(current.server().host()) || s.port() != current.server().port()) {
      log.warn("config reload: server.host/server.port changes take effect after a restart");
      next = next.withServer(s.withHost(current.server().host()).withPort(current.server().port()));
    }
    if (!s.sessions().store().equals(current.server().sessions().store())) {
      log.warn("config reload: server.sessions.store changes take effect after a restart");
    }
    config = next;
    if (!next.logging().equals(current.logging())) {
      LogProvider.apply(next.logging());
      log.info("config reload: logging at {} ({})", next.logging().level(), next.logging().format());
    }
    httpPolicy = policyOf(next.server());
    configError = null;
    configLoadedAt = Instant.now();
    if (!next.identity().equals(current.identity()) || !next.access().equals(current.access())
        || !next.server().publicBaseUrl().equals(current.server().publicBaseUrl())) {
      EdgeAuth old = auth;
      auth = new EdgeAuth(next.identity(), next.access(), next.server().publicBaseUrl(), metrics, () -> audit);
      old.close();
      httpConfig.setRequestHeaderSize(requestHeaderBytes(next)); // new connections get the new room
      log.info("config reload: identity/access settings replaced");
    }
    if (!next.audit().equals(current.audit())) {
      audit.settings(next.audit());
      if (!next.audit().store().equals(current.audit().store()) || next.audit().enabled() != current.audit().enabled()) {
        log.warn("config reload: audit.store / audit.enabled changes take effect after a restart");
      }
    }
    if (!next.limits().equals(current.limits())) {
      log.warn("config reload: limits changes take effect after a restart");
    }
    if (!next.tracing().equals(current.tracing())) {
      log.warn("config reload: tracing changes take effect after a restart");
    }
    if (!next.router().equals(current.router())) {
      Router old = router;
      router = Router.create(next.router());
      // Calls still running on the old router finish; it is closed a little later.
      Thread.ofVirtual().start(() -> {
        try {
          Thread.sleep(java.time.Duration.ofMinutes(10));
        } catch (InterruptedException ignored) {
          // closing now
        }
        old.close();
      });
      log.info("config reload: {} model providers", next.providers().size());
    }
    if (!next.policies().equals(current.policies())) {
      dispatcher.policy(dispatcher.access().engine().reconfigure(next.policies()));
      log.info("config reload: {} policies in force", next.policies().size());
    }
    registry.apply(next.upstreams(), next.server().toolNameSeparator());
    integrity.rereadLock();
    if (next.integrity().lockFile() != null || !next.integrity().equals(current.integrity()) || !next.upstreams().equals(current.upstreams())) {
      Thread.ofVirtual().start(() -> {
        if (integrity.observe(registry.catalog().servers())) { // modes may have changed what is withheld
          dispatcher.integrityChanged();
        }
      });
    }
    next.warnings().forEach(w -> log.warn("config reload: {}", w));
    log.info("config reloaded: {} upstreams", next.upstreams().size());
  }

  /** The audit recorder (tests read the stores beside the chain through it). */
  AuditRecorder auditRecorder() {
    return audit;
  }

  /** Tool integrity, for tests and the admin API. */
  Integrity integrity() {
    return integrity;
  }

  private synchronized void reloadFailed(ConfigException e) {
    configError = e.getMessage();
    log.error("config reload rejected, keeping the running config: {}", e.getMessage());
  }

  /**
   * Room for the request line and headers: twice the largest token an issuer accepts
   * ({@code max_token_bytes}) plus 8 KiB for the rest, at least 16 KiB. A token above its issuer's limit
   * but within this room is answered 401 {@code TOO_LARGE} with {@code WWW-Authenticate}; only larger
   * headers meet Jetty's 431.
   */
  static int requestHeaderBytes(GatewayConfig config) {
    int token = config.identity().issuers().stream().mapToInt(dev.gatehouse.identity.IssuerConfig::maxTokenBytes).max()
        .orElse(dev.gatehouse.identity.IssuerConfig.DEFAULT_MAX_TOKEN_BYTES);
    return Math.max(16 * 1024, 2 * token + 8 * 1024);
  }

  private static HttpPolicy policyOf(ServerSettings s) {
    return new HttpPolicy(s.allowedHosts(), s.allowedOrigins(), s.maxRequestBytes(), s.maxBatchSize(), s.sessions());
  }

  /** One upstream's state as JSON, for /readyz and the admin API. */
  static ObjectNode statusJson(UpstreamStatus u, boolean details) {
    ObjectNode o = Json.object();
    o.put("name", u.name());
    o.put("transport", u.transport());
    o.put("state", u.state().name().toLowerCase());
    o.put("since", u.since().toString());
    o.put("tools", u.tools());
    if (u.attempts() > 0 && !u.connected()) {
      o.put("attempts", u.attempts());
    }
    u.lastError().ifPresent(e -> o.put("error", e));
    if (details && u.pid() > 0) {
      o.put("pid", u.pid());
    }
    if (details) {
      u.auth().ifPresent(a -> o.put("auth", a));
    }
    return o;
  }

  /**
   * Closes sessions idle past {@code server.sessions.idle_timeout}, and sessions never used after
   * initialize past {@code unused_timeout}; also drops sessions that closed themselves (queue overflow).
   */
  private void reapSessions() {
    while (!stopping) {
      SessionLimits limits = httpPolicy.sessions();
      long period = Math.max(250, Math.min(30_000, limits.unusedTimeout().toMillis() / 4));
      try {
        TimeUnit.MILLISECONDS.sleep(period);
      } catch (InterruptedException e) {
        return;
      }
      for (McpSession s : dispatcher.sessions()) {
        long idle = s.idleNanos();
        if (s.closed()) {
          dispatcher.close(s, s.overflowed() ? "queue_full" : "closed");
        } else if (!s.everUsed() && idle > limits.unusedTimeout().toNanos()) {
          log.debug("session {} unused for {}: closed", s.id(), limits.unusedTimeout());
          dispatcher.close(s, "unused");
        } else if (idle > limits.idleTimeout().toNanos()) {
          log.debug("session {} idle for {}: closed", s.id(), limits.idleTimeout());
          dispatcher.close(s, "idle");
        }
      }
    }
  }

  /** The bound port (useful with port 0). */
  public int port() {
    return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
  }

  public URI baseUri() {
    String host = config.server().host();
    String h = host.contains(":") ? "[" + host + "]" : host.equals("0.0.0.0") ? "127.0.0.1" : host;
    return URI.create("http://" + h + ":" + port());
  }

  ToolRegistry registry() {
    return registry;
  }

  McpDispatcher dispatcher() {
    return dispatcher;
  }

  GatewayConfig config() {
    return config;
  }

  Set<String> upstreamNames() {
    return config.upstreams().keySet();
  }

  /** Stops accepting requests, closes sessions, ends every upstream (and child process). */
  @Override
  public void close() {
    if (stopping) {
      return;
    }
    stopping = true;
    reaper.interrupt();
    ConfigWatcher w = watcher;
    if (w != null) {
      w.close();
    }
    for (McpSession s : dispatcher.sessions()) {
      dispatcher.close(s);
    }
    try {
      server.setStopTimeout(2000);
      server.stop();
    } catch (Exception e) {
      log.warn("HTTP server stop: {}", e.toString());
    }
    registry.close();
    integrity.close();
    router.close();
    tracing.close(); // exports the spans still queued
    audit.close(); // flushes every queued step before the process ends
    if (shared != null) {
      shared.close();
    }
    if (sharedSessions != null) {
      sharedSessions.close();
    }
    auth.close();
    metrics.close();
    timers.shutdownNow();
    blocking.shutdownNow();
    log.info("gatehouse stopped");
  }

  /** Waits until the server stops. */
  public void join() throws InterruptedException {
    server.join();
  }
}
