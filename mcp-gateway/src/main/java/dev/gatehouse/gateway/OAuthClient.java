package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The gateway's requests to an authorization server as a client, for the console's sign-in and for
 * {@code user_consent}: its metadata, and form posts to its token endpoint. A confidential client
 * authenticates with HTTP Basic ({@code client_secret_basic}); a public one names itself in the form.
 * Never logs a form (it holds codes, verifiers, refresh tokens).
 */
final class OAuthClient {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
      .followRedirects(HttpClient.Redirect.NEVER).build();

  /** A token endpoint's answer: its status and JSON body (an empty object when it sent none). */
  record Answer(int status, JsonNode body) {
    boolean ok() {
      return status == 200 && !body.path("access_token").asText("").isEmpty();
    }

    /** The OAuth error code, else the status, for messages. */
    String error() {
      return body.path("error").asText("HTTP " + status);
    }
  }

  /** The JSON document at {@code uri} (metadata); {@code what} names it in errors. */
  JsonNode getJson(URI uri, String what) throws IOException {
    try {
      HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(uri).timeout(TIMEOUT).header("Accept", "application/json").GET().build(),
          HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() != 200) {
        throw new IOException(what + " (" + uri + ") answered HTTP " + r.statusCode());
      }
      return Json.MAPPER.readTree(r.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while reading " + what);
    }
  }

  /** Posts {@code form} to {@code endpoint} as client {@code clientId} (with {@code secret}, if confidential). */
  Answer postForm(URI endpoint, Map<String, String> form, String clientId, Optional<String> secret) throws IOException {
    Map<String, String> f = new LinkedHashMap<>(form);
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint).timeout(TIMEOUT)
        .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json");
    if (secret.isPresent() && !secret.get().isEmpty()) {
      b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((enc(clientId) + ":" + enc(secret.get()))
          .getBytes(StandardCharsets.UTF_8)));
    } else {
      f.put("client_id", clientId);
    }
    try {
      HttpResponse<byte[]> r = http.send(b.POST(HttpRequest.BodyPublishers.ofString(form(f))).build(), HttpResponse.BodyHandlers.ofByteArray());
      JsonNode body;
      try {
        body = Json.MAPPER.readTree(r.body());
      } catch (IOException notJson) {
        body = null;
      }
      return new Answer(r.statusCode(), body == null ? Json.object() : body);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while calling the token endpoint");
    }
  }

  /** {@code application/x-www-form-urlencoded}. */
  static String form(Map<String, String> f) {
    StringBuilder b = new StringBuilder();
    f.forEach((k, v) -> b.append(b.isEmpty() ? "" : "&").append(enc(k)).append('=').append(enc(v)));
    return b.toString();
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
