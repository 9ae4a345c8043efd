package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.AuthResult;
import dev.gatehouse.identity.Authenticator;
import dev.gatehouse.identity.IdentityConfig;
import dev.gatehouse.identity.IssuerConfig;
import dev.gatehouse.identity.Principal;
import java.util.List;
import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authentication at the HTTP edge: credentials to a {@link Principal}, or the right refusal: 401
 * with {@code WWW-Authenticate: Bearer … resource_metadata=…} (RFC 6750, RFC 9728), 403
 * {@code insufficient_scope}, 503 when the identity provider cannot be reached. Also serves the
 * protected-resource metadata. The caller's credentials stop here: nothing forwards them upstream.
 */
final class EdgeAuth implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EdgeAuth.class);
  static final String METADATA_PATH = "/.well-known/oauth-protected-resource";

  /** How a refusal's body is written: JSON-RPC on /mcp, OpenAI error JSON on /v1. */
  interface ErrorWriter {
    void write(Response response, Callback callback, int status, String type, String message);
  }

  private final IdentityConfig config;
  private final Authenticator authenticator;
  private final AccessSettings access;
  private final Optional<String> publicBaseUrl;

  private final GatewayMetrics metrics;
  private final java.util.function.Supplier<AuditRecorder> audit;

  EdgeAuth(IdentityConfig config, AccessSettings access, Optional<String> publicBaseUrl, GatewayMetrics metrics,
      java.util.function.Supplier<AuditRecorder> audit) {
    this.metrics = metrics;
    this.audit = audit;
    this.config = config;
    this.authenticator = Authenticator.create(config);
    this.access = access;
    this.publicBaseUrl = publicBaseUrl;
  }

  IdentityConfig config() {
    return config;
  }

  AccessSettings access() {
    return access;
  }

  boolean enabled() {
    return authenticator.enabled();
  }

  /** Authenticates without answering: for explain, which takes a token in its body. */
  AuthResult check(Optional<String> authorization, Optional<String> apiKey) {
    return authenticator.authenticate(authorization, apiKey);
  }

  /**
   * The request's one credential checked. A request with more than one (two Authorization headers, two
   * X-API-Key headers, or one of each) is refused: which one counted would otherwise depend on the
   * order of headers, and two credentials may name two callers.
   */
  AuthResult authenticate(Request request) {
    List<String> authorization = request.getHeaders().getValuesList(HttpHeader.AUTHORIZATION);
    List<String> apiKeys = request.getHeaders().getValuesList("X-API-Key");
    if (authorization.size() > 1 || apiKeys.size() > 1) {
      return AuthResult.failed(AuthResult.Reason.MALFORMED, "more than one " + (authorization.size() > 1 ? "Authorization" : "X-API-Key")
          + " header (expected: exactly one credential)");
    }
    return authenticator.authenticate(authorization.stream().findFirst(), apiKeys.stream().findFirst());
  }

  /**
   * The caller, or null after answering the request with the refusal. Answered at once unless a token
   * needs its signature checked (not seen recently), which happens off this thread. A refusal is
   * answered once its chain step is recorded, so a flood of bad credentials is slowed down by the
   * audit store instead of piling up in front of it.
   */
  java.util.concurrent.CompletableFuture<Principal> authenticate(Request request, Response response, Callback callback, String path,
      ErrorWriter errors) {
    List<String> authorization = request.getHeaders().getValuesList(HttpHeader.AUTHORIZATION);
    List<String> apiKeys = request.getHeaders().getValuesList("X-API-Key");
    java.util.concurrent.CompletableFuture<AuthResult> checked = authorization.size() > 1 || apiKeys.size() > 1
        ? java.util.concurrent.CompletableFuture.completedFuture(AuthResult.failed(AuthResult.Reason.MALFORMED, "more than one "
            + (authorization.size() > 1 ? "Authorization" : "X-API-Key") + " header (expected: exactly one credential)"))
        : authenticator.authenticateAsync(authorization.stream().findFirst(), apiKeys.stream().findFirst());
    return checked.thenCompose(result -> answer(result, request, response, callback, path, errors));
  }

  private java.util.concurrent.CompletableFuture<Principal> answer(AuthResult result, Request request, Response response, Callback callback,
      String path, ErrorWriter errors) {
    String metadata = baseUrl(request) + METADATA_PATH + (path.startsWith("/mcp") || path.startsWith("/sse") || path.equals("/message") ? "/mcp" : "");
    switch (result) {
      case AuthResult.Authenticated a -> {
        List<String> missing = access.missingScopes(a.principal());
        if (!missing.isEmpty() && a.principal().kind() != Principal.Kind.ANONYMOUS) {
          response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer error=\"insufficient_scope\", scope=\""
              + String.join(" ", access.requiredScopes()) + "\", resource_metadata=\"" + metadata + "\"");
          errors.write(response, callback, 403, "insufficient_scope",
              "Insufficient scope: the token lacks " + String.join(", ", missing));
          return java.util.concurrent.CompletableFuture.completedFuture(null);
        }
        return java.util.concurrent.CompletableFuture.completedFuture(a.principal());
      }
      case AuthResult.Failed f -> {
        var failure = f.failure();
        metrics.authFailure(failure.reason());
        log.info("authentication failed on {}: {} ({})", path, failure.reason(), failure.description());
        if (failure.status() == 503) {
          response.getHeaders().put(HttpHeader.RETRY_AFTER, "5");
        } else {
          String challenge = failure.reason() == AuthResult.Reason.MISSING
              ? "Bearer resource_metadata=\"" + metadata + "\""
              : "Bearer error=\"invalid_token\", error_description=\"" + quote(failure.description())
                  + "\", resource_metadata=\"" + metadata + "\"";
          response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, challenge);
        }
        return audit.get().authFailure(path, Chains.fromHeaders(request.getHeaders().get(Chains.HEADER),
            request.getHeaders().get("traceparent")).orElseGet(Chains::generate), failure).handle((v, e) -> {
              if (failure.status() == 503) {
                errors.write(response, callback, 503, "identity_provider_unavailable", failure.description());
              } else {
                errors.write(response, callback, 401, "invalid_token", "Unauthorized: " + failure.description());
              }
              return null;
            });
      }
    }
  }

  /** RFC 9728 protected-resource metadata for {@code resourcePath} ("" for the gateway as a whole). */
  ObjectNode metadata(Request request, String resourcePath) {
    ObjectNode m = Json.object();
    m.put("resource", baseUrl(request) + resourcePath);
    ArrayNode servers = m.putArray("authorization_servers");
    for (IssuerConfig i : config.issuers()) {
      servers.add(i.issuer());
    }
    ArrayNode scopes = m.putArray("scopes_supported");
    access.requiredScopes().forEach(scopes::add);
    m.putArray("bearer_methods_supported").add("header");
    m.put("resource_name", "Gatehouse MCP gateway");
    return m;
  }

  String baseUrl(Request request) {
    if (publicBaseUrl.isPresent()) {
      String b = publicBaseUrl.get();
      return b.endsWith("/") ? b.substring(0, b.length() - 1) : b;
    }
    String host = request.getHeaders().get(HttpHeader.HOST);
    return request.getHttpURI().getScheme() + "://" + (host == null ? "localhost" : host);
  }

  private static String quote(String s) {
    return s.replace("\\", "\\\\").replace("\"", "'");
  }

  @Override
  public void close() {
    try {
      authenticator.close();
    } catch (Exception e) {
      log.debug("authenticator close: {}", e.toString());
    }
  }
}
