package dev.gatehouse.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.AuthResult;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.Action;
import dev.gatehouse.policy.Decision;
import dev.gatehouse.policy.Explanation;
import dev.gatehouse.registry.FederatedCatalog;
import dev.gatehouse.registry.ToolRegistry;
import dev.gatehouse.registry.UpstreamStatus;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The admin API, for principals with an admin role or group ({@code access.admin_roles} /
 * {@code access.admin_groups}): {@code POST /admin/policy/explain}, {@code GET /admin/upstreams},
 * {@code GET /admin/catalog}. With identity not configured every caller is anonymous, so the admin
 * API is closed: it never opens by default.
 */
final class AdminHandler {
  private final McpDispatcher dispatcher;
  private final ToolRegistry registry;
  private final Supplier<EdgeAuth> auth;
  private final Supplier<HttpPolicy> http;

  private final Integrity integrity;

  private final Supplier<java.util.Map<String, Long>> unpriced;
  private final ConfigControl config;
  private final UserConsent consent;

  /** The running config, for {@code GET /admin/config} and {@code POST /admin/config/reload}. */
  interface ConfigControl extends ProbesHandler.ConfigState {
    /** Reads the file and applies it now; why it was refused, or empty when it is in force. */
    Optional<String> reloadNow();
  }

  AdminHandler(McpDispatcher dispatcher, ToolRegistry registry, Supplier<EdgeAuth> auth, Supplier<HttpPolicy> http, Integrity integrity,
      Supplier<java.util.Map<String, Long>> unpriced, ConfigControl config, UserConsent consent) {
    this.consent = consent;
    this.config = config;
    this.unpriced = unpriced;
    this.integrity = integrity;
    this.dispatcher = dispatcher;
    this.registry = registry;
    this.auth = auth;
    this.http = http;
  }

  static void error(Response response, Callback callback, int status, String type, String message) {
    ObjectNode body = Json.object();
    ObjectNode err = body.putObject("error");
    err.put("type", type);
    err.put("message", message);
    McpHttpHandler.writeJson(response, callback, status, body, null);
  }

  void handle(Request request, Response response, Callback callback, String path) {
    HttpPolicy p = http.get();
    String origin = request.getHeaders().get("Origin");
    if (!p.hostAllowed(request.getHeaders().get("Host")) || !p.originAllowed(origin)) {
      error(response, callback, 403, "forbidden", "Forbidden: Host or Origin not allowed");
      return;
    }
    EdgeAuth edge = auth.get();
    Principal caller = edge.authenticate(request, response, callback, path, AdminHandler::error).join(); // on a virtual thread
    if (caller == null) {
      return;
    }
    if (!edge.access().isAdmin(caller)) {
      error(response, callback, 403, "forbidden", "Forbidden: the admin API needs one of the roles "
          + edge.access().adminRoles() + " or groups " + edge.access().adminGroups() + " (access.admin_roles, access.admin_groups)");
      return;
    }
    try {
      switch (path) {
        case "/admin/policy/explain" -> {
          if (!HttpMethod.POST.is(request.getMethod())) {
            error(response, callback, 405, "method_not_allowed", "POST only");
            return;
          }
          explain(request, response, callback, edge);
        }
        case "/admin/upstreams" -> McpHttpHandler.writeJson(response, callback, 200, upstreams(), null);
        case "/admin/config" -> McpHttpHandler.writeJson(response, callback, 200, config(), null);
        case "/admin/config/reload" -> {
          if (!HttpMethod.POST.is(request.getMethod())) {
            error(response, callback, 405, "method_not_allowed", "POST only");
            return;
          }
          Optional<String> refused = config.reloadNow();
          if (refused.isPresent()) {
            error(response, callback, 422, "config_rejected", "The config was not applied, the running one stays: " + refused.get());
            return;
          }
          McpHttpHandler.writeJson(response, callback, 200, config(), null);
        }
        case "/admin/catalog" -> McpHttpHandler.writeJson(response, callback, 200, catalog(), null);
        case "/admin/integrity" -> McpHttpHandler.writeJson(response, callback, 200, integrity.report(), null);
        case "/admin/models/unpriced" -> {
          ObjectNode out = Json.object();
          unpriced.get().forEach(out.putObject("unpriced")::put);
          if (!out.has("unpriced")) {
            out.putObject("unpriced");
          }
          McpHttpHandler.writeJson(response, callback, 200, out, null);
        }
        case "/admin/integrity/decisions" -> {
          if (!HttpMethod.POST.is(request.getMethod())) {
            error(response, callback, 405, "method_not_allowed", "POST only");
            return;
          }
          decide(request, response, callback, caller);
        }
        default -> {
          if (path.startsWith("/admin/upstreams/") && path.endsWith("/reconnect")) {
            reconnect(request, response, callback, path.substring("/admin/upstreams/".length(), path.length() - "/reconnect".length()));
          } else if (path.startsWith("/admin/upstreams/") && path.contains("/consents")) {
            consents(request, response, callback, path.substring("/admin/upstreams/".length()), caller);
          } else {
            error(response, callback, 404, "not_found", "No such admin endpoint: " + path);
          }
        }
      }
    } catch (BadRequest e) {
      error(response, callback, 400, "invalid_request", e.getMessage());
    } catch (IOException e) {
      error(response, callback, 400, "invalid_request", "could not read the request body");
    }
  }

  /**
   * {@code POST /admin/integrity/decisions} with {@code {"server", "kind", "name", "hash", "decision":
   * "approve"|"reject"}}: decides on the definition now listed; clients are told when what they may
   * see changed. Answers with the integrity report after the decision.
   */
  private void decide(Request request, Response response, Callback callback, Principal caller) throws IOException {
    JsonNode body = body(request, "expected a JSON object with server, kind, name, hash and decision");
    String server = text(body, "server");
    String kind = text(body, "kind");
    String name = text(body, "name");
    String hash = text(body, "hash");
    Integrity.Decision decision = switch (text(body, "decision")) {
      case "approve" -> Integrity.Decision.APPROVE;
      case "reject" -> Integrity.Decision.REJECT;
      default -> throw new BadRequest("decision: expected \"approve\" or \"reject\"");
    };
    boolean changed;
    try {
      changed = integrity.decide(new Integrity.Key(server, kind, name), hash, decision, caller);
    } catch (IllegalArgumentException e) {
      error(response, callback, 409, "conflict", e.getMessage());
      return;
    }
    if (changed) {
      dispatcher.integrityChanged();
    }
    McpHttpHandler.writeJson(response, callback, 200, integrity.report(), null);
  }

  private static String text(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (v == null || !v.isTextual() || v.asText().isEmpty()) {
      throw new BadRequest(field + ": a non-empty string is required");
    }
    return v.asText();
  }

  /** The request's JSON object body (at most 1 MiB); {@code expected} says what else it should have been. */
  private JsonNode body(Request request, String expected) throws IOException {
    try {
      JsonNode body = Json.MAPPER.readTree(Bodies.read(request, Math.min(1 << 20, http.get().maxRequestBytes())).join()); // on a virtual thread
      if (body == null || !body.isObject()) {
        throw new BadRequest(expected);
      }
      return body;
    } catch (java.util.concurrent.CompletionException e) {
      if (Bodies.tooLarge(e) != null) {
        throw new BadRequest(Bodies.tooLarge(e).getMessage());
      }
      throw new IOException("the body could not be read", e.getCause());
    } catch (JsonProcessingException e) {
      throw new BadRequest("body is not JSON: " + e.getOriginalMessage());
    }
  }

  /** A malformed admin request; its message says what was expected. */
  private static final class BadRequest extends RuntimeException {
    BadRequest(String message) {
      super(message, null, false, false);
    }
  }

  private void explain(Request request, Response response, Callback callback, EdgeAuth edge) throws IOException {
    JsonNode body = body(request, "expected a JSON object with 'principal' or 'token', and 'action'");
    Principal subject = principalOf(body, edge);
    Action action = actionOf(body.get("action"));
    Explanation ex = dispatcher.access().engine().explain(subject, action);
    ObjectNode out = Json.object();
    Decision d = ex.decision();
    switch (d) {
      case Decision.Allow a -> {
        out.put("decision", "allow");
        out.put("rule", a.ruleId());
        out.put("reason", a.reason());
      }
      case Decision.Deny deny -> {
        out.put("decision", "deny");
        out.put("rule", deny.ruleId());
        out.put("reason", deny.reason());
        deny.argument().ifPresent(arg -> out.put("argument", arg));
      }
      case Decision.Limited l -> {
        out.put("decision", "rate_limited");
        out.put("rule", l.ruleId());
        out.put("reason", l.reason());
      }
    }
    out.put("principal", subject.toString());
    out.put("action", ex.action());
    out.put("text", ex.text());
    out.set("rules", Json.MAPPER.valueToTree(ex.rules()));
    McpHttpHandler.writeJson(response, callback, 200, out, null);
  }

  private static Principal principalOf(JsonNode body, EdgeAuth edge) {
    JsonNode token = body.get("token");
    if (token != null && token.isTextual()) {
      String t = token.asText();
      AuthResult r = t.startsWith("gk_")
          ? edge.check(Optional.empty(), Optional.of(t))
          : edge.check(Optional.of("Bearer " + t), Optional.empty());
      return switch (r) {
        case AuthResult.Authenticated a -> a.principal();
        case AuthResult.Failed f -> throw new BadRequest("the token does not authenticate: " + f.failure().description());
      };
    }
    JsonNode keyId = body.get("key_id");
    if (keyId != null) {
      // A configured API key's principal, exactly as a request with that key: its live rate-limit counters too.
      return edge.config().apiKeys().stream().filter(k -> k.id().equals(keyId.asText())).findFirst()
          .map(dev.gatehouse.identity.ApiKeyConfig::principal)
          .orElseThrow(() -> new BadRequest("key_id: no API key with id '" + keyId.asText() + "' in identity.api_keys"));
    }
    JsonNode p = body.get("principal");
    if (!(p instanceof ObjectNode o)) {
      throw new BadRequest("expected 'key_id' (a configured API key), 'token', or 'principal' (an object with subject, issuer, "
          + "tenant, groups, roles, scopes, claims)");
    }
    String subject = o.path("subject").asText("");
    if (subject.isBlank()) {
      throw new BadRequest("principal.subject: required");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> claims = o.has("claims") ? Json.MAPPER.convertValue(o.get("claims"), LinkedHashMap.class) : Map.of();
    // With the real issuer (a trusted issuer's URL, or gatehouse:api-key) the explanation shows that
    // principal's live rate-limit counters; the claims are the caller's to give.
    return new Principal(subject, o.path("issuer").asText("explain"),
        o.hasNonNull("tenant") ? Optional.of(o.get("tenant").asText()) : Optional.empty(),
        strings(o, "groups"), strings(o, "roles"), strings(o, "scopes"), claims,
        Principal.Kind.JWT, Optional.empty());
  }

  private static Set<String> strings(ObjectNode o, String field) {
    List<String> out = new ArrayList<>();
    for (JsonNode n : o.path(field)) {
      out.add(n.asText());
    }
    return Set.copyOf(out);
  }

  private Action actionOf(JsonNode a) {
    if (!(a instanceof ObjectNode o)) {
      throw new BadRequest("expected 'action': {\"tool\": name, \"arguments\": {...}} or {\"resource\": uri} or {\"prompt\": name} or {\"model\": name}");
    }
    FederatedCatalog cat = registry.catalog();
    if (o.hasNonNull("tool")) {
      String name = o.get("tool").asText();
      String server = cat.tool(name).map(FederatedCatalog.Entry::server).orElseGet(() -> serverOf(name, cat.separator()));
      return new Action.Tool(server, name, o.path("arguments"));
    }
    if (o.hasNonNull("prompt")) {
      String name = o.get("prompt").asText();
      String server = cat.prompt(name).map(FederatedCatalog.Entry::server).orElseGet(() -> serverOf(name, cat.separator()));
      return new Action.Prompt(server, name);
    }
    if (o.hasNonNull("resource")) {
      String uri = o.get("resource").asText();
      int plus = uri.indexOf('+');
      if (plus <= 0) {
        throw new BadRequest("action.resource: '" + uri + "' (expected the federated form <server>+<uri>)");
      }
      try {
        // Policies see the normal form, as for a real read.
        return new Action.Resource(uri.substring(0, plus), uri.substring(0, plus + 1)
            + dev.gatehouse.policy.ResourceUris.normalize(uri.substring(plus + 1)));
      } catch (IllegalArgumentException e) {
        throw new BadRequest("action.resource: " + e.getMessage());
      }
    }
    if (o.hasNonNull("model")) {
      return new Action.Model(o.get("model").asText());
    }
    throw new BadRequest("action: expected one of 'tool', 'resource', 'prompt', 'model'");
  }

  private static String serverOf(String federatedName, String separator) {
    int i = federatedName.indexOf(separator);
    if (i <= 0) {
      throw new BadRequest("'" + federatedName + "' is not a federated name (expected <server>" + separator + "<name>)");
    }
    return federatedName.substring(0, i);
  }

  /** {@code POST /admin/upstreams/<name>/reconnect}: drops the upstream's connection and connects again at once. */
  private void reconnect(Request request, Response response, Callback callback, String name) {
    if (!HttpMethod.POST.is(request.getMethod())) {
      error(response, callback, 405, "method_not_allowed", "POST only");
      return;
    }
    if (!registry.reconnect(name)) {
      error(response, callback, 404, "not_found", "No enabled upstream named '" + name + "'");
      return;
    }
    ObjectNode out = Json.object();
    out.put("upstream", name);
    out.put("reconnecting", true);
    McpHttpHandler.writeJson(response, callback, 202, out, null);
  }

  /**
   * {@code GET /admin/upstreams/<name>/consents}: who gave a user_consent upstream their consent (never
   * a token); {@code DELETE /admin/upstreams/<name>/consents?principal=<subject@issuer>}: revokes one.
   */
  private void consents(Request request, Response response, Callback callback, String rest, Principal caller) {
    int slash = rest.indexOf("/consents");
    String upstream = rest.substring(0, slash);
    String principal = Request.extractQueryParameters(request).getValue("principal");
    if (!rest.endsWith("/consents") || !consent.isConsentUpstream(upstream)) {
      error(response, callback, 404, "not_found", "No upstream '" + upstream + "' acts with users' consent (auth.mode: user_consent)");
      return;
    }
    if (HttpMethod.GET.is(request.getMethod())) {
      McpHttpHandler.writeJson(response, callback, 200, consent.consents(upstream), null);
    } else if (principal != null && !principal.isBlank() && HttpMethod.DELETE.is(request.getMethod())) {
      String who = principal;
      ObjectNode out = Json.object();
      out.put("upstream", upstream);
      out.put("principal", who);
      out.put("revoked", consent.revoke(upstream, who, "admin " + caller.subject()));
      McpHttpHandler.writeJson(response, callback, 200, out, null);
    } else {
      error(response, callback, 405, "method_not_allowed", "GET /admin/upstreams/<name>/consents, or DELETE …/consents?principal=<subject@issuer>");
    }
  }

  /** The config file with its secrets masked, when it was loaded, and why the last reload was refused. */
  private ObjectNode config() {
    ObjectNode out = Json.object();
    Optional<String> file = config.configFile();
    out.put("file", file.orElse(null));
    out.put("loaded_at", config.configLoadedAt().toString());
    out.put("error", config.configError().orElse(null));
    if (file.isEmpty()) {
      out.put("text", "# started on the embedded defaults, without a config file\n");
      return out;
    }
    try {
      out.put("text", ConfigView.masked(java.nio.file.Files.readString(java.nio.file.Path.of(file.get()))));
    } catch (IOException | IllegalArgumentException e) {
      out.put("text", "");
      out.put("read_error", "the file cannot be shown: " + (e instanceof IOException ? "cannot read it (" + e.getClass().getSimpleName() + ")"
          : e.getMessage()));
    }
    return out;
  }

  private ObjectNode upstreams() {
    ObjectNode out = Json.object();
    ArrayNode arr = out.putArray("upstreams");
    for (UpstreamStatus s : registry.status()) {
      ObjectNode o = Gateway.statusJson(s, true);
      // The revision it is spoken to in: 2026-07-28 (stateless) or the session's negotiated one.
      registry.catalog().server(s.name()).ifPresent(c -> o.put("protocol_version", c.protocolVersion()));
      arr.add(o);
    }
    return out;
  }

  /**
   * Every federated tool, prompt and resource with what describes it and the rules whose patterns
   * cover it ({@code policies}); {@code policies_active} false means everything is allowed.
   */
  private ObjectNode catalog() {
    ObjectNode out = Json.object();
    dev.gatehouse.policy.PolicyEngine engine = dispatcher.access().engine();
    out.put("policies_active", engine.active());
    FederatedCatalog cat = registry.catalog();
    ArrayNode tools = out.putArray("tools");
    for (FederatedCatalog.Entry e : cat.tools()) {
      ObjectNode t = entry(tools, e.name(), e.server(), e.definition());
      t.put("original_name", e.originalName());
      covering(t, engine, new Action.Tool(e.server(), e.name(), Json.object()));
    }
    ArrayNode prompts = out.putArray("prompts");
    for (FederatedCatalog.Entry e : cat.prompts()) {
      ObjectNode p = entry(prompts, e.name(), e.server(), e.definition());
      p.put("original_name", e.originalName());
      covering(p, engine, new Action.Prompt(e.server(), e.name()));
    }
    ArrayNode resources = out.putArray("resources");
    for (FederatedCatalog.ResourceEntry e : cat.resources()) {
      ObjectNode r = entry(resources, e.uri(), e.server(), e.definition());
      r.put("original_uri", e.originalUri());
      covering(r, engine, new Action.Resource(e.server(), e.uri()));
    }
    return out;
  }

  private static ObjectNode entry(ArrayNode into, String name, String server, ObjectNode definition) {
    ObjectNode o = into.addObject();
    o.put("name", name);
    o.put("server", server);
    if (definition != null) {
      o.put("title", definition.path("title").asText(definition.path("annotations").path("title").asText("")));
      o.put("description", definition.path("description").asText(""));
    }
    return o;
  }

  private static void covering(ObjectNode into, dev.gatehouse.policy.PolicyEngine engine, Action action) {
    ArrayNode arr = into.putArray("policies");
    for (dev.gatehouse.policy.PolicyEngine.Coverage c : engine.covering(action)) {
      ObjectNode o = arr.addObject();
      o.put("rule", c.ruleId());
      o.put("effect", c.effect());
      o.put("detail", c.detail());
      o.put("who", c.who());
    }
  }
}
