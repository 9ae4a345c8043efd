package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.AuthResult;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.registry.ToolRegistry;
import dev.gatehouse.registry.UpstreamStatus;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The operational endpoints: {@code /healthz} (live: the process answers), {@code /readyz} (ready to
 * serve: 200 only then, else 503) and {@code /metrics} (Prometheus). With identity configured they
 * show nothing to strangers unless {@code access.public_probes} says so: {@code /readyz} answers its
 * status alone to anyone but admins, and {@code /metrics} needs a credential with a metrics or admin
 * role.
 *
 * <p>Ready means: not stopping, the config file's last edit was accepted, the audit store's last commit
 * succeeded, and the upstreams {@code server.readiness} names are connected (by default every enabled
 * one). While an upstream is still making its first connection attempt the status is
 * {@code starting}; a pending config error, a failing audit store or an upstream down make it
 * {@code degraded}.
 */
final class ProbesHandler {
  /** What the probes read of the running gateway. */
  /** The config in force: its file, when it was loaded, why its last change was refused. */
  interface ConfigState {
    Optional<String> configError();

    Instant configLoadedAt();

    Optional<String> configFile();
  }

  interface State extends ConfigState {
    boolean stopping();

    ServerSettings.Readiness readiness();
  }

  private final State state;
  private final ToolRegistry registry;
  private final McpDispatcher dispatcher;
  private final GatewayMetrics metrics;
  private final Supplier<AuditRecorder> audit;
  private final Supplier<EdgeAuth> auth;

  ProbesHandler(State state, ToolRegistry registry, McpDispatcher dispatcher, GatewayMetrics metrics,
      Supplier<AuditRecorder> audit, Supplier<EdgeAuth> auth) {
    this.state = state;
    this.registry = registry;
    this.dispatcher = dispatcher;
    this.metrics = metrics;
    this.audit = audit;
    this.auth = auth;
  }

  static boolean owns(String path) {
    return path.equals("/healthz") || path.equals("/readyz") || path.equals("/metrics");
  }

  void handle(Request request, Response response, Callback callback, String path) {
    switch (path) {
      case "/healthz" -> {
        ObjectNode body = Json.object();
        body.put("status", "ok");
        McpHttpHandler.writeJson(response, callback, 200, body, null);
      }
      case "/readyz" -> readyz(request, response, callback);
      default -> metrics(request, response, callback);
    }
  }

  private void readyz(Request request, Response response, Callback callback) {
    List<UpstreamStatus> upstreams = registry.status();
    String status = status(upstreams);
    ObjectNode body = Json.object();
    body.put("status", status);
    EdgeAuth edge = auth.get();
    if (edge.access().probesPublic(edge.enabled()) || caller(request).filter(edge.access()::isAdmin).isPresent()) {
      ObjectNode cfg = body.putObject("config");
      state.configFile().ifPresent(f -> cfg.put("file", f));
      cfg.put("loaded_at", state.configLoadedAt().toString());
      state.configError().ifPresent(e -> cfg.put("error", e));
      body.put("audit", audit.get().writable() ? "writable" : "failing");
      body.put("sessions", dispatcher.sessionCount());
      ArrayNode ups = body.putArray("upstreams");
      upstreams.forEach(u -> ups.add(Gateway.statusJson(u, false)));
    }
    McpHttpHandler.writeJson(response, callback, status.equals("ready") ? 200 : 503, body, null);
  }

  /** {@code ready}, {@code starting}, {@code degraded} or {@code stopping}. */
  String status(List<UpstreamStatus> upstreams) {
    if (state.stopping()) {
      return "stopping";
    }
    List<UpstreamStatus> enabled = upstreams.stream().filter(u -> u.state() != UpstreamStatus.State.DISABLED).toList();
    boolean firstAttempts = enabled.stream().anyMatch(u -> u.state() == UpstreamStatus.State.CONNECTING && u.attempts() <= 1
        && u.lastError().isEmpty());
    boolean upstreamsOk = switch (state.readiness()) {
      case ALL_UPSTREAMS -> enabled.stream().allMatch(UpstreamStatus::connected);
      case ANY_UPSTREAM -> enabled.isEmpty() || enabled.stream().anyMatch(UpstreamStatus::connected);
      case NONE -> true;
    };
    if (state.configError().isPresent() || !audit.get().writable()) {
      return "degraded";
    }
    if (upstreamsOk && (state.readiness() != ServerSettings.Readiness.ANY_UPSTREAM || !firstAttempts)) {
      return "ready";
    }
    return firstAttempts ? "starting" : "degraded";
  }

  private void metrics(Request request, Response response, Callback callback) {
    EdgeAuth edge = auth.get();
    if (!edge.access().probesPublic(edge.enabled())) {
      AuthResult result = edge.authenticate(request);
      if (!(result instanceof AuthResult.Authenticated a) || a.principal().kind() == Principal.Kind.ANONYMOUS) {
        response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer realm=\"gatehouse-metrics\"");
        OpenAiErrors.write(response, callback, 401, "authentication_error", "metrics_credentials_required",
            "/metrics needs a credential with one of the roles " + edge.access().metricsRoles()
                + " or an admin role (access.metrics_roles), or access.public_probes: true");
        return;
      }
      if (!edge.access().mayScrapeMetrics(a.principal())) {
        OpenAiErrors.write(response, callback, 403, "permission_error", "not_metrics_reader",
            "/metrics needs one of the roles " + edge.access().metricsRoles() + " or an admin role (access.metrics_roles)");
        return;
      }
    }
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    response.write(true, ByteBuffer.wrap(metrics.scrape().getBytes(StandardCharsets.UTF_8)), callback);
  }

  /** The caller, when the request carries a valid credential; probes never answer 401 for a bad one. */
  private Optional<Principal> caller(Request request) {
    return auth.get().authenticate(request) instanceof AuthResult.Authenticated a ? Optional.of(a.principal()) : Optional.empty();
  }
}
