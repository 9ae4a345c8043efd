package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * The HTTP side of {@link UserConsent}: the gateway's Client ID Metadata Document, the consent link a
 * user opens and the authorization server's redirect back (pages for a browser, no script), and a
 * user's own consent: {@code POST /v1/upstreams/<name>/consent} answers the link (or that it is in
 * place), {@code DELETE} revokes it.
 */
final class ConsentHandler {
  private final UserConsent consent;
  private final Supplier<EdgeAuth> auth;

  ConsentHandler(UserConsent consent, Supplier<EdgeAuth> auth) {
    this.consent = consent;
    this.auth = auth;
  }

  static boolean owns(String path) {
    return path.equals(UserConsent.METADATA_PATH) || path.equals(UserConsent.CONSENT_PATH) || path.equals(UserConsent.CALLBACK_PATH)
        || (path.startsWith(UserConsent.USER_PREFIX) && path.endsWith("/consent"));
  }

  void handle(Request request, Response response, Callback callback, String path) {
    Fields q = Request.extractQueryParameters(request);
    switch (path) {
      case UserConsent.METADATA_PATH -> McpHttpHandler.writeJson(response, callback, 200, consent.clientMetadata(), null);
      case UserConsent.CONSENT_PATH -> {
        try {
          String ticket = q.getValue("ticket");
          if (ticket == null) {
            throw new IllegalArgumentException("this link lacks its ticket; call the tool again for a new one");
          }
          response.setStatus(302);
          response.getHeaders().put(HttpHeader.LOCATION, consent.start(ticket).toString());
          response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
          response.getHeaders().put("Referrer-Policy", "no-referrer"); // the ticket stays out of the authorization server's logs
          callback.succeeded();
        } catch (IllegalArgumentException e) {
          page(response, callback, 400, "This consent link cannot be used", e.getMessage());
        } catch (IllegalStateException | dev.gatehouse.registry.McpException e) {
          page(response, callback, 502, "The upstream's authorization server cannot be reached", e.getMessage());
        }
      }
      case UserConsent.CALLBACK_PATH -> {
        try {
          String state = q.getValue("state");
          if (state == null) {
            throw new IllegalArgumentException("the answer carries no state");
          }
          String done = consent.finish(q.getValue("code"), state, q.getValue("iss"),
              q.getValue("error") == null ? null : q.getValue("error") + (q.getValue("error_description") == null ? "" : ": " + q.getValue("error_description")));
          page(response, callback, 200, "Connected", done);
        } catch (IllegalArgumentException e) {
          page(response, callback, 400, "The consent was not completed", e.getMessage());
        } catch (IllegalStateException | dev.gatehouse.registry.McpException e) {
          page(response, callback, 502, "The upstream's authorization server cannot be reached", e.getMessage());
        }
      }
      default -> own(request, response, callback, path);
    }
  }

  /** {@code POST|DELETE /v1/upstreams/<name>/consent}, for the caller's own consent. */
  private void own(Request request, Response response, Callback callback, String path) {
    String upstream = path.substring(UserConsent.USER_PREFIX.length(), path.length() - "/consent".length());
    Principal caller = auth.get().authenticate(request, response, callback, path, OpenAiErrors::auth).join(); // on a virtual thread
    if (caller == null) {
      return;
    }
    if (!consent.isConsentUpstream(upstream)) {
      OpenAiErrors.write(response, callback, 404, "not_found_error", "not_found", "No upstream '" + upstream + "' acts with users' consent");
      return;
    }
    String who = UserConsent.key(caller);
    ObjectNode out = Json.object();
    out.put("upstream", upstream);
    if (HttpMethod.DELETE.is(request.getMethod())) {
      out.put("revoked", consent.revoke(upstream, who, "the user"));
      McpHttpHandler.writeJson(response, callback, 200, out, null);
    } else if (HttpMethod.POST.is(request.getMethod())) {
      try {
        consent.token(upstream, who).join();
        out.put("status", "connected");
      } catch (java.util.concurrent.CompletionException e) {
        if (e.getCause() instanceof dev.gatehouse.registry.McpException m && m.code() == dev.gatehouse.registry.McpException.URL_ELICITATION_REQUIRED) {
          out.put("status", "consent_required");
          out.put("consent_url", m.data().orElseThrow().path("consent_url").asText());
          out.put("message", m.getMessage());
        } else {
          OpenAiErrors.write(response, callback, 502, "upstream_error", "upstream_unavailable", e.getCause().getMessage());
          return;
        }
      }
      McpHttpHandler.writeJson(response, callback, 200, out, null);
    } else {
      response.getHeaders().put(HttpHeader.ALLOW, "POST, DELETE");
      OpenAiErrors.write(response, callback, 405, "invalid_request_error", "method_not_allowed", "Use POST (connect) or DELETE (revoke)");
    }
  }

  /** A page for the user's browser: text only, nothing that runs. */
  private static void page(Response response, Callback callback, int status, String title, String text) {
    String html = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Gatehouse: " + escape(title) + "</title></head><body>"
        + "<h1>" + escape(title) + "</h1><p>" + escape(text) + "</p></body></html>";
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/html; charset=utf-8");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.getHeaders().put("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    response.getHeaders().put("Referrer-Policy", "no-referrer");
    response.write(true, ByteBuffer.wrap(html.getBytes(StandardCharsets.UTF_8)), callback);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
