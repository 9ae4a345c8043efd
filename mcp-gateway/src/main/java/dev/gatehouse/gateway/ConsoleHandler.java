package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.http.FetchableUrls;
import dev.gatehouse.identity.AuthResult;
import dev.gatehouse.identity.IssuerConfig;
import dev.gatehouse.identity.Principal;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator console at {@code /console/}: a page and its script and style, served from the jar,
 * that call the admin and audit APIs with the signed-in operator's credential. What each page shows
 * follows the same roles as those APIs; the files themselves hold no data.
 *
 * <ul>
 *   <li>{@code GET /console/me}: who the credential is, whether it may use the admin API
 *       ({@code admin}) and the audit API ({@code auditor}), and {@code console.trace_url};
 *   <li>{@code GET /console/oidc}: what the page needs to send the operator to the issuer (authorization
 *       code with PKCE), when {@code console.oidc} is set;
 *   <li>{@code POST /console/oidc/token}: redeems the code at the issuer's token endpoint (with the client
 *       secret, if any) and answers with the access token once the gateway accepts it itself.
 * </ul>
 */
final class ConsoleHandler {
  static final String PREFIX = "/console/";
  private static final Logger log = LoggerFactory.getLogger(ConsoleHandler.class);
  private static final Map<String, Asset> ASSETS = assets("index.html", "console.js", "console.css");

  private record Asset(byte[] bytes, String contentType) {}

  private final Supplier<GatewayConfig> config;
  private final Supplier<EdgeAuth> auth;
  private final Supplier<HttpPolicy> http;
  private final OAuthClient oauth = new OAuthClient();
  /** The issuer's endpoints, found once per console.oidc setting. */
  private volatile Discovered discovered;

  private record Discovered(ConsoleSettings.Oidc settings, URI authorization, URI token) {}

  ConsoleHandler(Supplier<GatewayConfig> config, Supplier<EdgeAuth> auth, Supplier<HttpPolicy> http) {
    this.config = config;
    this.auth = auth;
    this.http = http;
  }

  /** Whether {@code path} is the console's. */
  static boolean owns(String path) {
    return path.equals("/console") || path.startsWith(PREFIX);
  }

  void handle(Request request, Response response, Callback callback, String path) {
    ConsoleSettings settings = config.get().console();
    if (!settings.enabled()) {
      AdminHandler.error(response, callback, 404, "not_found", "The console is turned off (console.enabled: false)");
      return;
    }
    HttpPolicy p = http.get();
    if (!p.hostAllowed(request.getHeaders().get(HttpHeader.HOST)) || !p.originAllowed(request.getHeaders().get(HttpHeader.ORIGIN))) {
      AdminHandler.error(response, callback, 403, "forbidden", "Forbidden: Host or Origin not allowed");
      return;
    }
    if (path.equals("/console")) {
      response.setStatus(302);
      response.getHeaders().put(HttpHeader.LOCATION, "/console/");
      callback.succeeded();
      return;
    }
    String name = path.substring(PREFIX.length());
    switch (name) {
      case "me" -> me(request, response, callback, path, settings);
      case "oidc" -> McpHttpHandler.writeJson(response, callback, 200, oidcInfo(settings), null);
      case "oidc/token" -> redeem(request, response, callback, settings);
      default -> asset(request, response, callback, name.isEmpty() ? "index.html" : name);
    }
  }

  private void asset(Request request, Response response, Callback callback, String name) {
    Asset a = ASSETS.get(name);
    if (a == null) {
      AdminHandler.error(response, callback, 404, "not_found", "No such console file: " + name);
      return;
    }
    if (!HttpMethod.GET.is(request.getMethod()) && !HttpMethod.HEAD.is(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
      AdminHandler.error(response, callback, 405, "method_not_allowed", "GET only");
      return;
    }
    var h = response.getHeaders();
    h.put(HttpHeader.CONTENT_TYPE, a.contentType());
    h.put(HttpHeader.CACHE_CONTROL, "no-cache");
    h.put("X-Content-Type-Options", "nosniff");
    h.put("X-Frame-Options", "DENY");
    h.put("Referrer-Policy", "no-referrer");
    // Nothing inline, nothing from elsewhere: a script injected into a tool description cannot run.
    h.put("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    response.write(true, HttpMethod.HEAD.is(request.getMethod()) ? ByteBuffer.allocate(0) : ByteBuffer.wrap(a.bytes()), callback);
  }

  private void me(Request request, Response response, Callback callback, String path, ConsoleSettings settings) {
    EdgeAuth edge = auth.get();
    Principal caller = edge.authenticate(request, response, callback, path, AdminHandler::error).join(); // on a virtual thread
    if (caller == null) {
      return;
    }
    ObjectNode out = Json.object();
    out.put("principal", caller.toString());
    out.put("subject", caller.subject());
    out.put("kind", caller.kind().name().toLowerCase(java.util.Locale.ROOT));
    out.put("admin", edge.access().isAdmin(caller));
    out.put("auditor", edge.access().isAuditor(caller));
    out.put("trace_url", settings.traceUrl().orElse(null));
    McpHttpHandler.writeJson(response, callback, 200, out, null);
  }

  private ObjectNode oidcInfo(ConsoleSettings settings) {
    ObjectNode out = Json.object();
    if (settings.oidc().isEmpty()) {
      out.put("enabled", false);
      return out;
    }
    out.put("enabled", true);
    try {
      Discovered d = discover(settings.oidc().get());
      out.put("issuer", d.settings().issuer());
      out.put("authorization_endpoint", d.authorization().toString());
      out.put("client_id", d.settings().clientId());
      out.put("scope", String.join(" ", d.settings().scopes()));
    } catch (IOException e) {
      out.put("enabled", false);
      out.put("error", "sign-in through " + settings.oidc().get().issuer() + " is unavailable: " + e.getMessage());
    }
    return out;
  }

  /** The issuer's authorization and token endpoints from its metadata, fetched once; the issuer is checked. */
  private Discovered discover(ConsoleSettings.Oidc oidc) throws IOException {
    Discovered d = discovered;
    if (d != null && d.settings().equals(oidc)) {
      return d;
    }
    boolean allowHttp = issuerConfig(oidc).allowHttp();
    URI metadata = FetchableUrls.check("console.oidc.issuer", oidc.issuer().replaceAll("/+$", "") + "/.well-known/openid-configuration",
        allowHttp);
    JsonNode doc = oauth.getJson(metadata, "its metadata");
    if (doc == null || !oidc.issuer().equals(doc.path("issuer").asText())) {
      throw new IOException("its metadata names another issuer: '" + (doc == null ? "" : doc.path("issuer").asText()) + "'");
    }
    try {
      d = new Discovered(oidc, FetchableUrls.check("authorization_endpoint", doc.path("authorization_endpoint").asText(), allowHttp),
          FetchableUrls.check("token_endpoint", doc.path("token_endpoint").asText(), allowHttp));
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage());
    }
    discovered = d;
    return d;
  }

  private IssuerConfig issuerConfig(ConsoleSettings.Oidc oidc) {
    return config.get().identity().issuers().stream().filter(i -> i.issuer().equals(oidc.issuer())).findFirst().orElseThrow();
  }

  /**
   * {@code POST /console/oidc/token} with {@code {"code", "code_verifier", "redirect_uri"}}: the code
   * redeemed at the issuer; the answer is {@code {"access_token", "expires_in"}} when the gateway itself
   * accepts the token (issuer, audience, signature), else a 401 saying why. No refresh token is handed
   * out: the operator signs in again when it expires.
   */
  private void redeem(Request request, Response response, Callback callback, ConsoleSettings settings) {
    if (!HttpMethod.POST.is(request.getMethod())) {
      AdminHandler.error(response, callback, 405, "method_not_allowed", "POST only");
      return;
    }
    if (settings.oidc().isEmpty()) {
      AdminHandler.error(response, callback, 404, "not_found", "Sign-in through an issuer is not configured (console.oidc)");
      return;
    }
    ConsoleSettings.Oidc oidc = settings.oidc().get();
    JsonNode body;
    try {
      body = Json.MAPPER.readTree(Bodies.read(request, 64 * 1024).join());
    } catch (IOException | CompletionException e) {
      AdminHandler.error(response, callback, 400, "invalid_request", "expected a JSON object with code, code_verifier and redirect_uri");
      return;
    }
    String code = body == null ? "" : body.path("code").asText("");
    String verifier = body == null ? "" : body.path("code_verifier").asText("");
    String redirect = body == null ? "" : body.path("redirect_uri").asText("");
    if (code.isEmpty() || !verifier.matches("[A-Za-z0-9._~-]{43,128}") || !redirect.matches("https?://[^\\s]+/console/")) {
      AdminHandler.error(response, callback, 400, "invalid_request", "expected code, code_verifier (43-128 characters of "
          + "[A-Za-z0-9._~-]) and redirect_uri (this gateway's /console/ address)");
      return;
    }
    Discovered d;
    try {
      d = discover(oidc);
    } catch (IOException e) {
      AdminHandler.error(response, callback, 502, "issuer_unavailable", "Sign-in through " + oidc.issuer() + " is unavailable: " + e.getMessage());
      return;
    }
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", "authorization_code");
    form.put("code", code);
    form.put("redirect_uri", redirect);
    form.put("code_verifier", verifier);
    OAuthClient.Answer answer;
    try {
      answer = oauth.postForm(d.token(), form, oidc.clientId(), oidc.clientSecret());
    } catch (IOException e) {
      AdminHandler.error(response, callback, 502, "issuer_unavailable", "The issuer's token endpoint did not answer: " + e.getClass().getSimpleName());
      return;
    }
    if (!answer.ok()) {
      String why = answer.error() + " " + answer.body().path("error_description").asText("");
      log.warn("console sign-in: the issuer refused the code: HTTP {} {}", answer.status(), why.strip());
      AdminHandler.error(response, callback, 401, "sign_in_failed", "The issuer refused the sign-in: HTTP " + answer.status() + " " + why.strip());
      return;
    }
    String token = answer.body().path("access_token").asText();
    EdgeAuth edge = auth.get();
    switch (edge.check(Optional.of("Bearer " + token), Optional.empty())) {
      case AuthResult.Failed f -> AdminHandler.error(response, callback, 401, "sign_in_failed",
          "The issuer's token is not accepted by this gateway: " + f.failure().description());
      case AuthResult.Authenticated a -> {
        ObjectNode out = Json.object();
        out.put("access_token", token);
        out.put("expires_in", answer.body().path("expires_in").asLong(0));
        out.put("principal", a.principal().toString());
        McpHttpHandler.writeJson(response, callback, 200, out, null);
      }
    }
  }

  private static Map<String, Asset> assets(String... names) {
    Map<String, Asset> out = new LinkedHashMap<>();
    for (String n : names) {
      try (InputStream in = ConsoleHandler.class.getResourceAsStream("/console/" + n)) {
        if (in == null) {
          throw new IllegalStateException("console file missing from the jar: " + n);
        }
        String type = n.endsWith(".html") ? "text/html; charset=utf-8" : n.endsWith(".js") ? "text/javascript; charset=utf-8"
            : "text/css; charset=utf-8";
        out.put(n, new Asset(in.readAllBytes(), type));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return Map.copyOf(out);
  }
}
