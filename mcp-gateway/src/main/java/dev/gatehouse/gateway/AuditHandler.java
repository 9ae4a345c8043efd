package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditQuery;
import dev.gatehouse.audit.AuditRecord;
import dev.gatehouse.audit.AuditStore;
import dev.gatehouse.identity.Principal;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * The audit trail over HTTP, for admins and auditors ({@code access.auditor_roles} /
 * {@code access.auditor_groups}): {@code GET /v1/audit/chains/{id}} (a chain's steps in order, with
 * parent links), {@code GET /v1/audit/steps?…} (filtered, newest first, paginated by cursor),
 * {@code GET /v1/audit/summary?since=…&until=…} (totals per day, principal, model and tool),
 * {@code GET /v1/audit/verify[?chain=…]} (the hash chain checked) and
 * {@code GET /v1/audit/export?since=…} (JSON Lines, streamed).
 */
final class AuditHandler {
  static final String PREFIX = "/v1/audit/";

  private final Supplier<AuditRecorder> audit;
  private final Supplier<EdgeAuth> auth;
  private final Supplier<HttpPolicy> http;

  AuditHandler(Supplier<AuditRecorder> audit, Supplier<EdgeAuth> auth, Supplier<HttpPolicy> http) {
    this.audit = audit;
    this.auth = auth;
    this.http = http;
  }

  void handle(Request request, Response response, Callback callback, String path) {
    HttpPolicy p = http.get();
    if (!p.hostAllowed(request.getHeaders().get(HttpHeader.HOST)) || !p.originAllowed(request.getHeaders().get(HttpHeader.ORIGIN))) {
      OpenAiErrors.write(response, callback, 403, "permission_error", "forbidden_origin", "Host or Origin not allowed");
      return;
    }
    if (!HttpMethod.GET.is(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, "GET");
      OpenAiErrors.write(response, callback, 405, "invalid_request_error", "method_not_allowed", "Use GET");
      return;
    }
    EdgeAuth edge = auth.get();
    Principal caller = edge.authenticate(request, response, callback, path, OpenAiErrors::auth).join(); // on a virtual thread
    if (caller == null) {
      return;
    }
    if (!edge.access().isAuditor(caller)) {
      OpenAiErrors.write(response, callback, 403, "permission_error", "not_auditor", "The audit trail needs an auditor or admin role: "
          + edge.access().auditorRoles() + " / groups " + edge.access().auditorGroups() + " (access.auditor_roles, access.auditor_groups)");
      return;
    }
    AuditStore store = audit.get().store().orElse(null);
    if (store == null) {
      OpenAiErrors.write(response, callback, 404, "not_found_error", "audit_disabled", "Audit is disabled (audit.enabled: false)");
      return;
    }
    Fields query = Request.extractQueryParameters(request);
    try {
      if (path.startsWith(PREFIX + "chains/")) {
        String id = path.substring((PREFIX + "chains/").length());
        List<AuditRecord> steps = store.chain(id);
        if (steps.isEmpty()) {
          OpenAiErrors.write(response, callback, 404, "not_found_error", "chain_not_found", "No steps recorded for chain '" + id + "'");
          return;
        }
        McpHttpHandler.writeJson(response, callback, 200, AuditRecord.chainJson(id, steps), null);
      } else if (path.equals(PREFIX + "steps")) {
        Map<String, String> params = new HashMap<>();
        query.forEach(f -> params.put(f.getName(), f.getValue()));
        McpHttpHandler.writeJson(response, callback, 200, store.steps(AuditQuery.fromParams(params)).toJson(), null);
      } else if (path.equals(PREFIX + "summary")) {
        Instant until = query.getValue("until") == null ? Instant.now() : Instant.parse(query.getValue("until"));
        Instant since = query.getValue("since") == null ? until.minus(java.time.Duration.ofDays(7)) : Instant.parse(query.getValue("since"));
        McpHttpHandler.writeJson(response, callback, 200, store.summary(since, until).toJson(), null);
      } else if (path.equals(PREFIX + "verify")) {
        McpHttpHandler.writeJson(response, callback, 200, verify(store, query.getValue("chain")), null);
      } else if (path.equals(PREFIX + "export")) {
        String since = query.getValue("since");
        Instant from = since == null ? Instant.EPOCH : Instant.parse(since);
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/x-ndjson");
        try (OutputStream out = Content.Sink.asOutputStream(response)) {
          store.export(from, r -> {
            try {
              out.write(Json.bytes(r.toJson()));
              out.write('\n');
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          });
        }
        callback.succeeded();
      } else {
        OpenAiErrors.write(response, callback, 404, "not_found_error", "not_found", "No such audit endpoint: " + path);
      }
    } catch (dev.gatehouse.audit.AuditException e) {
      OpenAiErrors.write(response, callback, 503, "api_error", "audit_unavailable", "The audit store cannot answer now: " + e.getMessage());
    } catch (IllegalArgumentException | DateTimeParseException e) {
      OpenAiErrors.write(response, callback, 400, "invalid_request_error", "invalid_query", e.getMessage());
    } catch (IOException | java.io.UncheckedIOException e) {
      callback.failed(e); // the client went away mid-export
    }
  }

  /**
   * The whole trail verified from its start (genesis or the retention checkpoint) to its head, and with
   * {@code chain}, each of that chain's steps checked against its stored hash.
   */
  private static com.fasterxml.jackson.databind.node.ObjectNode verify(AuditStore store, String chain) {
    var out = Json.object();
    if (chain != null) {
      List<AuditRecord> steps = store.chain(chain);
      if (steps.isEmpty()) {
        throw new IllegalArgumentException("chain: no steps recorded for chain '" + chain + "'");
      }
      var c = out.putObject("chain");
      c.put("chain_id", chain);
      c.put("steps", steps.size());
      var broken = c.putArray("altered_steps");
      steps.stream().filter(r -> !r.hashMatches()).forEach(r -> broken.add(r.step().stepId()));
      c.put("ok", broken.isEmpty());
    }
    dev.gatehouse.audit.AuditVerifyResult r = store.verify();
    out.put("ok", r.ok() && (chain == null || out.path("chain").path("ok").asBoolean()));
    out.put("trail_ok", r.ok());
    out.put("message", r.message());
    return out;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
